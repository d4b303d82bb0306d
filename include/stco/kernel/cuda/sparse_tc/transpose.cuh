// stco/kernel/cuda/sparse_tc/transpose.cuh — Wᵀ's compressed values from W's, on the device, once
// per step (after the optimizer changed W): the value side of the cached transposed traversal. The
// index side (Wᵀ's entity and metadata) is derived once on the host (transposable.hpp). For a
// mask that is not transposable, decompress_transposed writes Wᵀ dense instead (dX then runs on
// the dense tensor cores).
//
// A CTA takes 64 rows × 128 columns of W: it reads their values and offsets coalesced into
// shared memory, then writes the matching 128 rows × 16 groups of Wᵀ, 64 contiguous bytes per row.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "stco/core/cuda/check.cuh"
#include "stco/core/index.hpp"

namespace stco::cuda::sparse_tc {

namespace transpose_detail {
inline constexpr int rows = 64, groups = 32, threads = 256;

/// w: W values [R, 2G]; w_off: W offsets; t_off: Wᵀ offsets ([K, 2Gt]); wt: Wᵀ values.
template <int = 0>
__global__ void __launch_bounds__(threads)
    gather_kernel(const std::uint16_t* w, const std::uint8_t* w_off, const std::uint8_t* t_off,
                  std::uint16_t* wt, index_t R, index_t K, index_t G, index_t Gt) {
  // The two values and the offsets nibble of (row, group); rows padded against bank conflicts
  // (the write phase reads one column of groups across rows).
  __shared__ std::uint32_t vals[rows][groups + 1];
  __shared__ std::uint8_t nib[rows][groups + 4];
  const index_t r0 = static_cast<index_t>(blockIdx.y) * rows;
  const index_t g0 = static_cast<index_t>(blockIdx.x) * groups;
  const int tid = static_cast<int>(threadIdx.x);
  // Load phase: this thread's group is fixed (tid % 32), its rows step by 8. Indices advance
  // incrementally (the kernel is bound by integer work otherwise); all loads are in flight at once.
  constexpr int step = threads / groups, per_thread = rows / step;
  const int g = tid % groups, rl0 = tid / groups;
  const bool g_in = g0 + g < G;
  index_t pair = (r0 + rl0) * G + g0 + g;  // (row, group) pair index in W
  std::uint32_t v[per_thread];
  unsigned n[per_thread];
#pragma unroll
  for (int j = 0; j < per_thread; ++j, pair += step * G) {
    v[j] = 0, n[j] = 0x4;
    if (g_in && r0 + rl0 + j * step < R) {
      v[j] = __ldg(reinterpret_cast<const std::uint32_t*>(w) + pair);
      n[j] = (__ldg(w_off + (pair >> 1)) >> (4 * (pair & 1))) & 0xFu;
    }
  }
#pragma unroll
  for (int j = 0; j < per_thread; ++j) {
    vals[rl0 + j * step][g] = v[j];
    nib[rl0 + j * step][g] = static_cast<std::uint8_t>(n[j]);
  }
  __syncthreads();
  // Write phase: this thread's row group of W (q) is fixed, its column steps by 16.
  constexpr int wstep = threads / (rows / 4), wcount = groups * 4 / wstep;
  const int q = tid % (rows / 4), kk0 = tid / (rows / 4);
  const index_t gq = r0 / 4 + q;
  if (gq >= Gt) return;
  index_t tpair = (g0 * 4 + kk0) * Gt + gq;  // (k, row group) pair index in Wᵀ
#pragma unroll 4
  for (int j = 0; j < wcount; ++j, tpair += wstep * Gt) {
    const int kk = kk0 + j * wstep;
    if (g0 * 4 + kk >= K) break;
    const unsigned tn = (__ldg(t_off + (tpair >> 1)) >> (4 * (tpair & 1))) & 0xFu;
    const unsigned o = static_cast<unsigned>(kk & 3);
    std::uint32_t out = 0;
#pragma unroll
    for (int sl = 0; sl < 2; ++sl) {
      const int r = q * 4 + static_cast<int>((tn >> (2 * sl)) & 3u);  // local row of W
      const unsigned nb = nib[r][kk >> 2];
      const std::uint32_t x = vals[r][kk >> 2];
      const std::uint32_t h = (nb & 3u) == o ? (x & 0xFFFFu) : (nb >> 2) == o ? (x >> 16) : 0u;
      out |= h << (16 * sl);
    }
    reinterpret_cast<std::uint32_t*>(wt)[tpair] = out;
  }
}

/// Dense Wᵀ from W's compressed values: a CTA takes 64 rows × 64 columns of W, scatters its kept
/// values into a zeroed shared tile and writes the 64 × 64 block of Wᵀ in 16-byte row pieces.
inline constexpr int dense_tile = 64, dense_pad = 8;
template <int = 0>
__global__ void __launch_bounds__(threads)
    decompress_t_kernel(const std::uint16_t* w, const std::uint8_t* w_off, std::uint16_t* out,
                        index_t R, index_t K, index_t G, index_t ld) {
  __shared__ __align__(16) std::uint16_t t[dense_tile][dense_tile + dense_pad];  // [k][r]
  constexpr int gpt = dense_tile / 4;                                            // groups per tile
  const index_t r0 = static_cast<index_t>(blockIdx.y) * dense_tile;
  const index_t g0 = static_cast<index_t>(blockIdx.x) * gpt;
  const int tid = static_cast<int>(threadIdx.x);
  constexpr int words = dense_tile * (dense_tile + dense_pad) / 2;
  for (int i = tid; i < words; i += threads) reinterpret_cast<std::uint32_t*>(&t[0][0])[i] = 0u;
  constexpr int per = dense_tile * gpt / threads;
  std::uint32_t v[per];
  unsigned n[per];
#pragma unroll
  for (int j = 0; j < per; ++j) {
    const int q = tid + j * threads, gl = q % gpt, rl = q / gpt;
    v[j] = 0, n[j] = 0x10u;  // no kept value
    if (g0 + gl < G && r0 + rl < R) {
      const index_t pair = (r0 + rl) * G + g0 + gl;
      v[j] = __ldg(reinterpret_cast<const std::uint32_t*>(w) + pair);
      n[j] = (__ldg(w_off + (pair >> 1)) >> (4 * (pair & 1))) & 0xFu;
    }
  }
  __syncthreads();
#pragma unroll
  for (int j = 0; j < per; ++j) {
    if (n[j] > 0xFu) continue;
    const int q = tid + j * threads, gl = q % gpt, rl = q / gpt;
    // Slot 1 first: where both slots name one column, slot 0 wins (as in the Wᵀ gather).
    t[gl * 4 + static_cast<int>(n[j] >> 2)][rl] = static_cast<std::uint16_t>(v[j] >> 16);
    t[gl * 4 + static_cast<int>(n[j] & 3u)][rl] = static_cast<std::uint16_t>(v[j] & 0xFFFFu);
  }
  __syncthreads();
  constexpr int chunks = dense_tile * dense_tile / 8;
#pragma unroll
  for (int c = tid; c < chunks; c += threads) {
    const int kl = c / (dense_tile / 8), j = c % (dense_tile / 8);
    const index_t k = g0 * 4 + kl, r = r0 + j * 8;
    if (k < K && r < ld)
      *reinterpret_cast<uint4*>(out + k * ld + r) = *reinterpret_cast<const uint4*>(&t[kl][j * 8]);
  }
}
}  // namespace transpose_detail

/// Wᵀ dense ([K, R] with row pitch ld ≥ R, ld % 8 == 0, `wt` 16-byte aligned; columns R..ld-1
/// written as zeros) from W's compressed values and packed offsets (device): the per-step
/// decompression behind dX of a mask that is not transposable.
template <class T>
void decompress_transposed(const T* w, const std::uint32_t* w_offsets, T* wt, index_t R, index_t K,
                           index_t ld, cudaStream_t s) {
  namespace td = transpose_detail;
  const index_t G = (K + 3) / 4;
  if (R == 0 || K == 0) return;
  const dim3 grid(static_cast<unsigned>((G + td::dense_tile / 4 - 1) / (td::dense_tile / 4)),
                  static_cast<unsigned>((R + td::dense_tile - 1) / td::dense_tile));
  td::decompress_t_kernel<><<<grid, td::threads, 0, s>>>(
      reinterpret_cast<const std::uint16_t*>(w), reinterpret_cast<const std::uint8_t*>(w_offsets),
      reinterpret_cast<std::uint16_t*>(wt), R, K, G, ld);
  STCO_CUDA_CHECK(cudaGetLastError());
}

/// Wᵀ's values ([K, 2·⌈R/4⌉]) from W's ([R, 2·⌈K/4⌉]) given both packed offset arrays (device).
template <class T>
void transpose_values(const T* w, const std::uint32_t* w_offsets, const std::uint32_t* t_offsets,
                      T* wt, index_t R, index_t K, cudaStream_t s) {
  namespace td = transpose_detail;
  const index_t G = (K + 3) / 4, Gt = (R + 3) / 4;
  if (R == 0 || K == 0) return;
  const dim3 grid(static_cast<unsigned>((G + td::groups - 1) / td::groups),
                  static_cast<unsigned>((R + td::rows - 1) / td::rows));
  td::gather_kernel<><<<grid, td::threads, 0, s>>>(
      reinterpret_cast<const std::uint16_t*>(w), reinterpret_cast<const std::uint8_t*>(w_offsets),
      reinterpret_cast<const std::uint8_t*>(t_offsets), reinterpret_cast<std::uint16_t*>(wt), R, K,
      G, Gt);
  STCO_CUDA_CHECK(cudaGetLastError());
}

}  // namespace stco::cuda::sparse_tc
