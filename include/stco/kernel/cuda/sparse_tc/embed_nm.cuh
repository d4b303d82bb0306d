// stco/kernel/cuda/sparse_tc/embed_nm.cuh — every N:M mask on the 2:4 sparse tensor cores, as one
// or two 2:4 terms (sparse_tc/embed_nm.hpp derives their entity once per N:M entity, on the host).
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

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "stco/core/cuda/check.cuh"
#include "stco/core/index.hpp"
#include "stco/kernel/cuda/sparse_tc/embed_nm.hpp"
#include "stco/kernel/cuda/values.cuh"
#include "stco/layout/cuda/nm.cuh"

namespace stco::cuda::sparse_tc {

namespace embed_detail {
inline constexpr int threads = 256;
// Grids are (positions of a row / threads, rows): in-row indices are 32-bit (K < 2^31) and every
// division is by a compile-time constant; rows past the grid's 65535 loop.
inline constexpr index_t max_grid_rows = 65535;

/// w24 for every 2:4 slot j of each row (2·Gs a row; term t in quads [t·G4, (t + 1)·G4)): the N:M
/// value at the same column, or 0 (padding: a column the N:M mask does not keep). Vec slots a
/// thread: 8 (one 16-byte store, their 16 offset bits from one word) where a row is a multiple of
/// 8 slots and w24 is 16-byte aligned, else 1.
template <int N, int M, int Vec>
__global__ void __launch_bounds__(threads)
    gather_kernel(const std::uint16_t* w, const std::uint32_t* nm_off, const std::uint32_t* off24,
                  std::uint16_t* w24, int G, int G4, int Gs, index_t R) {
  const int j0 = (static_cast<int>(blockIdx.x) * threads + static_cast<int>(threadIdx.x)) * Vec;
  if (j0 >= 2 * Gs) return;
  for (index_t r = blockIdx.y; r < R; r += gridDim.y) {
    const index_t i0 = r * (2 * Gs) + j0;
    // The Vec slots' 2-bit offsets: i0 % Vec == 0, so they share one 32-bit word.
    const unsigned bits = off24[(i0 * 2) >> 5] >> static_cast<unsigned>((i0 * 2) & 31);
    std::uint16_t v[Vec];
#pragma unroll
    for (int e = 0; e < Vec; ++e) {
      const int qq = (j0 + e) / 2, q = qq < G4 ? qq : qq - G4;
      const int c = q * 4 + static_cast<int>((bits >> (2 * e)) & 3u), g = c / M;
      v[e] = 0;
      if (g < G)
#pragma unroll
        for (int s = 0; s < N; ++s) {
          const index_t p = (r * G + g) * N + s;
          if (g * M + static_cast<int>(packed_field<nm_view<N, M>::bits>(nm_off, p)) == c)
            v[e] = w[p];
        }
    }
    if constexpr (Vec == 8) {
      uint4 u;
      u.x = v[0] | (std::uint32_t{v[1]} << 16), u.y = v[2] | (std::uint32_t{v[3]} << 16);
      u.z = v[4] | (std::uint32_t{v[5]} << 16), u.w = v[6] | (std::uint32_t{v[7]} << 16);
      *reinterpret_cast<uint4*>(w24 + i0) = u;
    } else {
      w24[i0] = v[0];
    }
  }
}

/// dw for every N:M slot j of each row (G·N a row): the 2:4 gradient at the same column, from
/// the first term whose quad holds it (0 past K).
template <int N, int M, int Terms>
__global__ void __launch_bounds__(threads)
    scatter_kernel(const std::uint16_t* dw24, const std::uint32_t* nm_off,
                   const std::uint32_t* off24, std::uint16_t* dw, int K, int G, int G4, index_t R) {
  const int j = static_cast<int>(blockIdx.x) * threads + static_cast<int>(threadIdx.x);
  if (j >= G * N) return;
  const int g = j / N;
  for (index_t r = blockIdx.y; r < R; r += gridDim.y) {
    const index_t p = r * (G * N) + j;
    const int c = g * M + static_cast<int>(packed_field<nm_view<N, M>::bits>(nm_off, p));
    std::uint16_t v = 0;
    if (c < K) {
      const unsigned o = static_cast<unsigned>(c % 4);
      bool found = false;
#pragma unroll
      for (int t = 0; t < Terms; ++t) {
        const index_t i = (r * (Terms * G4) + t * G4 + c / 4) * 2;
        if (!found && packed_field<2>(off24, i) == o) v = dw24[i], found = true;
        if (!found && packed_field<2>(off24, i + 1) == o) v = dw24[i + 1], found = true;
      }
    }
    dw[p] = v;
  }
}

/// xs = [X; 0; X; 0] ([2·Kp, N], Kp = 4·⌈K/4⌉): the two-term GEMM's activations, in 16-byte
/// vectors of 8 values (N % 8 == 0, 16-byte aligned) or single values; n_vec vectors a row.
template <int Vec>
__global__ void __launch_bounds__(threads)
    stack_kernel(const std::uint16_t* x, std::uint16_t* xs, index_t K, index_t Kp, int n_vec) {
  using V = std::conditional_t<Vec == 8, uint4, std::uint16_t>;
  const int col = static_cast<int>(blockIdx.x) * threads + static_cast<int>(threadIdx.x);
  if (col >= n_vec) return;
  for (index_t row = blockIdx.y; row < 2 * Kp; row += gridDim.y) {
    const index_t k = row < Kp ? row : row - Kp;
    V v{};
    if (k < K) v = reinterpret_cast<const V*>(x)[k * n_vec + col];
    reinterpret_cast<V*>(xs)[row * n_vec + col] = v;
  }
}

/// dx = dxs[0, K) + dxs[Kp, Kp + K): the two terms' halves of the two-term dX, summed in float.
template <class T>
__global__ void __launch_bounds__(threads)
    sum_halves_kernel(const T* dxs, T* dx, index_t K, index_t Kp, int N) {
  namespace kc = stco::kernel::cuda;
  const int col = static_cast<int>(blockIdx.x) * threads + static_cast<int>(threadIdx.x);
  if (col >= N) return;
  for (index_t k = blockIdx.y; k < K; k += gridDim.y) {
    const index_t i = k * N + col;
    dx[i] = kc::from_float<T>(kc::to_float(dxs[i]) + kc::to_float(dxs[Kp * N + i]));
  }
}

/// The grid over `rows` rows of `per_row` positions.
inline dim3 grid(index_t per_row, index_t rows) {
  return dim3(static_cast<unsigned>(ceil_div(per_row, index_t{threads})),
              static_cast<unsigned>(std::min(rows, max_grid_rows)));
}
}  // namespace embed_detail

/// The 2:4 values of an N:M weight ([R, ⌈K/M⌉·N] values) over its Terms = terms_24<N, M> 2:4
/// terms ([R, Terms·2·⌈K/4⌉]); offsets are the two entities' packed words on the device. 16-bit
/// values.
template <int N, int M, class T>
void gather_embedded(const T* w, const std::uint32_t* nm_offsets, const std::uint32_t* offsets24,
                     T* w24, index_t R, index_t K, cudaStream_t s) {
  static_assert(sizeof(T) == 2, "gather_embedded: 16-bit values");
  namespace ed = embed_detail;
  const index_t G = ceil_div(K, index_t{M}), G4 = ceil_div(K, index_t{4});
  const index_t Gs = terms_24<N, M> * G4;
  if (R == 0 || K == 0) return;
  const auto a = reinterpret_cast<const std::uint16_t*>(w);
  const auto b = reinterpret_cast<std::uint16_t*>(w24);
  const int g = static_cast<int>(G), g4 = static_cast<int>(G4), gs = static_cast<int>(Gs);
  if ((2 * Gs) % 8 == 0 && reinterpret_cast<std::uintptr_t>(w24) % 16 == 0)
    ed::gather_kernel<N, M, 8>
        <<<ed::grid(2 * Gs / 8, R), ed::threads, 0, s>>>(a, nm_offsets, offsets24, b, g, g4, gs, R);
  else
    ed::gather_kernel<N, M, 1>
        <<<ed::grid(2 * Gs, R), ed::threads, 0, s>>>(a, nm_offsets, offsets24, b, g, g4, gs, R);
  STCO_CUDA_CHECK(cudaGetLastError());
}

/// dW's N:M values from its 2:4 values over its terms_24<N, M> terms (the inverse of
/// gather_embedded on the kept slots).
template <int N, int M, class T>
void scatter_embedded(const T* dw24, const std::uint32_t* nm_offsets,
                      const std::uint32_t* offsets24, T* dw, index_t R, index_t K, cudaStream_t s) {
  static_assert(sizeof(T) == 2, "scatter_embedded: 16-bit values");
  namespace ed = embed_detail;
  const index_t G = ceil_div(K, index_t{M}), G4 = ceil_div(K, index_t{4});
  if (R == 0 || K == 0) return;
  ed::scatter_kernel<N, M, terms_24<N, M>><<<ed::grid(G * N, R), ed::threads, 0, s>>>(
      reinterpret_cast<const std::uint16_t*>(dw24), nm_offsets, offsets24,
      reinterpret_cast<std::uint16_t*>(dw), static_cast<int>(K), static_cast<int>(G),
      static_cast<int>(G4), R);
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
  const index_t n_vec = vec ? N / 8 : N;
  if (n_vec == 0 || Kp == 0) return;
  const auto a = reinterpret_cast<const std::uint16_t*>(x);
  const auto b = reinterpret_cast<std::uint16_t*>(xs);
  const int nv = static_cast<int>(n_vec);
  if (vec)
    ed::stack_kernel<8><<<ed::grid(n_vec, 2 * Kp), ed::threads, 0, s>>>(a, b, K, Kp, nv);
  else
    ed::stack_kernel<1><<<ed::grid(n_vec, 2 * Kp), ed::threads, 0, s>>>(a, b, K, Kp, nv);
  STCO_CUDA_CHECK(cudaGetLastError());
}

/// dX [K, N] from the two-term dX [8·⌈K/4⌉, N]: the sum of its two halves.
template <class T>
void sum_halves(const T* dxs, T* dx, index_t K, index_t N, cudaStream_t s) {
  namespace ed = embed_detail;
  const index_t Kp = 4 * ceil_div(K, index_t{4});
  if (K == 0 || N == 0) return;
  ed::sum_halves_kernel<T>
      <<<ed::grid(N, K), ed::threads, 0, s>>>(dxs, dx, K, Kp, static_cast<int>(N));
  STCO_CUDA_CHECK(cudaGetLastError());
}

}  // namespace stco::cuda::sparse_tc
