// stco/kernel/cuda/sp24/embed_nm.cuh — N:M masks with at most two kept positions in every
// aligned quad of K (N ≤ 2 with M % 4 == 0, and 1:2) written as 2:4 masks, so they run on the
// sparse tensor cores: a structured decomposition of the mask, not a new kernel.
//
// Each quad keeps the positions the N:M mask keeps there and is padded to two with stored zeros
// (1:4 keeps one real value per quad, so half of its 2:4 MMA work multiplies zeros: the sparse
// tensor cores still do it at twice the dense rate). The 2:4 entity is derived once per N:M entity
// on the host; the values move per call (they change every optimizer step):
//   gather   W's N:M values → the 2:4 values, zeros in the padding slots (before forward / dX);
//   scatter  dW's 2:4 values → dW's N:M values (after dW), every N:M slot written once (0 for a
//            slot whose column is past K).
// Both find the matching slot from the two packed offset arrays; no per-slot map is stored.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "stco/core/cuda/check.cuh"
#include "stco/core/index.hpp"
#include "stco/kernel/cuda/sp24/embed_nm.hpp"
#include "stco/layout/cuda/nm.cuh"

namespace stco::cuda::sp24 {

namespace embed_detail {
inline constexpr int threads = 256;

/// w24[i] for every 2:4 slot i: the N:M value at the same column, or 0 (padding).
template <int N, int M>
__global__ void __launch_bounds__(threads)
    gather_kernel(const std::uint16_t* w, const std::uint32_t* nm_off, const std::uint32_t* off24,
                  std::uint16_t* w24, index_t G, index_t G4, index_t count) {
  const index_t i = static_cast<index_t>(blockIdx.x) * threads + threadIdx.x;
  if (i >= count) return;
  const index_t r = i / (G4 * 2), q = (i / 2) % G4;
  const index_t c = q * 4 + packed_field<2>(off24, i), g = c / M;
  std::uint16_t v = 0;
  if (g < G)
#pragma unroll
    for (int j = 0; j < N; ++j) {
      const index_t p = (r * G + g) * N + j;
      if (g * M + packed_field<nm_view<N, M>::bits>(nm_off, p) == c) v = w[p];
    }
  w24[i] = v;
}

/// dw[p] for every N:M slot p: the 2:4 gradient at the same column (0 past K).
template <int N, int M>
__global__ void __launch_bounds__(threads)
    scatter_kernel(const std::uint16_t* dw24, const std::uint32_t* nm_off,
                   const std::uint32_t* off24, std::uint16_t* dw, index_t K, index_t G, index_t G4,
                   index_t count) {
  const index_t p = static_cast<index_t>(blockIdx.x) * threads + threadIdx.x;
  if (p >= count) return;
  const index_t r = p / (G * N), g = (p / N) % G;
  const index_t c = g * M + packed_field<nm_view<N, M>::bits>(nm_off, p);
  std::uint16_t v = 0;
  if (c < K) {
    const index_t i = (r * G4 + c / 4) * 2;
    v = packed_field<2>(off24, i) == static_cast<unsigned>(c % 4) ? dw24[i] : dw24[i + 1];
  }
  dw[p] = v;
}
}  // namespace embed_detail

/// The 2:4 values ([R, 2·⌈K/4⌉]) of an N:M weight from its values ([R, ⌈K/M⌉·N]); offsets are the
/// two entities' packed words on the device. 16-bit value types.
template <int N, int M, class T>
void gather_embedded(const T* w, const std::uint32_t* nm_offsets, const std::uint32_t* offsets24,
                     T* w24, index_t R, index_t K, cudaStream_t s) {
  static_assert(sizeof(T) == 2, "gather_embedded: 16-bit values");
  namespace ed = embed_detail;
  const index_t G = ceil_div(K, index_t{M}), G4 = ceil_div(K, index_t{4}), count = R * G4 * 2;
  if (count == 0) return;
  ed::gather_kernel<N, M>
      <<<static_cast<unsigned>(ceil_div(count, index_t{ed::threads})), ed::threads, 0, s>>>(
          reinterpret_cast<const std::uint16_t*>(w), nm_offsets, offsets24,
          reinterpret_cast<std::uint16_t*>(w24), G, G4, count);
  STCO_CUDA_CHECK(cudaGetLastError());
}

/// dW's N:M values from its 2:4 values (the inverse of gather_embedded on the kept slots).
template <int N, int M, class T>
void scatter_embedded(const T* dw24, const std::uint32_t* nm_offsets,
                      const std::uint32_t* offsets24, T* dw, index_t R, index_t K, cudaStream_t s) {
  static_assert(sizeof(T) == 2, "scatter_embedded: 16-bit values");
  namespace ed = embed_detail;
  const index_t G = ceil_div(K, index_t{M}), G4 = ceil_div(K, index_t{4}), count = R * G * N;
  if (count == 0) return;
  ed::scatter_kernel<N, M>
      <<<static_cast<unsigned>(ceil_div(count, index_t{ed::threads})), ed::threads, 0, s>>>(
          reinterpret_cast<const std::uint16_t*>(dw24), nm_offsets, offsets24,
          reinterpret_cast<std::uint16_t*>(dw), K, G, G4, count);
  STCO_CUDA_CHECK(cudaGetLastError());
}

}  // namespace stco::cuda::sp24
