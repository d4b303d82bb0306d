// stco/kernel/cuda/dz_memo.cuh — dZ = dY ⊙ chain'(z) as its own pass, kept across the wrt()
// calls of one gradient object.
//
// The Hopper fast paths (sparse_tc sm_90a, gather_tc warp-specialized) read dZ from memory through
// TMA, so they form it in one elementwise pass before their GEMM (fusing it would re-read the fp32
// stash once per output row-block). wrt(W) and wrt(X) of one gradient need the same dZ:
// stco::cuda::gradient owns a dz_memo and hands it to each of its calls, the first call that
// needs dZ forms it (form_dz) and the later ones reuse it. Calls made outside a gradient object
// carry none and form dZ per call.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <utility>

#include "stco/core/cuda/check.cuh"
#include "stco/core/cuda/device_buffer.cuh"
#include "stco/core/cuda/stream.cuh"
#include "stco/core/index.hpp"
#include "stco/kernel/cuda/values.cuh"

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

/// dZ[R, N] = chain.core_gradient(dY, row, pos, z[pos]) in 16-bit T (z read only with an
/// activation), Vec elements a thread: 8 (16-byte loads and stores) where N % 8 == 0 and dY, z and
/// dZ are 16-byte aligned, else 1.
template <int Vec, class T, class Chain>
__global__ void dz_kernel(const T* dy, const float* z, T* dz, index_t R, index_t N, Chain chain) {
  static_assert(sizeof(T) == 2, "dz_kernel: 16-bit values");
  const index_t i = (blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x) * Vec;
  if (i >= R * N) return;
  alignas(16) T in[Vec], out[Vec];
  alignas(16) float a[Vec] = {};
  if constexpr (Vec == 8) {
    *reinterpret_cast<uint4*>(in) = *reinterpret_cast<const uint4*>(dy + i);
    if constexpr (Chain::has_activation) {
      *reinterpret_cast<float4*>(a) = *reinterpret_cast<const float4*>(z + i);
      *reinterpret_cast<float4*>(a + 4) = *reinterpret_cast<const float4*>(z + i + 4);
    }
  } else {
    in[0] = dy[i];
    if constexpr (Chain::has_activation) a[0] = z[i];
  }
  const index_t row = i / N;  // N % Vec == 0: the Vec elements share the row
#pragma unroll
  for (int e = 0; e < Vec; ++e)
    out[e] = from_float<T>(chain.core_gradient(to_float(in[e]), row, i + e, a[e]));
  if constexpr (Vec == 8)
    *reinterpret_cast<uint4*>(dz + i) = *reinterpret_cast<const uint4*>(out);
  else
    dz[i] = out[0];
}

/// Queues dZ of a gradient call ([R, N], T) and returns where it is: in the gradient's memo when
/// `memo` is given (formed there once per gradient object), else in `fallback()`'s memory.
template <class T, class Chain, class Fallback>
const T* form_dz(const T* dy, const float* z, index_t R, index_t N, const Chain& chain,
                 stco::cuda::stream s, dz_memo* memo, Fallback&& fallback) {
  auto pass = [&](T* out) {
    if (R * N == 0) return;
    const auto a16 = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; };
    constexpr int threads = 256;
    if (N % 8 == 0 && a16(dy) && a16(out) && (!Chain::has_activation || a16(z)))
      dz_kernel<8>
          <<<static_cast<unsigned>(ceil_div(R * N / 8, index_t{threads})), threads, 0, s.get()>>>(
              dy, z, out, R, N, chain);
    else
      dz_kernel<1>
          <<<static_cast<unsigned>(ceil_div(R * N, index_t{threads})), threads, 0, s.get()>>>(
              dy, z, out, R, N, chain);
    STCO_CUDA_CHECK(cudaGetLastError());
  };
  if (memo) return memo->template get<T>(dy, z, R * N, s, pass);
  T* out = std::forward<Fallback>(fallback)();
  pass(out);
  return out;
}

}  // namespace stco::kernel::cuda
