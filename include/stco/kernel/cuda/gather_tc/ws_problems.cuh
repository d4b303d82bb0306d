// stco/kernel/cuda/gather_tc/ws_problems.cuh — the GEMMs the tile layouts run on the Hopper
// mainloop (ws_kernel.cuh): what each work unit loads, which rows it gathers, and where its
// outputs go. Index lists are device pointers; values travel as 16-bit bits.
//
//   problem       unit (BM × BN)          A (BM × k)                  B (k × BN)
//   fwd_tiles<T>  tile t × 256 columns    values panel, MN-major      X rows cols_t[q], gathered
//   fwd_rows      128 kept rows × 256     W rows, K-major             X rows, MN-major box
//   dw_tiles<T>   tile t × 256 slots      dZ rows of t, K-major       X rows cols_t[q], gathered
//   dw_rows       128 kept rows × 256 K   dZ kept rows (gathered)     X rows, K-major box
//   dx_tiles<T>   128 K-rows × 256        values rows inv[t][k]       dZ rows of t, MN-major
//   dx_rows       128 K-rows × 256        W kept rows, MN-major       dZ kept rows (gathered)
// Wired (ws_launch.cuh): fwd_tiles<128>, fwd_rows, dw_tiles<128> and dx_tiles<128> (dZ formed
// first by form_dz, dz_memo.cuh). dw_rows and dx_rows are written against the same contract but not
// wired or tested yet. (rows: channel gathers its kept rows; dense, Gather = false, loads boxes.)
// dx_tiles reduces over every tile's rows with A rows zero where a tile drops the column (the dense
// amount of work, no atomics); dw_tiles writes each tile's slots k-major as the layout stores them.
#pragma once

#include <cstdint>

#include "stco/core/index.hpp"
#include "stco/kernel/cuda/gather_tc/tc_value.cuh"
#include "stco/kernel/cuda/gather_tc/ws_kernel.cuh"

