// stco/kernel/cuda/gather_tc/ws_launch.cuh — the host side of the Hopper warp-specialized mainloop
// (ws_kernel.cuh): the run-time switch, the TMA maps, the persistent grid, the forward of
// tile_wise<128> (fwd_tiles) and of channel / dense (fwd_rows), and the dW (dw_tiles) and dX
// (dx_tiles) of tile_wise<128> routed through it (tile_vector<128, N, M> joins them through
// ws_tile_vector.cuh).
//
// ws_forward(view, ...) returns false when the call does not fit the kernel (switch off, no
// sm_90a code on the device, tile height other than 128, N or K not a multiple of 8,
// operands not 16-byte aligned); the caller then runs the gathered-GEMM kernel (gemm_kernel.cuh).
#pragma once

#include <cuda.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "stco/core/cuda/check.cuh"
#include "stco/core/cuda/stream.cuh"
#include "stco/core/error.hpp"
#include "stco/expr/epilogue.hpp"
#include "stco/kernel/cuda/arch/device.cuh"
#include "stco/kernel/cuda/arch/tensor_map.cuh"
#include "stco/kernel/cuda/dz_memo.cuh"
#include "stco/kernel/cuda/gather_tc/device_maps.cuh"
#include "stco/kernel/cuda/gather_tc/launch.cuh"
#include "stco/kernel/cuda/gather_tc/matmul_forward.cuh"
#include "stco/kernel/cuda/gather_tc/views.cuh"
#include "stco/kernel/cuda/gather_tc/wgmma_sm90.cuh"
#include "stco/kernel/cuda/gather_tc/ws_problems.cuh"

namespace stco::kernel::cuda::gather_tc {

/// Whether the warp-specialized kernel may run under options `o`: asked for, and the wgmma
/// mainloop available (sm_90a code on an sm_90 device).
inline bool use_ws(const stco::cuda::options& o) {
  return o.gather_tc.warp_specialized && use_wgmma(o);
}

namespace ws {

/// A TMA map of a row-major [rows, cols] 16-bit matrix (pitch elements a row) in boxes of
/// box_rows × 64 with the 128-byte swizzle.
inline CUtensorMap map16(const void* base, index_t rows, index_t cols, index_t pitch,
                         int box_rows) {
  return arch::make_tensor_map_2d(
      base, static_cast<std::uint64_t>(rows), static_cast<std::uint64_t>(cols),
      static_cast<std::uint64_t>(pitch), 2, static_cast<std::uint32_t>(box_rows), 64,
      CU_TENSOR_MAP_SWIZZLE_128B);
}

/// The gather copy a call's options ask for.
inline gather gather_of(const stco::cuda::options& o) {
  return o.gather_tc.gather == stco::cuda::options::gather_tc_tuning::copy::tma_rows
             ? gather::tma_rows
             : gather::cp_async;
}

template <class P>
void launch(P p, const CUtensorMap& map_a, const CUtensorMap& map_b, const stco::cuda::stream& s) {
  using S = typename P::shape_t;
  const auto& o = s.options().gather_tc;
  if (o.group > 0) p.group = o.group;
  auto* kernel = &ws_kernel<P>;
  allow_smem(kernel, S::smem_bytes);
  const index_t units = p.tiles_m * p.tiles_n;
  index_t ctas = std::min<index_t>(units, arch::sm_count());
  if (o.grid_limit > 0) ctas = std::min<index_t>(ctas, o.grid_limit);
  if (ctas <= 0) return;
  kernel<<<static_cast<unsigned>(ctas), THREADS, S::smem_bytes, s.get()>>>(map_a, map_b, p);
  STCO_CUDA_CHECK(cudaGetLastError());
}

inline bool aligned_all(const void* a, const void* b, const void* c, const void* d) {
  return aligned16(a) && aligned16(b) && aligned16(c) && (d == nullptr || aligned16(d));
}

/// The 16-bit dZ [R, N] of a gradient: dY itself when the chain is empty, else formed by
/// form_dz into the gradient's memo (once for its wrt() calls) or, without one, into a buffer
/// freed in stream order.
template <class V, class Chain>
class dz_buffer {
 public:
  dz_buffer(const V* dy, const float* act, index_t R, index_t N, const Chain& chain, cudaStream_t s,
            dz_memo* memo) {
    if constexpr (std::is_same_v<Chain, ::stco::chain<>>) {
      (void)act, (void)R, (void)N, (void)chain, (void)s, (void)memo;
      p_ = reinterpret_cast<const std::uint16_t*>(dy);
    } else {
      const stco::cuda::stream st(s);
      p_ = reinterpret_cast<const std::uint16_t*>(form_dz(dy, act, R, N, chain, st, memo, [&] {
        own_ = stco::cuda::device_buffer<V>(R * N, st, stco::cuda::uninitialized);
        return own_.data();
      }));
    }
  }
  const std::uint16_t* get() const { return p_; }

