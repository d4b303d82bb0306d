// stco/kernel/cuda/sp24/embed_nm.cuh — every N:M mask on the 2:4 sparse tensor cores, as one or
// two 2:4 terms (sp24/embed_nm.hpp derives their entity once per N:M entity, on the host).
//
// One term (1:2, 1:4, 1:8, 2:8, …: at most two kept per quad): each quad keeps the N:M mask's
// positions, padded to two with stored zeros (1:4 keeps one real value per quad, so half of its
// 2:4 MMA work multiplies zeros; the sparse tensor cores still do it at twice the dense rate).
// Two terms (every other N:M mask): W = Wa + Wb side by side in one 2:4 weight over K' = 8·⌈K/4⌉,
// multiplied by the stacked activations [X; 0; X; 0] — the dense amount of MMA work at the sparse
// rate — with dX the sum of the two halves of K' and dW read from whichever term holds a position.
//
// The values move per call (they change every optimizer step):
//   gather   W's N:M values → the 2:4 values, zeros in the padding slots (before forward / dX);
//   scatter  dW's 2:4 values → dW's N:M values (after dW), every N:M slot written once (0 for a
//            slot whose column is past K).
// Both find the matching slot from the two packed offset arrays; no per-slot map is stored.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "stco/core/cuda/check.cuh"
#include "stco/core/index.hpp"
#include "stco/kernel/cuda/sp24/embed_nm.hpp"
#include "stco/kernel/cuda/values.cuh"
#include "stco/layout/cuda/nm.cuh"

namespace stco::cuda::sp24 {

namespace embed_detail {
inline constexpr int threads = 256;

/// w24[i] for every 2:4 slot i (Gs quads a row, term t in quads [t·G4, (t + 1)·G4)): the N:M
/// value at the same column, or 0 (padding: a column the N:M mask does not keep).
template <int N, int M>
__global__ void __launch_bounds__(threads)
    gather_kernel(const std::uint16_t* w, const std::uint32_t* nm_off, const std::uint32_t* off24,
                  std::uint16_t* w24, index_t G, index_t G4, index_t Gs, index_t count) {
  const index_t i = static_cast<index_t>(blockIdx.x) * threads + threadIdx.x;
  if (i >= count) return;
  const index_t r = i / (Gs * 2), q = ((i / 2) % Gs) % G4;
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

/// dw[p] for every N:M slot p: the 2:4 gradient at the same column, from the first term whose
/// quad holds it (0 past K).
template <int N, int M, int Terms>
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
    const unsigned o = static_cast<unsigned>(c % 4);
    bool found = false;
#pragma unroll
    for (int t = 0; t < Terms; ++t) {
      const index_t i = (r * Terms * G4 + t * G4 + c / 4) * 2;
      if (!found && packed_field<2>(off24, i) == o) v = dw24[i], found = true;
      if (!found && packed_field<2>(off24, i + 1) == o) v = dw24[i + 1], found = true;
    }
  }
  dw[p] = v;
}

/// xs = [X; 0; X; 0] ([2·Kp, N], Kp = 4·⌈K/4⌉): the two-term GEMM's activations, in 16-byte
/// vectors of 8 values (N % 8 == 0, 16-byte aligned) or single values.
template <int Vec>
__global__ void __launch_bounds__(threads)
    stack_kernel(const std::uint16_t* x, std::uint16_t* xs, index_t K, index_t Kp, index_t n_vec,
                 index_t count) {
  using V = std::conditional_t<Vec == 8, uint4, std::uint16_t>;
  const index_t i = static_cast<index_t>(blockIdx.x) * threads + threadIdx.x;
  if (i >= count) return;
  const index_t row = i / n_vec, col = i % n_vec, k = row % Kp;
  V v{};
  if (k < K) v = reinterpret_cast<const V*>(x)[k * n_vec + col];
  reinterpret_cast<V*>(xs)[i] = v;
}

/// dx = dxs[0, K) + dxs[Kp, Kp + K): the two terms' halves of the two-term dX, summed in float.
template <class T>
__global__ void __launch_bounds__(threads)
    sum_halves_kernel(const T* dxs, T* dx, index_t Kp, index_t N, index_t count) {
  const index_t i = static_cast<index_t>(blockIdx.x) * threads + threadIdx.x;
  if (i >= count) return;
  namespace kc = stco::kernel::cuda;
  dx[i] = kc::from_float<T>(kc::to_float(dxs[i]) + kc::to_float(dxs[Kp * N + i]));
}

inline unsigned blocks(index_t count) {
  return static_cast<unsigned>(ceil_div(count, index_t{threads}));
}
}  // namespace embed_detail

