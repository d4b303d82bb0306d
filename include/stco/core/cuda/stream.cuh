// stco/core/cuda/stream.cuh — the stream every stco CUDA call takes explicitly.
#pragma once

#include <cuda_runtime.h>

#include "stco/core/cuda/check.cuh"
#include "stco/core/cuda/options.cuh"

namespace stco::cuda {

/// A non-owning handle to a CUDA stream (the default stream when built from nullptr), and the
/// options (options.cuh) the calls made on it run with.
class stream {
 public:
  constexpr explicit stream(cudaStream_t s = nullptr) noexcept : s_(s) {}
  stream(cudaStream_t s, const cuda::options& o) noexcept : s_(s), o_(o) {}
  constexpr cudaStream_t get() const noexcept { return s_; }
  /// The options of the calls made through this handle.
  const cuda::options& options() const noexcept { return o_; }
  /// The same stream with other options.
  stream with(const cuda::options& o) const noexcept { return stream(s_, o); }
  /// Blocks until all work queued on the stream is done; throws cuda_error on a failure.
  void synchronize() const { STCO_CUDA_CHECK(cudaStreamSynchronize(s_)); }

 private:
  cudaStream_t s_;
  cuda::options o_{};
};

/// An owning, non-blocking CUDA stream, destroyed with the object.
class owned_stream {
 public:
  owned_stream() { STCO_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }
  owned_stream(const owned_stream&) = delete;
  owned_stream& operator=(const owned_stream&) = delete;
  ~owned_stream() {
    if (s_) cudaStreamDestroy(s_);
  }
  stream get() const noexcept { return stream(s_); }
  operator stream() const noexcept { return get(); }
  void synchronize() const { get().synchronize(); }

 private:
  cudaStream_t s_ = nullptr;
};

}  // namespace stco::cuda