 private:
  const std::uint16_t* p_ = nullptr;
  stco::cuda::device_buffer<V> own_;
};

/// Whether the tile_wise<128> forward takes the call, the values aside (stash: null without an
/// activation).
template <class Col>
bool forward_fits(const tile_wise_view<128, Col>& w, const void* X, const void* Y, index_t N,
                  const float* stash, const stco::cuda::options& o) {
  return use_ws(o) && w.row_tiles() > 0 && N > 0 && N % 8 == 0 && aligned_all(X, Y, stash, nullptr);
}

/// Whether the tile_wise<128> dW takes the call (act: null without an activation). One unit per
/// (tile, 256 slots) and no split of the reduction: with fewer units than half the SMs (layers
/// of R ≤ 256 rows with N in the millions) the gathered-GEMM kernel, which splits N and sums in
/// fp32, is the one that fills the GPU.
template <class Chain, class Col>
bool grad_w_fits(const tile_wise_view<128, Col>& w, index_t max_kc, const void* X, const void* dY,
                 const float* act, const void* dW, index_t N, const stco::cuda::options& o) {
  const index_t units = w.row_tiles() * ceil_div(max_kc, index_t{256});
  const int min = o.gather_tc.grad_w_min_units;
  const index_t min_units = min >= 0 ? min : arch::sm_count() / 2;
  return use_ws(o) && w.row_tiles() > 0 && N > 0 && N % 8 == 0 && max_kc > 0 &&
         units >= min_units && (!Chain::has_activation || act != nullptr) &&
         aligned_all(X, dY, dW, act);
}

/// Whether the tile_wise<128> dX takes the call, the values aside.
template <class Chain, class Col>
bool grad_x_fits(const tile_wise_view<128, Col>& w, const void* dY, const float* act,
                 const void* dX, index_t N, const stco::cuda::options& o) {
  return use_ws(o) && w.row_tiles() > 0 && w.K > 0 && N > 0 && N % 8 == 0 &&
         (!Chain::has_activation || act != nullptr) && aligned_all(dY, dX, act, nullptr);
}

}  // namespace ws

/// Whether the warp-specialized forward takes the call (layouts it has no form for: never).
template <class Chain, class View, class V>
bool ws_forward_fits(const View&, index_t, const V*, const V*, const V*, index_t, const float*,
                     const stco::cuda::options&) {
  return false;
}
template <class Chain, class Col, class V>
bool ws_forward_fits(const tile_wise_view<128, Col>& w, index_t value_count, const V* vals,
                     const V* X, const V* Y, index_t N, const float* stash,
                     const stco::cuda::options& o) {
  const float* st = Chain::has_activation ? stash : nullptr;
  return ws::forward_fits(w, X, Y, N, st, o) && value_count > 0 && aligned16(vals);
}
template <class Chain, int BM, class Row, class V>
bool ws_forward_fits(const rows_view<BM, Row>& w, index_t, const V* vals, const V* X, const V* Y,
                     index_t N, const float* stash, const stco::cuda::options& o) {
  const float* st = Chain::has_activation ? stash : nullptr;
  return use_ws(o) && w.kr > 0 && N > 0 && w.K > 0 && N % 8 == 0 && w.K % 8 == 0 &&
         ws::aligned_all(vals, X, Y, st);
}

/// Runs the warp-specialized forward; the caller has checked ws_forward_fits.
template <class View, class V, class Chain>
void ws_forward(const View&, index_t, const V*, const V*, V*, index_t, const Chain&, float*,
                const stco::cuda::stream&) {
  throw argument_error(
      "stco gather_tc: a warp-specialized route for a layout without that kernel (planner bug)");
}

/// tile_wise<T>: A = the tile's value panel by TMA (MN-major), B = the kept rows of X gathered.
/// Routed for T = 128 only: fwd_tiles<64> (two 64 × 128 consumer halves) measured slower than
/// the gathered-GEMM kernel on the H100 (8192³, 75 %: 1821 µs against 1458 µs).
template <class Col, class V, class Chain>
void ws_forward(const tile_wise_view<128, Col>& w, index_t value_count, const V* vals, const V* X,
                V* Y, index_t N, const Chain& chain, float* stash, const stco::cuda::stream& s) {
  constexpr int T = 128;
  float* st = Chain::has_activation ? stash : nullptr;
  const index_t tiles = w.row_tiles();
  using P = ws::fwd_tiles<T, Col, V, Chain>;
  P p{};
  p.tiles_m = tiles;
  p.tiles_n = ceil_div(N, index_t{256});
  // Column tile by column tile over (up to) 64 row tiles: the X rows of a column slice stay in
  // L2 while every tile gathers from them (H100 8192³ 75 %: 1176 → 985 µs against groups of 16).
  p.group = 64;
  p.mode = ws::gather_of(s.options());
  p.gb = ws::rows_src{reinterpret_cast<const std::uint16_t*>(X), N, static_cast<int>(N)};
  p.a_ext = T;
  p.b_ext = static_cast<int>(N);
  p.ptr = w.ptr;
  p.cols = w.cols;
  p.R = w.R;
  p.N = N;
  p.y = reinterpret_cast<std::uint16_t*>(Y);
  p.stash = st;
  p.chain = chain;
  const CUtensorMap ma = ws::map16(vals, value_count / T, T, T, 64);
  const CUtensorMap mb =
      p.mode == ws::gather::tma_rows ? ws::map16(X, w.K, N, N, 1) : CUtensorMap{};
  ws::launch(p, ma, mb, s);
}

/// Whether the warp-specialized dW takes the call (layouts it has no form for: never).
template <class Chain, class View, class V>
bool ws_grad_w_fits(const View&, index_t, index_t, const V*, const V*, const float*, const V*,
                    index_t, const stco::cuda::options&) {
  return false;
}
template <class Chain, class Col, class V>
bool ws_grad_w_fits(const tile_wise_view<128, Col>& w, index_t max_kc, index_t value_count,
                    const V* X, const V* dY, const float* z, const V* dW, index_t N,
                    const stco::cuda::options& o) {
  const float* act = Chain::has_activation ? z : nullptr;
  return ws::grad_w_fits<Chain>(w, max_kc, X, dY, act, dW, N, o) && value_count > 0;
}

/// Runs the warp-specialized dW; the caller has checked ws_grad_w_fits.
template <class View, class V, class Chain>
void ws_grad_w(const View&, index_t, index_t, const V*, const V*, const float*, V*, index_t,
               const Chain&, const stco::cuda::stream&, dz_memo*) {
  throw argument_error(
      "stco gather_tc: a warp-specialized route for a layout without that kernel (planner bug)");
}

/// dW of tile_wise<128> at its slots: dW_t = dZ[tile rows, :] · X[cols_t, :]ᵀ, dZ by TMA boxes
/// (formed first by form_dz unless the chain is empty), the X rows gathered, units over
/// (row tile, 256 slots), the reduction over N.
template <class Col, class V, class Chain>
void ws_grad_w(const tile_wise_view<128, Col>& w, index_t max_kc, index_t, const V* X, const V* dY,
               const float* z, V* dW, index_t N, const Chain& chain, const stco::cuda::stream& s,
               dz_memo* memo) {
  constexpr int T = 128;
  const float* act = Chain::has_activation ? z : nullptr;
  const index_t tiles = w.row_tiles();
  const ws::dz_buffer<V, Chain> dz(dY, act, w.R, N, chain, s.get(), memo);
  using P = ws::dw_tiles<T, Col, V>;
  P p{};
  p.tiles_m = tiles;
  p.tiles_n = ceil_div(max_kc, index_t{256});
  p.mode = ws::gather_of(s.options());
  p.gb = ws::rows_src{reinterpret_cast<const std::uint16_t*>(X), N, static_cast<int>(N)};
  p.a_ext = static_cast<int>(N);
  p.b_ext = static_cast<int>(N);
  p.ptr = w.ptr;
  p.cols = w.cols;
  p.N = N;
  p.dw = reinterpret_cast<std::uint16_t*>(dW);
  p.scale = 1.f;
  const CUtensorMap ma = ws::map16(dz.get(), w.R, N, N, 128);
  const CUtensorMap mb =
      p.mode == ws::gather::tma_rows ? ws::map16(X, w.K, N, N, 1) : CUtensorMap{};
  ws::launch(p, ma, mb, s);
}

/// Whether the warp-specialized dX takes the call (layouts it has no form for: never).
template <class Chain, class View, class V>
bool ws_grad_x_fits(const View&, index_t, const V*, const V*, const float*, const V*, index_t,
                    const stco::cuda::options&) {
  return false;
}
template <class Chain, class Col, class V>
bool ws_grad_x_fits(const tile_wise_view<128, Col>& w, index_t value_count, const V* vals,
                    const V* dY, const float* z, const V* dX, index_t N,
                    const stco::cuda::options& o) {
  const float* act = Chain::has_activation ? z : nullptr;
  return ws::grad_x_fits<Chain>(w, dY, act, dX, N, o) && value_count > 0 && aligned16(vals);
}

/// Runs the warp-specialized dX; the caller has checked ws_grad_x_fits.
template <class View, class V, class Chain>
void ws_grad_x(const View&, const tile_maps&, index_t, const V*, const V*, const float*, V*,
               index_t, const Chain&, const stco::cuda::stream&, dz_memo*) {
  throw argument_error(
      "stco gather_tc: a warp-specialized route for a layout without that kernel (planner bug)");
}

/// dX of tile_wise<128>: units over (128 columns of W, 256 columns of dX), the reduction over
/// all R rows of dZ (TMA boxes, formed first by form_dz unless the chain is empty), the A rows
/// gathered from the value panels through inv (tiles × K, slot of column k in tile t or −1: rows
/// a tile drops are zero-filled; the table is derived once per entity). This is the dense amount of
/// MMA work: a column-block of W is reached by nearly every tile under a column-wise mask, so
/// skipping whole k-steps saves nothing, and a scatter of per-tile products would need an fp32
/// atomic reduction of (1 − sparsity)·R/T times dX's size. The segmented mma.sync kernel does the
/// sparse amount without tensor-core throughput to spend it on (H100, 8192³ 75 %: 0.20× cuBLAS).
template <class Col, class V, class Chain>
void ws_grad_x(const tile_wise_view<128, Col>& w, const tile_maps& maps, index_t value_count,
               const V* vals, const V* dY, const float* z, V* dX, index_t N, const Chain& chain,
               const stco::cuda::stream& s, dz_memo* memo) {
  constexpr int T = 128;
  const float* act = Chain::has_activation ? z : nullptr;
  const ws::dz_buffer<V, Chain> dz(dY, act, w.R, N, chain, s.get(), memo);
  using P = ws::dx_tiles<T, V>;
  P p{};
  p.tiles_m = ceil_div(w.K, index_t{128});
  p.tiles_n = ceil_div(N, index_t{256});
  p.mode = ws::gather_of(s.options());
  p.ga = ws::rows_src{reinterpret_cast<const std::uint16_t*>(vals), T, T};
  p.a_ext = T;
  p.b_ext = static_cast<int>(N);
  p.inv = maps.slot_of_column(w.K);  // built on the first call that gets this far
  p.K = w.K;
  p.R = w.R;
  p.N = N;
  p.dx = reinterpret_cast<std::uint16_t*>(dX);
  p.scale = 1.f;
  const CUtensorMap ma =
      p.mode == ws::gather::tma_rows ? ws::map16(vals, value_count / T, T, T, 1) : CUtensorMap{};
  const CUtensorMap mb = ws::map16(dz.get(), w.R, N, N, 64);
  ws::launch(p, ma, mb, s);
}

/// channel (kept rows gathered in the epilogue) and dense: both operands by TMA.
template <int BM, class Row, class V, class Chain>
void ws_forward(const rows_view<BM, Row>& w, index_t, const V* vals, const V* X, V* Y, index_t N,
                const Chain& chain, float* stash, const stco::cuda::stream& s) {
  float* st = Chain::has_activation ? stash : nullptr;
  const CUtensorMap ma = ws::map16(vals, w.kr, w.K, w.K, 128);
  const CUtensorMap mb = ws::map16(X, w.K, N, N, 64);
  auto run = [&](auto gather) {
    using P = ws::fwd_rows<decltype(gather)::value, V, Chain>;
    P p{};
    p.tiles_m = ceil_div(w.kr, index_t{128});
    p.tiles_n = ceil_div(N, index_t{256});
    p.b_ext = static_cast<int>(N);
    p.rows = reinterpret_cast<const int*>(w.rows);
    p.kr = w.kr;
    p.K = w.K;
    p.N = N;
    p.y = reinterpret_cast<std::uint16_t*>(Y);
    p.stash = st;
    p.chain = chain;
    ws::launch(p, ma, mb, s);
  };
  static_assert(sizeof(Row) == sizeof(int), "stco gather_tc ws: 32-bit row lists");
  if (w.rows)
    run(std::true_type{});
  else
    run(std::false_type{});
  fill_removed_rows<V>(w, N, reinterpret_cast<std::uint16_t*>(Y), stash, chain, s.get());
}

}  // namespace stco::kernel::cuda::gather_tc
