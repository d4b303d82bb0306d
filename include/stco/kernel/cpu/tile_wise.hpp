// stco/kernel/cpu/tile_wise.hpp — tile-wise on the CPU: each tile is a dense GEMM over its kept
// columns. The k-major value panel feeds the register tile directly (one B row load per tile_rows
// FMAs), so the kept part runs at dense-kernel efficiency.
//
// The entity's tile lists are already the transposed traversal at tile granularity: dX reads the
// same panels transposed (kept column j of tile t scatters Σ_i v·G[row i] into D[col j]), so no
// per-value map is built. Transposed work is one unit per chunk (tiles write overlapping D rows).
#pragma once

#include "stco/kernel/cpu/layout_kernel.hpp"
#include "stco/layout/tile_wise.hpp"

namespace stco::kernel::cpu {

template <int T>
struct layout_kernel<tile_wise<T>> {
  using E = tile_wise_entity<T>;
  static constexpr bool uses_column_map = false;
  static constexpr kernel_names names{"tile_wise: each tile a dense GEMM over its kept columns",
                                      "tile_wise: the tiles' panels, transposed",
                                      "tile_wise: register dot tiles"};

  static index_t units(const E& e) { return e.tiles(); }
  static index_t padded_rows(const E& e) { return e.tiles() * T; }
  static index_t t_units(const E&) { return 1; }

  template <class C>
  static void forward(const E& e, const C* vals, const C* B, index_t ldb, C* acc, index_t u0,
                      index_t u1) {
    constexpr index_t CH = chunk_cols<C>;
    const index_t K = e.logical_shape().cols;
    e.columns().visit([&](const auto* cols, index_t) {
      std::vector<index_t> cur(static_cast<std::size_t>(u1 - u0));
      for (index_t t = u0; t < u1; ++t) cur[t - u0] = e.tile_ptr()[t];
      C* rows[row_capacity(T)];
      for (index_t k0 = 0; k0 < K; k0 += k_block<C>) {
        const index_t k1 = k0 + k_block<C>;
        for (index_t t = u0; t < u1; ++t) {
          index_t& c0 = cur[t - u0];
          index_t c1 = c0;
          const index_t end = e.tile_ptr()[t + 1];
          while (c1 < end && static_cast<index_t>(cols[c1]) < k1) ++c1;
          if (c1 == c0) continue;
          for (int i = 0; i < T; ++i) rows[i] = acc + (t * T + i) * CH;
          shared_accumulate_rows(rows, T, vals + c0 * T, 1, T, c1 - c0, B, ldb,
                                 [&](index_t j) { return static_cast<index_t>(cols[c0 + j]); });
          c0 = c1;
        }
      }
    });
  }

  /// The panels are their own transposed traversal: no reordering.
  template <class C>
  static const C* transposed_values(const E&, const C* vals, aligned_array<C>&) {
    return vals;
  }

  template <class C>
  static void transposed(const E& e, const C* vals, const C* G, C* D, index_t, index_t) {
    constexpr index_t CH = chunk_cols<C>;
    e.columns().visit([&](const auto* cols, index_t) {
      C* outs[row_capacity(1)];
      for (index_t t = 0; t < e.tiles(); ++t) {
        const index_t c0 = e.tile_ptr()[t], c1 = e.tile_ptr()[t + 1];
        // Outputs: kept columns (D rows), inputs: the tile's T rows of G; v(out j, in i) at
        // vals[(c0 + j)·T + i].
        for (index_t j = c0; j < c1; j += tile_rows) {
          const index_t nj = std::min<index_t>(tile_rows, c1 - j);
          for (index_t q = 0; q < nj; ++q) outs[q] = D + static_cast<index_t>(cols[j + q]) * CH;
          shared_accumulate_rows(outs, nj, vals + j * T, T, 1, T, G + t * T * CH, CH,
                                 [](index_t i) { return i; });
        }
      }
    });
  }

  /// dW of tiles [u0, u1): register tiles of 3 rows × 4 kept columns (dot_tile), the kept
  /// columns of a tile blocked so that their B rows stay in L1 while all T rows pass over them.
  template <class C>
  static void sampled(const E& e, const C* G, index_t ldg, const C* B, index_t ldb, index_t n,
                      C* dvals, index_t u0, index_t u1) {
    const index_t cb = std::max<index_t>(4, 16384 / (n * static_cast<index_t>(sizeof(C))) / 4 * 4);
    e.columns().visit([&](const auto* cols, index_t) {
      const C* grows[4];
      const C* brows[4];
      for (index_t t = u0; t < u1; ++t) {
        const index_t rows = std::min<index_t>(T, e.logical_shape().rows - t * T);
        const index_t p0 = e.tile_ptr()[t], p1 = e.tile_ptr()[t + 1];
        for (index_t c0 = p0; c0 < p1; c0 += cb) {
          const index_t c1 = std::min(p1, c0 + cb);
          for (index_t i = 0; i < rows; i += 3) {
            const index_t nr = std::min<index_t>(3, rows - i);
            for (index_t q = 0; q < nr; ++q) grows[q] = G + (t * T + i + q) * ldg;
            for (index_t p = c0; p < c1; p += 4) {
              const index_t nk = std::min<index_t>(4, c1 - p);
              for (index_t q = 0; q < nk; ++q)
                brows[q] = B + static_cast<index_t>(cols[p + q]) * ldb;
              // Value (kept column p, row i) of the tile's panel is at p·T + i.
              dot_tile(dvals + p * T + i, 1, T, grows, nr, brows, nk, n);
            }
          }
        }
      }
    });
  }
};

}  // namespace stco::kernel::cpu
