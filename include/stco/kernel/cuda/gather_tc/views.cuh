// stco/kernel/cuda/gather_tc/views.cuh — what the tile tensor-core kernels need to know of a
// layout, as raw device pointers: the weight seen as row tiles, each a dense [rows × kept
// positions] panel over a gathered list of K-columns.
//
// A view answers, for row tile `mt` (a `state` from begin()):
//   kcount(s)        kept positions of the tile (the reduction length of its dense product);
//   k_index(s, q)    the K-column of position q, or −1 for padding (its X row reads as zero);
//   row(s, m)        the output row of tile row m, or −1 beyond R / for a removed channel;
//   value(s, m, q)   where W(row m, position q) sits in the values (−1: no value, reads as zero).
// `a_kcontig` says which way 8 consecutive values are contiguous: along q (true) or along m.
// runs8(): positions come in 8-aligned runs of 8 consecutive K-columns (a conv then gathers 16
// bytes of one pixel's channels at a time); contiguous_rows(): tile row m is row base + m.
// Values are the host's compressed order untouched; the only derived arrays are the int32 tile
// pointers, tile_vector's group pointers and channel's removed-row list (index-only, once per
// entity).
#pragma once

#include <cstdint>

#include "stco/core/index.hpp"

namespace stco::kernel::cuda::gather_tc {

/// tile_wise<T>: tile t = rows [t·T, t·T + T); values k-major, (ptr[t] + q)·T + m.
template <int T, class Col>
struct tile_wise_view {
  static constexpr int tile_rows = T;
  static constexpr bool a_kcontig = false, expands = false;
  const int* ptr;   // tiles + 1
  const Col* cols;  // Σ k_t, sorted per tile
  index_t R, K;

  struct state {
    index_t base;
    int kc, t;
  };
  __host__ __device__ index_t row_tiles() const { return (R + T - 1) / T; }
  /// 8 values along the contiguous direction are adjacent and inside the panel.
  bool chunked() const { return T % 8 == 0; }
  bool runs8() const { return false; }
  bool contiguous_rows() const { return true; }
  __device__ state begin(int t) const { return {ptr[t], ptr[t + 1] - ptr[t], t}; }
  __device__ int kcount(const state& s) const { return s.kc; }
  __device__ index_t k_index(const state& s, int q) const {
    return q < s.kc ? static_cast<index_t>(cols[s.base + q]) : -1;
  }
  __device__ index_t row(const state& s, int m) const {
    const index_t r = static_cast<index_t>(s.t) * T + m;
    return m < T && r < R ? r : -1;
  }
  __device__ index_t value(const state& s, int m, int q) const {
    return q < s.kc && m < T ? (s.base + q) * T + m : -1;
  }
};

/// tile_vector<T, N, M>: tile_wise<T> column lists, then N:M inside each group of M kept
/// positions. Values of tile t: (gptr[t]·N + g·N + s)·T + m with an offset field per value; the
/// kernels expand a group to its M positions (zeros elsewhere) in shared memory.
template <int T, int N, int M, class Col>
struct tile_vector_view {
  static constexpr int tile_rows = T, n = N, m = M;
  static constexpr int bits = M <= 2 ? 1 : M <= 4 ? 2 : M <= 8 ? 3 : 4;
  static constexpr bool a_kcontig = false, expands = true;
  const int* ptr;                // tiles + 1
  const Col* cols;               // Σ k_t
  const int* gptr;               // tiles + 1: prefix of ⌈k_t / M⌉ (derived)
  const std::uint32_t* offsets;  // packed offset fields, one per value
  index_t R, K;
  // Host side, for the per-call expansion to tile_wise panels (ws_tile_vector.cuh): Σ k_t and
  // the largest ⌈k_t / M⌉.
  index_t columns, max_groups;