namespace stco::kernel::cuda::gather_tc::ws {

/// What a unit needs to know (all problems use the same record).
struct unit_t {
  int ksteps, base, kc;
  index_t mt, nt;
};

/// Fields every problem carries (see ws_kernel.cuh).
struct problem_base {
  index_t tiles_m = 0, tiles_n = 0, group = GROUP;
  gather mode = gather::cp_async;
  rows_src ga{}, gb{};
  int a_ext = 0, b_ext = 0;
};

/// Y[row, col .. col+7] = chain(v), the activation inputs to stash (16-byte stores).
template <class V, class Chain>
__device__ __forceinline__ void store8_chain(const Chain& chain, std::uint16_t* y, float* stash,
                                             index_t N, index_t row, index_t col,
                                             const float (&v)[8]) {
  const index_t pos = row * N + col;
  float a[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  std::uint32_t w[4];
#pragma unroll
  for (int e = 0; e < 8; e += 2) {
    const float y0 = chain.apply(v[e], row, pos + e, &a[e]);
    const float y1 = chain.apply(v[e + 1], row, pos + e + 1, &a[e + 1]);
    w[e / 2] = tc_value<V>::pack(y0, y1);
  }
  *reinterpret_cast<uint4*>(y + pos) = make_uint4(w[0], w[1], w[2], w[3]);
  if constexpr (Chain::has_activation)
    if (stash) {
      *reinterpret_cast<float4*>(stash + pos) = make_float4(a[0], a[1], a[2], a[3]);
      *reinterpret_cast<float4*>(stash + pos + 4) = make_float4(a[4], a[5], a[6], a[7]);
    }
}
/// out[at .. at+7] = scale · v (16-byte store).
template <class V>
__device__ __forceinline__ void store8_scaled(std::uint16_t* out, float scale,
                                              const float (&v)[8]) {
  *reinterpret_cast<uint4*>(out) = make_uint4(
      tc_value<V>::pack(scale * v[0], scale * v[1]), tc_value<V>::pack(scale * v[2], scale * v[3]),
      tc_value<V>::pack(scale * v[4], scale * v[5]), tc_value<V>::pack(scale * v[6], scale * v[7]));
}

/// Forward of tile_wise<T>: Y[t·T + m, n] = chain(Σ_q values_t[q, m] · X[cols_t[q], n]).
template <int T, class Col, class V, class Chain>
struct fwd_tiles : problem_base {
  using shape_t = shape<T, 256>;
  static constexpr operand a_op = operand::box_mn, b_op = operand::rows_mn;
  static constexpr bool bf16 = tc_value<V>::bf16, vec8 = true;
  const int* ptr;
  const Col* cols;
  index_t R, N;
  std::uint16_t* y;
  float* stash;
  Chain chain;

  __device__ unit_t unit(index_t mt, index_t nt) const {
    const int b = ptr[mt], kc = ptr[mt + 1] - b;
    return {(kc + BK - 1) / BK, b, kc, mt, nt};
  }
  __device__ void a_coord(const unit_t& w, int kt, int& c0, int& c1) const {
    c0 = 0, c1 = w.base + kt * BK;
  }
  __device__ int a_row(const unit_t&, int, int) const { return -1; }
  __device__ void b_coord(const unit_t& w, int, int& c0, int& c1) const {
    c0 = static_cast<int>(w.nt * 256), c1 = 0;
  }
  __device__ int b_row(const unit_t& w, int kt, int r) const {
    const int q = kt * BK + r;
    return q < w.kc ? static_cast<int>(cols[w.base + q]) : -1;
  }
  __device__ void put8(const unit_t& w, int m, int n, const float (&v)[8]) const {
    const index_t row = w.mt * T + m, col = w.nt * 256 + n;
    if (row < R && col < N) store8_chain<V>(chain, y, stash, N, row, col, v);
  }
  __device__ void put2(const unit_t&, int, int, float, float) const {}
};

/// Forward of channel (Gather: kept rows `rows`) and dense: Y[rows[i], n] = chain(W_i · X).
template <bool Gather, class V, class Chain>
struct fwd_rows : problem_base {
  using shape_t = shape<128, 256>;
  static constexpr operand a_op = operand::box_k, b_op = operand::box_mn;
  static constexpr bool bf16 = tc_value<V>::bf16, vec8 = true;
  const int* rows;
  index_t kr, K, N;
  std::uint16_t* y;
  float* stash;
  Chain chain;

  __device__ unit_t unit(index_t mt, index_t nt) const {
    return {static_cast<int>((K + BK - 1) / BK), 0, 0, mt, nt};
  }
  __device__ void a_coord(const unit_t& w, int kt, int& c0, int& c1) const {
    c0 = kt * BK, c1 = static_cast<int>(w.mt * 128);
  }
  __device__ int a_row(const unit_t&, int, int) const { return -1; }
  __device__ void b_coord(const unit_t& w, int kt, int& c0, int& c1) const {
    c0 = static_cast<int>(w.nt * 256), c1 = kt * BK;
  }
  __device__ int b_row(const unit_t&, int, int) const { return -1; }
  __device__ void put8(const unit_t& w, int m, int n, const float (&v)[8]) const {
    const index_t i = w.mt * 128 + m, col = w.nt * 256 + n;
    if (i >= kr || col >= N) return;
    const index_t row = Gather ? static_cast<index_t>(rows[i]) : i;
    store8_chain<V>(chain, y, stash, N, row, col, v);
  }
  __device__ void put2(const unit_t&, int, int, float, float) const {}
};

/// dW of tile_wise<T> at its slots: dW[(ptr[t] + q)·T + m] = scale · Σ_n dZ[t·T + m, n] ·
/// X[cols_t[q], n]; units over (tile, 256 slots), the reduction over N.
template <int T, class Col, class V>
struct dw_tiles : problem_base {
  using shape_t = shape<T, 256>;
  static constexpr operand a_op = operand::box_k, b_op = operand::rows_k;
  static constexpr bool bf16 = tc_value<V>::bf16, vec8 = false;
  const int* ptr;
  const Col* cols;
  index_t N;
  std::uint16_t* dw;
  float scale;

  __device__ unit_t unit(index_t mt, index_t nt) const {
    const int b = ptr[mt], kc = ptr[mt + 1] - b;
    const int steps = nt * 256 < kc ? static_cast<int>((N + BK - 1) / BK) : 0;
    return {steps, b, kc, mt, nt};
  }
  __device__ void a_coord(const unit_t& w, int kt, int& c0, int& c1) const {
    c0 = kt * BK, c1 = static_cast<int>(w.mt * T);
  }
  __device__ int a_row(const unit_t&, int, int) const { return -1; }
  __device__ void b_coord(const unit_t&, int kt, int& c0, int& c1) const { c0 = kt * BK, c1 = 0; }
  __device__ int b_row(const unit_t& w, int, int r) const {
    const int q = static_cast<int>(w.nt * 256) + r;
    return q < w.kc ? static_cast<int>(cols[w.base + q]) : -1;
  }
  __device__ void put8(const unit_t&, int, int, const float (&)[8]) const {}
  __device__ void put2(const unit_t& w, int m, int n, float v0, float v1) const {
    const int q = static_cast<int>(w.nt * 256) + n;
    if (q < w.kc)
      dw[(static_cast<index_t>(w.base) + q) * T + m] = tc_value<V>::from_float(scale * v0);
    if (q + 1 < w.kc)
      dw[(static_cast<index_t>(w.base) + q + 1) * T + m] = tc_value<V>::from_float(scale * v1);
  }
};

/// dW of channel (Gather) and dense: dW[i, k] = scale · Σ_n dZ[rows[i], n] · X[k, n].
template <bool Gather, class V>
struct dw_rows : problem_base {
  using shape_t = shape<128, 256>;
  static constexpr operand a_op = Gather ? operand::rows_k : operand::box_k, b_op = operand::box_k;
  static constexpr bool bf16 = tc_value<V>::bf16, vec8 = true;
  const int* rows;
  index_t kr, K, N;
  std::uint16_t* dw;
  float scale;

  __device__ unit_t unit(index_t mt, index_t nt) const {
    return {static_cast<int>((N + BK - 1) / BK), 0, 0, mt, nt};
  }
  __device__ void a_coord(const unit_t& w, int kt, int& c0, int& c1) const {
    c0 = kt * BK, c1 = static_cast<int>(w.mt * 128);
  }
  __device__ int a_row(const unit_t& w, int, int r) const {
    const index_t i = w.mt * 128 + r;
    return i < kr ? rows[i] : -1;
  }
  __device__ void b_coord(const unit_t& w, int kt, int& c0, int& c1) const {
    c0 = kt * BK, c1 = static_cast<int>(w.nt * 256);
  }
  __device__ int b_row(const unit_t&, int, int) const { return -1; }
  __device__ void put8(const unit_t& w, int m, int n, const float (&v)[8]) const {
    const index_t i = w.mt * 128 + m, k = w.nt * 256 + n;
    if (i < kr && k < K) store8_scaled<V>(dw + i * K + k, scale, v);
  }
  __device__ void put2(const unit_t&, int, int, float, float) const {}
};

/// dX of tile_wise<T>: dX[k, n] = scale · Σ_t Σ_m values_t[q_t(k), m] · dZ[t·T + m, n], the
/// A rows gathered through inv[t·K + k] (the slot of k in tile t, or −1). k-step c covers the
/// rows 64c .. 64c + 63 of W (tile 64c / T).
template <int T, class V>
struct dx_tiles : problem_base {
  using shape_t = shape<128, 256>;
  static constexpr operand a_op = operand::rows_k, b_op = operand::box_mn;
  static constexpr bool bf16 = tc_value<V>::bf16, vec8 = true;
  const int* inv;
  index_t K, R, N;
  std::uint16_t* dx;
  float scale;

  __device__ unit_t unit(index_t mt, index_t nt) const {
    return {static_cast<int>((R + BK - 1) / BK), 0, 0, mt, nt};
  }
  __device__ void a_coord(const unit_t&, int kt, int& c0, int& c1) const {
    c0 = (kt % (T / BK)) * BK, c1 = 0;
  }
  __device__ int a_row(const unit_t& w, int kt, int r) const {
    const index_t k = w.mt * 128 + r, t = (static_cast<index_t>(kt) * BK) / T;
    return k < K ? inv[t * K + k] : -1;
  }
  __device__ void b_coord(const unit_t& w, int kt, int& c0, int& c1) const {
    c0 = static_cast<int>(w.nt * 256), c1 = kt * BK;
  }
  __device__ int b_row(const unit_t&, int, int) const { return -1; }
  __device__ void put8(const unit_t& w, int m, int n, const float (&v)[8]) const {
    const index_t k = w.mt * 128 + m, col = w.nt * 256 + n;
    if (k < K && col < N) store8_scaled<V>(dx + k * N + col, scale, v);
  }
  __device__ void put2(const unit_t&, int, int, float, float) const {}
};

/// dX of channel (Gather) and dense: dX[k, n] = scale · Σ_i W[i, k] · dZ[rows[i], n].
template <bool Gather, class V>
struct dx_rows : problem_base {
  using shape_t = shape<128, 256>;
  static constexpr operand a_op = operand::box_mn,
                           b_op = Gather ? operand::rows_mn : operand::box_mn;
  static constexpr bool bf16 = tc_value<V>::bf16, vec8 = true;
  const int* rows;
  index_t kr, K, N;
  std::uint16_t* dx;
  float scale;

  __device__ unit_t unit(index_t mt, index_t nt) const {
    return {static_cast<int>((kr + BK - 1) / BK), 0, 0, mt, nt};
  }
  __device__ void a_coord(const unit_t& w, int kt, int& c0, int& c1) const {
    c0 = static_cast<int>(w.mt * 128), c1 = kt * BK;
  }
  __device__ int a_row(const unit_t&, int, int) const { return -1; }
  __device__ void b_coord(const unit_t& w, int kt, int& c0, int& c1) const {
    c0 = static_cast<int>(w.nt * 256), c1 = kt * BK;
  }
  __device__ int b_row(const unit_t&, int kt, int r) const {
    const index_t i = static_cast<index_t>(kt) * BK + r;
    return i < kr ? rows[i] : -1;
  }
  __device__ void put8(const unit_t& w, int m, int n, const float (&v)[8]) const {
    const index_t k = w.mt * 128 + m, col = w.nt * 256 + n;
    if (k < K && col < N) store8_scaled<V>(dx + k * N + col, scale, v);
  }
  __device__ void put2(const unit_t&, int, int, float, float) const {}
};

}  // namespace stco::kernel::cuda::gather_tc::ws
