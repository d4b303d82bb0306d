// stco/kernel/cpu/matmul.hpp — the CPU drivers of Y = epilogue(W·X) and its gradients.
//
// The right-hand side is cut into chunks of chunk_cols<C> columns; a task is one chunk over a
// block of row units, run on the thread pool. Each task accumulates its rows in a per-thread tile
// and applies the epilogue while storing Y, so W·X is never written unfinished. dZ (dY times the
// epilogue's derivative) is formed chunk by chunk in scratch, never as a tensor.
#pragma once

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <utility>

#include "stco/core/parallel.hpp"
#include "stco/kernel/cpu/block.hpp"
#include "stco/kernel/cpu/buffers.hpp"
#include "stco/kernel/cpu/dense_rows.hpp"
#include "stco/kernel/cpu/nm.hpp"
#include "stco/kernel/cpu/tile_vector.hpp"
#include "stco/kernel/cpu/tile_wise.hpp"
#include "stco/layout/sparse_matrix.hpp"

namespace stco::kernel::cpu {

/// How many blocks to cut `units` into so that chunks × blocks keeps every thread busy.
inline index_t unit_blocks(index_t chunks, index_t units, bool splittable) {
  if (!splittable || units <= 1) return 1;
  const index_t want = 4 * static_cast<index_t>(num_threads());
  return std::clamp<index_t>(ceil_div(want, std::max<index_t>(chunks, 1)), 1, units);
}

/// First row of unit u (the row-tile height of the layout times u, clipped to `rows`).
template <class KL, class E>
index_t unit_row(const E& e, index_t u) {
  const index_t U = KL::units(e);
  if (U == 0) return 0;
  const index_t h = KL::padded_rows(e) / std::max<index_t>(U, 1);
  return u * h;
}

template <class L>
inline constexpr bool rows_splittable = !std::is_same_v<L, channel>;

/// Accumulator rows of one chunk that fill about 16 KiB of L1.
template <class C>
inline constexpr index_t l1_rows = 16384 / (chunk_cols<C> * static_cast<index_t>(sizeof(C)));

/// Calls f(a, b) over [u0, u1) in runs of units whose accumulator rows fill about 16 KiB: the
/// layout kernels loop k-blocks inside a call, so a run's accumulators stay in L1 beside the
/// k-block of B (one sweep over all rows per k-block streamed them from L2 and ran N:M at 2/3
/// of its L1 speed).
template <class KL, class C, class E, class F>
void for_l1_units(const E& e, index_t u0, index_t u1, F&& f) {
  const index_t U = std::max<index_t>(KL::units(e), 1);
  const index_t rows_per_unit = std::max<index_t>(1, KL::padded_rows(e) / U);
  const index_t run = std::max<index_t>(1, l1_rows<C> / rows_per_unit);
  for (index_t u = u0; u < u1; u += run) f(u, std::min(u1, u + run));
}

/// B[k][0, width) = X[k, n0 + j] for j < nc, zero beyond: a chunk of X, contiguous.
template <class T, class C>
void pack_columns(matrix_view<const T> X, index_t n0, index_t nc, index_t width, C* B) {
  const index_t K = X.extent(0), N = X.extent(1);
  const T* x = X.data();
  for (index_t k = 0; k < K; ++k) {
    C* b = B + k * width;
    const T* xk = x + k * N + n0;
    for (index_t j = 0; j < nc; ++j) b[j] = to_compute<C>(xk[j]);
    for (index_t j = nc; j < width; ++j) b[j] = C(0);
  }
}

/// Y[R, N] = chain(W·X). `stash` (R·N, may be null) receives the activation input.
template <class T, class L, class Chain>
void matmul_forward(const sparse_matrix<T, L>& W, matrix_view<const T> X, T* Y, const Chain& ch,
                    acc_t<T>* stash) {
  using C = acc_t<T>;
  using KL = layout_kernel<L>;
  constexpr index_t CH = chunk_cols<C>;
  const auto& e = W.entity();
  const index_t R = W.rows(), K = W.cols(), N = X.extent(1);
  std::vector<C> keep;
  const C* vals = compute_values<C>(W.values(), W.value_count(), keep);
  const index_t chunks = ceil_div(N, CH), U = KL::units(e), PR = KL::padded_rows(e);
  const index_t blocks = unit_blocks(chunks, U, rows_splittable<L>);
  parallel_for(chunks * blocks, [&](index_t task) {
    const index_t c = task / blocks, b = task % blocks;
    const index_t n0 = c * CH, nc = std::min(CH, N - n0);
    const index_t u0 = U * b / blocks, u1 = U * (b + 1) / blocks;
    const index_t r0 = rows_splittable<L> ? unit_row<KL>(e, u0) : 0;
    const index_t r1 = rows_splittable<L> ? std::min(PR, unit_row<KL>(e, u1)) : PR;
    C* acc = scratch<C, 0>(PR * CH);
    std::fill(acc + r0 * CH, acc + r1 * CH, C(0));
    // Pack the chunk contiguously: rows of X are N apart, and a power-of-two N would map a
    // k-block of them onto a few L1 sets.
    C* B = scratch<C, 1>(K * CH);
    pack_columns(X, n0, nc, CH, B);
    for_l1_units<KL, C>(e, u0, u1,
                        [&](index_t a, index_t b2) { KL::forward(e, vals, B, CH, acc, a, b2); });
    for (index_t r = r0; r < std::min(r1, R); ++r) {
      const C* a = acc + r * CH;
      T* y = Y + r * N + n0;
      C* st = stash ? stash + r * N + n0 : nullptr;
      for (index_t j = 0; j < nc; ++j)
        y[j] = from_compute<T>(ch.apply(a[j], r, r * N + n0 + j, st ? st + j : nullptr));
    }
  });
}

/// Fills G[r][0, CH) for rows [r0, r1) of the padded height with dZ of columns [n0, n0 + nc),
/// zero beyond R and beyond nc.
template <class T, class Chain>
void pack_matmul_dz(const T* dY, const acc_t<T>* stash, index_t R, index_t N, index_t n0,
                    index_t nc, index_t width, index_t r0, index_t r1, const Chain& ch,
                    acc_t<T>* G) {
  using C = acc_t<T>;
  for (index_t r = r0; r < r1; ++r) {
    C* g = G + r * width;
    if (r >= R) {
      std::fill(g, g + width, C(0));
      continue;
    }
    const T* dy = dY + r * N + n0;
    for (index_t j = 0; j < nc; ++j) {
      const index_t pos = r * N + n0 + j;
      g[j] = ch.core_gradient(to_compute<C>(dy[j]), r, pos, stash ? stash[pos] : C(0));
    }
    std::fill(g + nc, g + width, C(0));
  }
}

/// dX[K, N] = Wᵀ·dZ through the layout's transposed traversal.
template <class T, class L, class Chain>
void matmul_grad_x(const sparse_matrix<T, L>& W, const T* dY, index_t N, const acc_t<T>* stash,
                   const Chain& ch, T* dX) {
  using C = acc_t<T>;
  using KL = layout_kernel<L>;
  constexpr index_t CH = chunk_cols<C>;
  const auto& e = W.entity();
  const index_t R = W.rows(), K = W.cols();
  std::vector<C> keep;
  const C* vals = compute_values<C>(W.values(), W.value_count(), keep);
  aligned_array<C> keep_t;
  const C* tvals = KL::transposed_values(e, vals, keep_t);
  const index_t chunks = ceil_div(N, CH), V = KL::t_units(e), PR = KL::padded_rows(e);
  const index_t blocks = unit_blocks(chunks, V, true);
  parallel_for(chunks * blocks, [&](index_t task) {
    const index_t c = task / blocks, b = task % blocks;
    const index_t n0 = c * CH, nc = std::min(CH, N - n0);
    const index_t v0 = V * b / blocks, v1 = V * (b + 1) / blocks;
    C* G = scratch<C, 0>(PR * CH);
    pack_matmul_dz(dY, stash, R, N, n0, nc, CH, 0, PR, ch, G);
    C* D = scratch<C, 1>(K * CH);
    const index_t k0 = V == K ? v0 : 0, k1 = V == K ? v1 : K;
    std::fill(D + k0 * CH, D + k1 * CH, C(0));
    if (V == K)  // per-column units: runs of columns whose D rows stay in L1
      for (index_t v = v0; v < v1; v += l1_rows<C>)
        KL::transposed(e, tvals, G, D, v, std::min(v1, v + l1_rows<C>));
    else
      KL::transposed(e, tvals, G, D, v0, v1);
    for (index_t k = k0; k < k1; ++k)
      for (index_t j = 0; j < nc; ++j) dX[k * N + n0 + j] = from_compute<T>(D[k * CH + j]);
  });
}

#ifndef STCO_DW_CHUNK_BYTES
#define STCO_DW_CHUNK_BYTES 2048
#endif
/// Longest dW chunk (columns of dZ and X per dot product): long enough that a dot amortizes its
/// horizontal sum and its slot walk (with 256-byte rows they took four fifths of the time).
template <class C>
inline constexpr index_t dw_chunk_max = std::max<index_t>(2 * chunk_cols<C>,
                                                          STCO_DW_CHUNK_BYTES /
                                                              static_cast<index_t>(sizeof(C)));

/// The dW chunk for n columns: n itself (rounded up to the vector width) when it fits, else n cut
/// evenly into chunks of at most dw_chunk_max (and at most `cap`). A chunk never pads n up to a
/// fixed width: the dots run over round_up(n, width) columns, not over zeros.
template <class C>
inline index_t dw_chunk_for(index_t n, index_t cap = dw_chunk_max<C>) {
  constexpr index_t W = simd<C>::width;
  const index_t most = std::max<index_t>(W, std::min(dw_chunk_max<C>, cap) / W * W);
  const index_t pieces = ceil_div(std::max<index_t>(n, 1), most);
  return round_up(ceil_div(std::max<index_t>(n, 1), pieces), W);
}

/// Units per dW run: the run's dZ rows of one chunk (`cw` columns) fill about 128 KiB, so they
/// stay in L2 while the layout kernel walks the chunk's X rows in L1-sized k-blocks (one unit
/// per run made every k-block of X stream from L3 per few rows).
template <class C>
inline index_t dw_run_units(index_t cw, index_t rows_per_unit) {
  return std::max<index_t>(
      1, 131072 / (cw * static_cast<index_t>(sizeof(C))) / std::max<index_t>(1, rows_per_unit));
}

/// The logical row of unit u's first row and one past its last (channel: the kept row).
template <class L, class KL, class E>
std::pair<index_t, index_t> dw_unit_rows(const E& e, index_t u) {
  if constexpr (std::is_same_v<L, channel>) {
    const index_t r = e.rows()[u];
    return {r, r + 1};
  } else {
    return {unit_row<KL>(e, u), unit_row<KL>(e, u + 1)};
  }
}

/// Leading dimension of a packed copy of rows of n values: a multiple of the vector width, and
/// not a multiple of 4 KiB (rows 4 KiB apart share L1 sets).
template <class C>
inline index_t dw_ld(index_t n) {
  constexpr index_t W = simd<C>::width;
  index_t ld = round_up(std::max<index_t>(n, 1), W);
  if ((ld * static_cast<index_t>(sizeof(C))) % 4096 == 0)
    ld += 64 / static_cast<index_t>(sizeof(C));
  return ld;
}

/// dW at W's kept addresses: dvals (compressed, compute type) = Σ_n dZ[r, n]·X[k, n].
///
/// X is packed once (compute type, padded rows) and shared by all tasks; a task is a block of
/// units, walked in L2-sized runs; per run and chunk, dZ of the run's rows is packed and the
/// layout kernel takes the dots with the chunk of X.
template <class T, class L, class Chain>
void matmul_grad_w(const sparse_matrix<T, L>& W, matrix_view<const T> X, const T* dY,
                   const acc_t<T>* stash, const Chain& ch, acc_t<T>* dvals) {
  using C = acc_t<T>;
  using KL = layout_kernel<L>;
  const auto& e = W.entity();
  const index_t R = W.rows(), K = W.cols(), N = X.extent(1);
  const index_t U = KL::units(e), PR = KL::padded_rows(e);
  const index_t CW = dw_chunk_for<C>(N), ldx = dw_ld<C>(N);
  std::fill(dvals, dvals + W.value_count(), C(0));
  if (U == 0 || N == 0) return;
  aligned_array<C> xp;
  C* Xp = xp.reserve(K * ldx);
  {
    const index_t pieces = std::min<index_t>(K, 4 * static_cast<index_t>(num_threads()));
    parallel_for(pieces, [&](index_t b) {
      const index_t k0 = K * b / pieces, k1 = K * (b + 1) / pieces;
      pack_columns(make_matrix_view(X.data() + k0 * N, k1 - k0, N), 0, N, ldx, Xp + k0 * ldx);
    });
  }
  const index_t rows_per_unit = std::is_same_v<L, channel> ? 1 : std::max<index_t>(1, PR / U);
  const index_t run = dw_run_units<C>(CW, rows_per_unit);
  // Blocks of whole runs where there are enough, else of units, so every thread has work.
  const index_t blocks = unit_blocks(1, U, true);
  parallel_for(blocks, [&](index_t b) {
    const index_t u0 = U * b / blocks, u1 = U * (b + 1) / blocks;
    C* G = scratch<C, 0>(PR * CW);
    for (index_t a = u0; a < u1; a += run) {
      const index_t a1 = std::min(u1, a + run);
      for (index_t n0 = 0; n0 < N; n0 += CW) {
        const index_t nc = std::min(CW, N - n0);
        const index_t nv = round_up(nc, index_t{simd<C>::width});
        if constexpr (std::is_same_v<L, channel>) {
          for (index_t u = a; u < a1; ++u) {
            const auto [r0, r1] = dw_unit_rows<L, KL>(e, u);
            pack_matmul_dz(dY, stash, R, N, n0, nc, CW, r0, r1, ch, G);
          }
        } else {
          const index_t r0 = dw_unit_rows<L, KL>(e, a).first;
          const index_t r1 = std::min(PR, dw_unit_rows<L, KL>(e, a1 - 1).second);
          pack_matmul_dz(dY, stash, R, N, n0, nc, CW, r0, r1, ch, G);
        }
        KL::sampled(e, G, CW, Xp + n0, ldx, nv, dvals, a, a1);
      }
    }
  });
}

/// db[ch] = Σ over the outputs of channel ch of dL/d(bias output). Output element (ch, i) is at
/// ch·ch_stride + i·elem_stride for i < count.
template <class T, class Chain>
void bias_grad(const T* dY, const acc_t<T>* stash, index_t channels, index_t count,
               index_t ch_stride, index_t elem_stride, const Chain& ch, T* db) {
  using C = acc_t<T>;
  parallel_for(channels, [&](index_t c) {
    double s = 0;
    for (index_t i = 0; i < count; ++i) {
      const index_t pos = c * ch_stride + i * elem_stride;
      s += ch.bias_gradient(to_compute<C>(dY[pos]), c, pos, stash ? stash[pos] : C(0));
    }
    db[c] = from_compute<T>(static_cast<C>(s));
  });
}

}  // namespace stco::kernel::cpu