/// The 2:4 values of an N:M weight ([R, ⌈K/M⌉·N] values) over `terms` 2:4 terms
/// ([R, terms·2·⌈K/4⌉]); offsets are the two entities' packed words on the device. 16-bit values.
template <int N, int M, class T>
void gather_embedded(const T* w, const std::uint32_t* nm_offsets, const std::uint32_t* offsets24,
                     T* w24, index_t R, index_t K, int terms, cudaStream_t s) {
  static_assert(sizeof(T) == 2, "gather_embedded: 16-bit values");
  namespace ed = embed_detail;
  const index_t G = ceil_div(K, index_t{M}), G4 = ceil_div(K, index_t{4}), Gs = terms * G4;
  const index_t count = R * Gs * 2;
  if (count == 0) return;
  ed::gather_kernel<N, M><<<ed::blocks(count), ed::threads, 0, s>>>(
      reinterpret_cast<const std::uint16_t*>(w), nm_offsets, offsets24,
      reinterpret_cast<std::uint16_t*>(w24), G, G4, Gs, count);
  STCO_CUDA_CHECK(cudaGetLastError());
}

/// dW's N:M values from its 2:4 values over `terms` terms (the inverse of gather_embedded on the
/// kept slots).
template <int N, int M, class T>
void scatter_embedded(const T* dw24, const std::uint32_t* nm_offsets,
                      const std::uint32_t* offsets24, T* dw, index_t R, index_t K, int terms,
                      cudaStream_t s) {
  static_assert(sizeof(T) == 2, "scatter_embedded: 16-bit values");
  namespace ed = embed_detail;
  const index_t G = ceil_div(K, index_t{M}), G4 = ceil_div(K, index_t{4}), count = R * G * N;
  if (count == 0) return;
  const auto a = reinterpret_cast<const std::uint16_t*>(dw24);
  const auto b = reinterpret_cast<std::uint16_t*>(dw);
  if (terms == 1)
    ed::scatter_kernel<N, M, 1>
        <<<ed::blocks(count), ed::threads, 0, s>>>(a, nm_offsets, offsets24, b, K, G, G4, count);
  else
    ed::scatter_kernel<N, M, 2>
        <<<ed::blocks(count), ed::threads, 0, s>>>(a, nm_offsets, offsets24, b, K, G, G4, count);
  STCO_CUDA_CHECK(cudaGetLastError());
}

/// xs = [X; 0; X; 0] for the two-term GEMM: X [K, N] → xs [8·⌈K/4⌉, N].
template <class T>
void stack_activations(const T* x, T* xs, index_t K, index_t N, cudaStream_t s) {
  static_assert(sizeof(T) == 2, "stack_activations: 16-bit values");
  namespace ed = embed_detail;
  const index_t Kp = 4 * ceil_div(K, index_t{4});
  const bool vec = N % 8 == 0 && reinterpret_cast<std::uintptr_t>(x) % 16 == 0 &&
                   reinterpret_cast<std::uintptr_t>(xs) % 16 == 0;
  const index_t n_vec = vec ? N / 8 : N, count = 2 * Kp * n_vec;
  if (count == 0) return;
  const auto a = reinterpret_cast<const std::uint16_t*>(x);
  const auto b = reinterpret_cast<std::uint16_t*>(xs);
  if (vec)
    ed::stack_kernel<8><<<ed::blocks(count), ed::threads, 0, s>>>(a, b, K, Kp, n_vec, count);
  else
    ed::stack_kernel<1><<<ed::blocks(count), ed::threads, 0, s>>>(a, b, K, Kp, n_vec, count);
  STCO_CUDA_CHECK(cudaGetLastError());
}

/// dX [K, N] from the two-term dX [8·⌈K/4⌉, N]: the sum of its two halves.
template <class T>
void sum_halves(const T* dxs, T* dx, index_t K, index_t N, cudaStream_t s) {
  namespace ed = embed_detail;
  const index_t Kp = 4 * ceil_div(K, index_t{4}), count = K * N;
  if (count == 0) return;
  ed::sum_halves_kernel<T><<<ed::blocks(count), ed::threads, 0, s>>>(dxs, dx, Kp, N, count);
  STCO_CUDA_CHECK(cudaGetLastError());
}

}  // namespace stco::cuda::sp24
