// stco/kernel/cuda/dz_memo.cuh — dZ = dY ⊙ chain'(z) kept across the wrt() calls of one
// gradient object.
//
// The Hopper fast paths (sp24 sm_90a, tiletc warp-specialized) read dZ from memory through TMA,
// so they form it in one elementwise pass before their GEMM (fusing it would re-read the fp32
// stash once per output row-block). wrt(W) and wrt(X) of one gradient need the same dZ:
// stco::cuda::gradient owns a dz_memo and hands it to each of its calls, the first call that
// needs dZ forms it and the later ones reuse it. Calls made outside a gradient object carry none
// and form dZ per call.
#pragma once

#include <cstddef>
#include <utility>

#include "stco/core/cuda/device_buffer.cuh"
#include "stco/core/cuda/stream.cuh"
#include "stco/core/index.hpp"

namespace stco::kernel::cuda {

class dz_memo {
 public:
  /// dZ as `count` elements of T on `s`; `form(T* out)` queues the pass that writes it, and runs
  /// only when the memo does not already hold dZ of these operands (dY, z, count, element size).
  template <class T, class Form>
  const T* get(const void* dy, const float* z, index_t count, stco::cuda::stream s, Form&& form) {
    if (dy != dy_ || z != z_ || count != count_ || sizeof(T) != size_) {
      const index_t bytes = count * static_cast<index_t>(sizeof(T));
      if (buf_.size() < bytes)
        buf_ = stco::cuda::device_buffer<unsigned char>(bytes, s, stco::cuda::uninitialized);
      dy_ = nullptr;  // invalid until the pass is queued
      std::forward<Form>(form)(reinterpret_cast<T*>(buf_.data()));
      dy_ = dy, z_ = z, count_ = count, size_ = sizeof(T);
    }
    return reinterpret_cast<const T*>(buf_.data());
  }

 private:
  stco::cuda::device_buffer<unsigned char> buf_;
  const void* dy_ = nullptr;
  const float* z_ = nullptr;
  index_t count_ = 0;
  std::size_t size_ = 0;
};

}  // namespace stco::kernel::cuda
