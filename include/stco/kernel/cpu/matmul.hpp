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

/// Columns of one dW chunk: long enough that a dot product amortizes its horizontal sum, short
/// enough that a run of G rows and a k-block of B rows (16 KiB each) share L1.
template <class C>
inline constexpr index_t dw_chunk = 2 * chunk_cols<C>;

/// dW at W's kept addresses: dvals (compressed, compute type) = Σ_n dZ[r, n]·X[k, n].
template <class T, class L, class Chain>
void matmul_grad_w(const sparse_matrix<T, L>& W, matrix_view<const T> X, const T* dY,
                   const acc_t<T>* stash, const Chain& ch, acc_t<T>* dvals) {
  using C = acc_t<T>;
  using KL = layout_kernel<L>;
  constexpr index_t CW = dw_chunk<C>;
  const auto& e = W.entity();
  const index_t R = W.rows(), K = W.cols(), N = X.extent(1);
  const index_t U = KL::units(e), PR = KL::padded_rows(e);
  const index_t blocks = unit_blocks(1, U, rows_splittable<L>);
  std::fill(dvals, dvals + W.value_count(), C(0));
  parallel_for(blocks, [&](index_t b) {
    const index_t u0 = U * b / blocks, u1 = U * (b + 1) / blocks;
    const index_t r0 = rows_splittable<L> ? unit_row<KL>(e, u0) : 0;
    const index_t r1 = rows_splittable<L> ? std::min(PR, unit_row<KL>(e, u1)) : PR;
    C* G = scratch<C, 0>(PR * CW);
    for (index_t n0 = 0; n0 < N; n0 += CW) {
      const index_t nc = std::min(CW, N - n0);
      const index_t nv = round_up(nc, index_t{simd<C>::width});
      pack_matmul_dz(dY, stash, R, N, n0, nc, CW, r0, r1, ch, G);
      C* B = scratch<C, 1>(K * nv);
      pack_columns(X, n0, nc, nv, B);
      const index_t run =
          std::max<index_t>(1, 16384 / (CW * static_cast<index_t>(sizeof(C))) /
                                   std::max<index_t>(1, PR / std::max<index_t>(U, 1)));
      for (index_t u = u0; u < u1; u += run)
        KL::sampled(e, G, CW, B, nv, nv, dvals, u, std::min(u1, u + run));
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
