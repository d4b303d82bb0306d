// stco/kernel/cpu/block.hpp — block sparsity on the CPU: each block-row's kept blocks feed one
// register tile, so every loaded B row serves the block's BR rows.
//
// BSR is its own transposed traversal at block granularity: dX scatters each block transposed
// into D, one unit per chunk (block-rows write overlapping D rows). No per-value map is built.
#pragma once

#include "stco/kernel/cpu/layout_kernel.hpp"
#include "stco/layout/block.hpp"

namespace stco::kernel::cpu {

template <int BR, int BC>
struct layout_kernel<block<BR, BC>> {
  using E = block_entity<BR, BC>;
  static constexpr bool uses_column_map = false;
  static constexpr kernel_names names{"block: one register tile per block",
                                      "block: blocks scattered transposed",
                                      "block: register dot tiles"};

  static index_t units(const E& e) { return e.block_rows(); }
  static index_t padded_rows(const E& e) { return e.block_rows() * BR; }
  static index_t t_units(const E&) { return 1; }

  template <class C>
  static void forward(const E& e, const C* vals, const C* B, index_t ldb, C* acc, index_t u0,
                      index_t u1) {
    constexpr index_t CH = chunk_cols<C>;
    const index_t K = e.logical_shape().cols;
    const index_t kb = std::max<index_t>(1, k_block<C> / BC);  // block columns per cache block
    e.col_index().visit([&](const auto* bcol, index_t) {
      std::vector<index_t> cur(static_cast<std::size_t>(u1 - u0));
      for (index_t b = u0; b < u1; ++b) cur[b - u0] = e.row_ptr()[b];
      C* rows[row_capacity(BR)];
      for (index_t b0 = 0; b0 < e.block_cols(); b0 += kb) {
        for (index_t br = u0; br < u1; ++br) {
          index_t& p0 = cur[br - u0];
          index_t p1 = p0;
          const index_t end = e.row_ptr()[br + 1];
          while (p1 < end && static_cast<index_t>(bcol[p1]) < b0 + kb) ++p1;
          if (p1 == p0) continue;
          for (int i = 0; i < BR; ++i) rows[i] = acc + (br * BR + i) * CH;
          shared_accumulate_rows_each(rows, BR, BC, B, ldb, [&](auto&& emit, index_t i0) {
            for (index_t p = p0; p < p1; ++p) {
              const index_t c0 = static_cast<index_t>(bcol[p]) * BC;
              const C* v = vals + (p * BR + i0) * BC;
              const index_t nc = std::min<index_t>(BC, K - c0);
              for (index_t j = 0; j < nc; ++j) emit(c0 + j, v + j);
            }
          });
          p0 = p1;
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
    const index_t K = e.logical_shape().cols;
    e.col_index().visit([&](const auto* bcol, index_t) {
      C* outs[row_capacity(BC)];
      for (index_t br = 0; br < e.block_rows(); ++br)
        for (index_t p = e.row_ptr()[br]; p < e.row_ptr()[br + 1]; ++p) {
          const index_t c0 = static_cast<index_t>(bcol[p]) * BC;
          const index_t nc = std::min<index_t>(BC, K - c0);
          for (index_t j = 0; j < nc; ++j) outs[j] = D + (c0 + j) * CH;
          // Outputs: the block's columns; inputs: its BR rows of G; v(out j, in i) at i·BC + j.
          shared_accumulate_rows(outs, nc, vals + p * BR * BC, 1, BC, BR, G + br * BR * CH, CH,
                                 [](index_t i) { return i; });
        }
    });
  }

  /// dW of block rows [u0, u1): each block's BR×BC dots in register tiles of up to 3 rows × 4
  /// columns (dot_tile).
  template <class C>
  static void sampled(const E& e, const C* G, index_t ldg, const C* B, index_t ldb, index_t n,
                      C* dvals, index_t u0, index_t u1) {
    const matrix_shape s = e.logical_shape();
    e.col_index().visit([&](const auto* bcol, index_t) {
      const C* grows[row_capacity(BR)];
      const C* brows[row_capacity(BC)];
      for (index_t br = u0; br < u1; ++br) {
        const index_t rows = std::min<index_t>(BR, s.rows - br * BR);
        for (index_t i = 0; i < rows; ++i) grows[i] = G + (br * BR + i) * ldg;
        for (index_t p = e.row_ptr()[br]; p < e.row_ptr()[br + 1]; ++p) {
          const index_t c0 = static_cast<index_t>(bcol[p]) * BC;
          const index_t nc = std::min<index_t>(BC, s.cols - c0);
          for (index_t j = 0; j < nc; ++j) brows[j] = B + (c0 + j) * ldb;
          // Value (row i, column j) of block p is at (p·BR + i)·BC + j.
          for (index_t i = 0; i < rows; i += 3)
            for (index_t j = 0; j < nc; j += 4)
              dot_tile(dvals + (p * BR + i) * BC + j, BC, 1, grows + i,
                       std::min<index_t>(3, rows - i), brows + j, std::min<index_t>(4, nc - j), n);
        }
      }
    });
  }
};

}  // namespace stco::kernel::cpu