  struct state {
    index_t base, vbase;  // first column slot; first value row (in units of T values)
    int kc, t;
  };
  __host__ __device__ index_t row_tiles() const { return (R + T - 1) / T; }
  bool chunked() const { return T % 8 == 0; }
  bool runs8() const { return false; }
  bool contiguous_rows() const { return true; }
  __device__ state begin(int t) const {
    return {ptr[t], static_cast<index_t>(gptr[t]) * N, ptr[t + 1] - ptr[t], t};
  }
  /// Padded to whole groups: positions ≥ k_t hold zeros.
  __device__ int kcount(const state& s) const { return (s.kc + M - 1) / M * M; }
  __device__ index_t k_index(const state& s, int q) const {
    return q < s.kc ? static_cast<index_t>(cols[s.base + q]) : -1;
  }
  __device__ index_t row(const state& s, int mm) const {
    const index_t r = static_cast<index_t>(s.t) * T + mm;
    return mm < T && r < R ? r : -1;
  }
  /// Offset fields [i, i + 8) (i a multiple of 8), packed `bits` each, least significant first.
  __device__ std::uint32_t offsets8(index_t i) const {
    const index_t bit = i * bits;
    const index_t w = bit >> 5;
    const unsigned sh = static_cast<unsigned>(bit & 31);
    std::uint64_t v = offsets[w];
    if (sh + 8 * bits > 32) v |= static_cast<std::uint64_t>(offsets[w + 1]) << 32;
    return static_cast<std::uint32_t>(v >> sh);
  }
  /// Value index of (group g, slot j, tile row m).
  __device__ index_t slot_value(const state& s, int g, int j, int mm) const {
    return (s.vbase + static_cast<index_t>(g) * N + j) * T + mm;
  }
};

/// block<BR, BC>: block-row br holds blocks p ∈ [row_ptr[br], row_ptr[br+1]), block p row-major
/// at p·BR·BC; position q of the block-row is column bcol[p0 + q/BC]·BC + q%BC.
template <int BR, int BC, class Col>
struct block_view {
  static constexpr int tile_rows = BR;
  static constexpr bool a_kcontig = true, expands = false;
  const int* row_ptr;  // block-rows + 1
  const Col* bcols;    // nnzb
  index_t R, K;

  struct state {
    index_t p0;
    int nb, br;
  };
  __host__ __device__ index_t row_tiles() const { return (R + BR - 1) / BR; }
  bool chunked() const { return BC % 8 == 0; }
  bool runs8() const { return BC % 8 == 0; }
  bool contiguous_rows() const { return true; }
  __device__ state begin(int br) const { return {row_ptr[br], row_ptr[br + 1] - row_ptr[br], br}; }
  __device__ int kcount(const state& s) const { return s.nb * BC; }
  __device__ index_t k_index(const state& s, int q) const {
    if (q >= s.nb * BC) return -1;
    const index_t k = static_cast<index_t>(bcols[s.p0 + q / BC]) * BC + q % BC;
    return k < K ? k : -1;
  }
  __device__ index_t row(const state& s, int m) const {
    const index_t r = static_cast<index_t>(s.br) * BR + m;
    return m < BR && r < R ? r : -1;
  }
  __device__ index_t value(const state& s, int m, int q) const {
    return q < s.nb * BC && m < BR ? ((s.p0 + q / BC) * BR + m) * BC + q % BC : -1;
  }
};

/// channel (kept rows, values [kr, K] row-major) in row tiles of BM kept rows; `rows == nullptr`
/// is the dense layout (every row kept, values = W).
template <int BM, class Row>
struct rows_view {
  static constexpr int tile_rows = BM;
  static constexpr bool a_kcontig = true, expands = false;
  const Row* rows;     // kept rows, or nullptr for dense
  const Row* removed;  // rows not kept (derived), or nullptr
  index_t kr, R, K;

  struct state {
    int mt;
  };
  __host__ __device__ index_t row_tiles() const { return (kr + BM - 1) / BM; }
  bool chunked() const { return K % 8 == 0; }
  bool runs8() const { return true; }
  bool contiguous_rows() const { return rows == nullptr; }
  __device__ state begin(int mt) const { return {mt}; }
  __device__ int kcount(const state&) const { return static_cast<int>(K); }
  __device__ index_t k_index(const state&, int q) const { return q < K ? q : -1; }
  __device__ index_t row(const state& s, int m) const {
    const index_t i = static_cast<index_t>(s.mt) * BM + m;
    if (m >= BM || i >= kr) return -1;
    return rows ? static_cast<index_t>(rows[i]) : i;
  }
  __device__ index_t value(const state& s, int m, int q) const {
    const index_t i = static_cast<index_t>(s.mt) * BM + m;
    return m < BM && i < kr && q < K ? i * K + q : -1;
  }
};

}  // namespace stco::kernel::cuda::gather_tc
