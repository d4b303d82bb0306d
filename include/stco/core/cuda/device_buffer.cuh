// stco/core/cuda/device_buffer.cuh — an owning array in device memory, allocated and freed in
// stream order, with explicit copies to and from the host.
#pragma once

#include <cuda_runtime.h>

#include <type_traits>
#include <utility>

#include "stco/core/cuda/check.cuh"
#include "stco/core/cuda/stream.cuh"
#include "stco/core/error.hpp"
#include "stco/core/host_buffer.hpp"
#include "stco/core/index.hpp"

namespace stco::cuda {

/// Tag: a device_buffer whose contents start undefined (scratch that a kernel fills whole).
struct uninitialized_t {
  explicit uninitialized_t() = default;
};
inline constexpr uninitialized_t uninitialized{};

/// `n` elements of T on the device, zero-initialised (unless built with `uninitialized`), owned;
/// move-only. The memory is allocated on the given stream (cudaMallocAsync) and freed on it when
/// the buffer dies.
template <class T>
class device_buffer {
  static_assert(std::is_trivially_copyable_v<T>,
                "stco::cuda::device_buffer holds trivially copyable types");

 public:
  device_buffer() = default;
  device_buffer(index_t n, stream s) : device_buffer(n, s, uninitialized) {
    if (n > 0) STCO_CUDA_CHECK(cudaMemsetAsync(p_, 0, bytes(), s.get()));
  }
  /// As above without the zero fill.
  device_buffer(index_t n, stream s, uninitialized_t) : n_(n), s_(s) {
    if (n < 0)
      throw argument_error(detail::message("stco::cuda::device_buffer: negative size ", n));
    if (n > 0) STCO_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&p_), bytes(), s.get()));
  }
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  device_buffer(device_buffer&& o) noexcept
      : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)), s_(o.s_) {}
  device_buffer& operator=(device_buffer&& o) noexcept {
    if (this != &o) {
      release();
      p_ = std::exchange(o.p_, nullptr);
      n_ = std::exchange(o.n_, 0);
      s_ = o.s_;
    }
    return *this;
  }
  ~device_buffer() { release(); }

  /// A device copy of `h`, queued on `s`.
  static device_buffer from_host(const host_buffer<T>& h, stream s) {
    device_buffer d(h.size(), s);
    d.copy_from_host(h.data(), h.size(), s);
    return d;
  }

  T* data() noexcept { return p_; }
  const T* data() const noexcept { return p_; }
  index_t size() const noexcept { return n_; }
  std::size_t bytes() const noexcept { return static_cast<std::size_t>(n_) * sizeof(T); }
  stream owner_stream() const noexcept { return s_; }

  /// Queues a copy of n host elements into the buffer; n must equal size(). With pageable host
  /// memory the call returns once `src` may be reused.
  void copy_from_host(const T* src, index_t n, stream s) {
    check_count(n, "copy_from_host");
    if (n > 0) STCO_CUDA_CHECK(cudaMemcpyAsync(p_, src, bytes(), cudaMemcpyHostToDevice, s.get()));
  }
  /// Queues a copy of the buffer into n host elements; synchronize `s` before reading `dst`.
  void copy_to_host(T* dst, index_t n, stream s) const {
    check_count(n, "copy_to_host");
    if (n > 0) STCO_CUDA_CHECK(cudaMemcpyAsync(dst, p_, bytes(), cudaMemcpyDeviceToHost, s.get()));
  }
  /// Copies the buffer to a new host buffer and waits for it.
  host_buffer<T> to_host(stream s) const {
    host_buffer<T> h(n_);
    copy_to_host(h.data(), n_, s);
    s.synchronize();
    return h;
  }

 private:
  void check_count(index_t n, const char* op) const {
    if (n != n_)
      throw shape_error(detail::message("stco::cuda::device_buffer::", op, ": ", n,
                                        " elements for a buffer of ", n_));
  }
  void release() noexcept {
    if (p_) cudaFreeAsync(p_, s_.get());  // a failure here cannot be reported from a destructor
    p_ = nullptr;
    n_ = 0;
  }

  T* p_ = nullptr;
  index_t n_ = 0;
  stream s_{};
};

}  // namespace stco::cuda
