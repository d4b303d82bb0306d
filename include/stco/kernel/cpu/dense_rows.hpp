// stco/kernel/cpu/dense_rows.hpp — layouts whose values are whole dense rows: `dense` (every row)
// and `channel` (the kept rows). Both run the shared-row register tile over all of K: a smaller
// dense GEMM for channel. The transposed product reads the same rows transposed (D[k] += Σ
// W[r,k]·G[r]), so no map is built.
#pragma once

#include "stco/kernel/cpu/layout_kernel.hpp"
#include "stco/layout/channel.hpp"
#include "stco/layout/dense.hpp"

namespace stco::kernel::cpu {

namespace detail {
/// Shared code of dense and channel; row_of(i) is the logical row of stored row i.
template <class E, class RowOf>
struct dense_rows_kernel {
  static constexpr bool uses_column_map = false;

  static index_t stored_rows(const E& e) { return e.compressed_shape().rows; }

  template <class C>
  static void forward(const E& e, const C* vals, const C* B, index_t ldb, C* acc, index_t u0,
                      index_t u1, RowOf row_of) {
    constexpr index_t CH = chunk_cols<C>;
    const index_t K = e.logical_shape().cols;
    C* rows[row_capacity(1)];
    for (index_t k0 = 0; k0 < K; k0 += k_block<C>) {
      const index_t nk = std::min(K, k0 + k_block<C>) - k0;
      for (index_t i = u0; i < u1; i += tile_rows) {
        const index_t n = std::min<index_t>(tile_rows, u1 - i);
        for (index_t q = 0; q < n; ++q) rows[q] = acc + row_of(i + q) * CH;
        shared_accumulate_rows(rows, n, vals + i * K + k0, K, 1, nk, B + k0 * ldb, ldb,
                               [](index_t j) { return j; });
      }
    }
  }

  template <class C>
  static void transposed(const E& e, const C* vals, const C* G, C* D, index_t v0, index_t v1,
                         RowOf row_of) {
    constexpr index_t CH = chunk_cols<C>;
    const index_t K = e.logical_shape().cols, Rs = stored_rows(e);
    C* outs[row_capacity(1)];
    for (index_t r0 = 0; r0 < Rs; r0 += k_block<C>) {
      const index_t nr = std::min(Rs, r0 + k_block<C>) - r0;
      for (index_t k = v0; k < v1; k += tile_rows) {
        const index_t n = std::min<index_t>(tile_rows, v1 - k);
        for (index_t q = 0; q < n; ++q) outs[q] = D + (k + q) * CH;
        // Outputs: columns k.., inputs: stored rows r0..; v(out q, in j) at (r0 + j)·K + k + q.
        shared_accumulate_rows(outs, n, vals + r0 * K + k, 1, K, nr, G, CH,
                               [&](index_t j) { return row_of(r0 + j); });
      }
    }
  }

  /// dW of rows [u0, u1): register tiles of 3 rows × 4 columns (dot_tile), k-blocked so the
  /// block's B rows stay in L1 while every row group of the run passes over them.
  template <class C>
  static void sampled(const E& e, const C* G, index_t ldg, const C* B, index_t ldb, index_t n,
                      C* dvals, index_t u0, index_t u1, RowOf row_of) {
    const index_t K = e.logical_shape().cols;
    const index_t kb = std::max<index_t>(4, 16384 / (n * static_cast<index_t>(sizeof(C))) / 4 * 4);
    const C* grows[4];
    const C* brows[4];
    for (index_t k0 = 0; k0 < K; k0 += kb) {
      const index_t k1 = std::min(K, k0 + kb);
      for (index_t i = u0; i < u1; i += 3) {
        const index_t nr = std::min<index_t>(3, u1 - i);
        for (index_t q = 0; q < nr; ++q) grows[q] = G + row_of(i + q) * ldg;
        for (index_t k = k0; k < k1; k += 4) {
          const index_t nk = std::min<index_t>(4, k1 - k);
          for (index_t q = 0; q < nk; ++q) brows[q] = B + (k + q) * ldb;
          dot_tile(dvals + i * K + k, K, 1, grows, nr, brows, nk, n);
        }
      }
    }
  }
};

struct identity_row {
  index_t operator()(index_t i) const { return i; }
};
}  // namespace detail

template <>
struct layout_kernel<dense> {
  using E = dense_entity;
  using impl = detail::dense_rows_kernel<E, detail::identity_row>;
  static constexpr bool uses_column_map = false;
  static constexpr kernel_names names{"dense: shared-row register tile over all of K",
                                      "dense: rows read transposed", "dense: register dot tiles"};
  static index_t units(const E& e) { return e.logical_shape().rows; }
  static index_t padded_rows(const E& e) { return e.logical_shape().rows; }
  static index_t t_units(const E& e) { return e.logical_shape().cols; }
  template <class C>
  static void forward(const E& e, const C* v, const C* B, index_t ldb, C* acc, index_t u0,
                      index_t u1) {
    impl::forward(e, v, B, ldb, acc, u0, u1, detail::identity_row{});
  }
  template <class C>
  static const C* transposed_values(const E&, const C* vals, aligned_array<C>&) {
    return vals;  // rows read transposed: no reordering
  }
  template <class C>
  static void transposed(const E& e, const C* v, const C* G, C* D, index_t v0, index_t v1) {
    impl::transposed(e, v, G, D, v0, v1, detail::identity_row{});
  }
  template <class C>
  static void sampled(const E& e, const C* G, index_t ldg, const C* B, index_t ldb, index_t n,
                      C* dv, index_t u0, index_t u1) {
    impl::sampled(e, G, ldg, B, ldb, n, dv, u0, u1, detail::identity_row{});
  }
};

template <>
struct layout_kernel<channel> {
  using E = channel_entity;
  struct kept_row {
    const index_list* rows;
    index_t operator()(index_t i) const { return (*rows)[i]; }
  };
  using impl = detail::dense_rows_kernel<E, kept_row>;
  static constexpr bool uses_column_map = false;
  static constexpr kernel_names names{"channel: kept rows, shared-row register tile over all of K",
                                      "channel: kept rows read transposed",
                                      "channel: register dot tiles"};
  /// Units are stored (kept) rows; acc and G rows stay logical.
  static index_t units(const E& e) { return e.rows().size(); }
  static index_t padded_rows(const E& e) { return e.logical_shape().rows; }
  static index_t t_units(const E& e) { return e.logical_shape().cols; }
  template <class C>
  static void forward(const E& e, const C* v, const C* B, index_t ldb, C* acc, index_t u0,
                      index_t u1) {
    impl::forward(e, v, B, ldb, acc, u0, u1, kept_row{&e.rows()});
  }
  template <class C>
  static const C* transposed_values(const E&, const C* vals, aligned_array<C>&) {
    return vals;  // rows read transposed: no reordering
  }
  template <class C>
  static void transposed(const E& e, const C* v, const C* G, C* D, index_t v0, index_t v1) {
    impl::transposed(e, v, G, D, v0, v1, kept_row{&e.rows()});
  }
  template <class C>
  static void sampled(const E& e, const C* G, index_t ldg, const C* B, index_t ldb, index_t n,
                      C* dv, index_t u0, index_t u1) {
    impl::sampled(e, G, ldg, B, ldb, n, dv, u0, u1, kept_row{&e.rows()});
  }
};

}  // namespace stco::kernel::cpu
