// stco/kernel/cuda/tiletc/ws_launch.cuh — the host side of the Hopper warp-specialized mainloop
// (ws_kernel.cuh): the run-time switch, the TMA maps, the persistent grid, and the forward of
// tile_wise<128> (fwd_tiles) and of channel / dense (fwd_rows) routed through it.
//
// ws_forward(view, ...) returns false when the call does not fit the kernel (switch off, no
// sm_90a code on the device, tile height other than 128, N or K not a multiple of 8,
// operands not 16-byte aligned); the caller then runs the gathered-GEMM kernel (gemm_kernel.cuh).
#pragma once

#include <cuda.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "stco/core/cuda/check.cuh"
#include "stco/kernel/cuda/sp24/tensor_map.cuh"
#include "stco/kernel/cuda/tiletc/launch.cuh"
#include "stco/kernel/cuda/tiletc/matmul_forward.cuh"
#include "stco/kernel/cuda/tiletc/views.cuh"
#include "stco/kernel/cuda/tiletc/wgmma_sm90.cuh"
#include "stco/kernel/cuda/tiletc/ws_problems.cuh"

namespace stco::kernel::cuda::tiletc {

/// Whether the forward runs on the warp-specialized persistent kernel where it applies (sm_90a
/// builds on an sm_90 device, and use_wgmma()); tests and benchmarks switch it.
inline bool& prefer_ws() {
  static bool prefer = true;
  return prefer;
}
/// How its gathered rows are copied (cp.async from the producer warpgroup, or 1-row TMA boxes).
inline ws::gather& ws_gather_mode() {
  static ws::gather g = ws::gather::cp_async;
  return g;
}
/// At most this many persistent CTAs (0: one per multiprocessor); tests lower it so that every
/// CTA walks several work units through one mbarrier ring.
inline int& ws_grid_limit() {
  static int limit = 0;
  return limit;
}
inline bool use_ws() { return prefer_ws() && use_wgmma(); }

namespace ws {

/// A TMA map of a row-major [rows, cols] 16-bit matrix (pitch elements a row) in boxes of
/// box_rows × 64 with the 128-byte swizzle.
inline CUtensorMap map16(const void* base, index_t rows, index_t cols, index_t pitch,
                         int box_rows) {
  return ::stco::cuda::sp24::make_tensor_map_2d(
      base, static_cast<std::uint64_t>(rows), static_cast<std::uint64_t>(cols),
      static_cast<std::uint64_t>(pitch), 2, static_cast<std::uint32_t>(box_rows), 64,
      CU_TENSOR_MAP_SWIZZLE_128B);
}

template <class P>
void launch(const P& p, const CUtensorMap& map_a, const CUtensorMap& map_b, cudaStream_t stream) {
  using S = typename P::shape_t;
  auto* kernel = &ws_kernel<P>;
  allow_smem(kernel, S::smem_bytes);
  const index_t units = p.tiles_m * p.tiles_n;
  index_t ctas = std::min<index_t>(units, sm_count());
  if (ws_grid_limit() > 0) ctas = std::min<index_t>(ctas, ws_grid_limit());
  if (ctas <= 0) return;
  kernel<<<static_cast<unsigned>(ctas), THREADS, S::smem_bytes, stream>>>(map_a, map_b, p);
  STCO_CUDA_CHECK(cudaGetLastError());
}

inline bool aligned_all(const void* a, const void* b, const void* c, const void* d) {
  return aligned16(a) && aligned16(b) && aligned16(c) && (d == nullptr || aligned16(d));
}

}  // namespace ws

/// Layouts the warp-specialized forward does not take.
template <class View, class V, class Chain>
bool ws_forward(const View&, index_t, const V*, const V*, V*, index_t, const Chain&, float*,
                cudaStream_t) {
  return false;
}

/// tile_wise<T>: A = the tile's value panel by TMA (MN-major), B = the kept rows of X gathered.
/// Routed for T = 128 only: fwd_tiles<64> (two 64 × 128 consumer halves) measured slower than
/// the gathered-GEMM kernel on the H100 (8192³, 75 %: 1821 µs against 1458 µs).
template <int T, class Col, class V, class Chain>
bool ws_forward(const tile_wise_view<T, Col>& w, index_t value_count, const V* vals, const V* X,
                V* Y, index_t N, const Chain& chain, float* stash, cudaStream_t stream) {
  if constexpr (T != 128) {
    (void)w, (void)value_count, (void)vals, (void)X, (void)Y, (void)N, (void)chain, (void)stash,
        (void)stream;
    return false;
  } else {
    float* st = Chain::has_activation ? stash : nullptr;
    const index_t tiles = w.row_tiles();
    if (!use_ws() || tiles == 0 || N == 0 || N % 8 != 0 || value_count <= 0 ||
        !ws::aligned_all(vals, X, Y, st))
      return false;
    using P = ws::fwd_tiles<T, Col, V, Chain>;
    P p{};
    p.tiles_m = tiles;
    p.tiles_n = ceil_div(N, index_t{256});
    p.mode = ws_gather_mode();
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
    ws::launch(p, ma, mb, stream);
    return true;
  }
}

/// channel (kept rows gathered in the epilogue) and dense: both operands by TMA.
template <int BM, class Row, class V, class Chain>
bool ws_forward(const rows_view<BM, Row>& w, index_t, const V* vals, const V* X, V* Y, index_t N,
                const Chain& chain, float* stash, cudaStream_t stream) {
  float* st = Chain::has_activation ? stash : nullptr;
  if (!use_ws() || w.kr == 0 || N == 0 || w.K == 0 || N % 8 != 0 || w.K % 8 != 0 ||
      !ws::aligned_all(vals, X, Y, st))
    return false;
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
    ws::launch(p, ma, mb, stream);
  };
  static_assert(sizeof(Row) == sizeof(int), "stco tiletc ws: 32-bit row lists");
  if (w.rows)
    run(std::true_type{});
  else
    run(std::false_type{});
  fill_removed_rows<V>(w, N, reinterpret_cast<std::uint16_t*>(Y), stash, chain, stream);
  return true;
}

}  // namespace stco::kernel::cuda::tiletc
