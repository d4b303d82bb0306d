// stco/kernel/cuda/gather_tc/transposed_views.cuh — the weight seen column-wise, for dX = Wᵀ·dZ
// through the gathered GEMM: a column tile of K is an output tile, and its reduction runs over the
// rows of W that hold values in those columns.
//
// A transposed view answers, for column tile `mt`:
//   kcount(s)      reduction positions (rows of W, with their block structure);
//   z_row(s, q)    the row of dZ for position q (−1: zero);
//   value(s, m, q) where Wᵀ(column m of the tile, position q) sits in the values (−1: zero); 8
//                  consecutive m are adjacent (M-contiguous) when chunked();
//   out_k(s, m)    the row of dX (a column of W), −1 beyond K.
#pragma once

#include <cstdint>

#include "stco/core/index.hpp"

namespace stco::kernel::cuda::gather_tc {

/// dense (rows == nullptr) and channel: values [kr, K] row-major; position q is kept row q.
template <int BM, class Row>
struct rows_t_view {
  static constexpr int tile_rows = BM;
  const Row* rows;
  index_t kr, R, K;
  struct state {
    index_t k0;
  };
  __host__ __device__ index_t col_tiles() const { return (K + BM - 1) / BM; }
  bool chunked() const { return K % 8 == 0; }
  /// z_row(q .. q + 7) are consecutive rows for q a multiple of 8.
  bool z_runs8() const { return rows == nullptr; }
  /// A conv's column tiles may start anywhere (the columns past a tap are not written).
  bool conv_ok(index_t) const { return true; }
  __device__ state begin(int mt) const { return {static_cast<index_t>(mt) * BM}; }
  /// The column tile starting at column k0.
  __device__ state at(index_t k0) const { return {k0}; }
  __device__ int kcount(const state&) const { return static_cast<int>(kr); }
  __device__ index_t z_row(const state&, int q) const {
    if (q >= kr) return -1;
    return rows ? static_cast<index_t>(rows[q]) : q;
  }
  __device__ index_t value(const state& s, int m, int q) const {
    return q < kr && s.k0 + m < K ? static_cast<index_t>(q) * K + s.k0 + m : -1;
  }
  __device__ index_t out_k(const state& s, int m) const {
    return m < BM && s.k0 + m < K ? s.k0 + m : -1;
  }
};

/// block<BR, BC> by block-columns (a CSC over blocks, derived once per entity): column tile j
/// reduces over its blocks × BR rows; position q is row q % BR of the (q / BR)-th block.
template <int BR, int BC, class Idx>
struct block_t_view {
  static constexpr int tile_rows = BC < 16 ? 16 : BC;
  const Idx* col_ptr;   // block-columns + 1
  const Idx* col_blk;   // nnzb: block index p in BSR order
  const Idx* col_brow;  // nnzb: its block-row
  index_t R, K;
  struct state {
    index_t c0;
    int nb, j;
  };
  __host__ __device__ index_t col_tiles() const { return (K + BC - 1) / BC; }
  bool chunked() const { return BC % 8 == 0; }
  bool z_runs8() const { return BR % 8 == 0; }
  /// A conv tap's channel tiles must be whole block-columns.
  bool conv_ok(index_t in_c) const { return BC % 16 == 0 && in_c % BC == 0; }
  __device__ state begin(int j) const {
    return {static_cast<index_t>(col_ptr[j]), static_cast<int>(col_ptr[j + 1] - col_ptr[j]), j};
  }
  /// The block-column holding column k0 (a multiple of BC).
  __device__ state at(index_t k0) const { return begin(static_cast<int>(k0 / BC)); }
  __device__ int kcount(const state& s) const { return s.nb * BR; }
  __device__ index_t z_row(const state& s, int q) const {
    if (q >= s.nb * BR) return -1;
    const index_t r = static_cast<index_t>(col_brow[s.c0 + q / BR]) * BR + q % BR;
    return r < R ? r : -1;
  }
  __device__ index_t value(const state& s, int m, int q) const {
    if (q >= s.nb * BR || m >= BC) return -1;
    return (static_cast<index_t>(col_blk[s.c0 + q / BR]) * BR + q % BR) * BC + m;
  }
  __device__ index_t out_k(const state& s, int m) const {
    const index_t k = static_cast<index_t>(s.j) * BC + m;
    return m < BC && k < K ? k : -1;
  }
};

}  // namespace stco::kernel::cuda::gather_tc
