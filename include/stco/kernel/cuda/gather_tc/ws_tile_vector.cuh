// stco/kernel/cuda/gather_tc/ws_tile_vector.cuh — tile_vector<128, N, M> on the warp-specialized
// tile_wise<128> kernels (ws_launch.cuh): the values are expanded per call to tile_wise panels
// over the same column lists (each group's M positions, zeros where the row drops one), the
// dense mainloop runs on them, and dW is compressed back to the N:M slots.
//
// Why expand rather than keep the gathered-GEMM kernel's in-shared-memory expansion: that kernel
// runs at 0.45–0.53× cuBLAS on the H100, while the ws kernel gathers at the TMA-fed dense rate;
// the expansion is one pass over Σ k_t·128 values (64 MiB at 8192³, 75 %), a few per cent of the
// product. The N:M half is still multiplied as zeros — the sparse-tensor-core route (wgmma.sp on
// the gathered columns) would skip it.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "stco/core/cuda/check.cuh"
#include "stco/core/cuda/device_buffer.cuh"
#include "stco/kernel/cuda/gather_tc/device_maps.cuh"
#include "stco/kernel/cuda/gather_tc/views.cuh"
#include "stco/kernel/cuda/gather_tc/ws_launch.cuh"

namespace stco::kernel::cuda::gather_tc {

namespace ws {

/// One unit = (tile blockIdx.y, group g, 8 tile rows): the group's N value slots against its M
/// positions, 16 bytes at a time. Expand (in = slots, out = panel):
/// panel[(ptr[t] + g·M + r)·T + m] = the slot whose offset is r, else 0, for the positions
/// g·M + r < k_t. Compress (in = panel, out = slots; dW): slot (g, j) of row m = the panel at its
/// offset's position (0 at a ragged last group's padding).
template <bool Expand, int T, int N, int M, class Col>
__global__ void tile_vector_panels_kernel(tile_vector_view<T, N, M, Col> w, const std::uint16_t* in,
                                          std::uint16_t* out) {
  using View = tile_vector_view<T, N, M, Col>;
  constexpr int chunks = T / 8;
  constexpr std::uint32_t mask = (1u << View::bits) - 1u;
  const typename View::state st = w.begin(static_cast<int>(blockIdx.y));
  const int u = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  const int g = u / chunks, m0 = (u % chunks) * 8;
  if (g * M >= st.kc) return;
  const int live = min(M, st.kc - g * M);  // positions of the group with a column
  const index_t p0 = (st.base + static_cast<index_t>(g) * M) * T + m0;
  std::uint32_t off[N];
  uint4 a[Expand ? N : M];
#pragma unroll
  for (int j = 0; j < N; ++j) off[j] = w.offsets8(w.slot_value(st, g, j, m0));
#pragma unroll
  for (int i = 0; i < (Expand ? N : M); ++i) {
    if constexpr (Expand)
      a[i] = *reinterpret_cast<const uint4*>(in + w.slot_value(st, g, i, m0));
    else
      a[i] = i < live ? *reinterpret_cast<const uint4*>(in + p0 + static_cast<index_t>(i) * T)
                      : make_uint4(0, 0, 0, 0);
  }
  // Element e of 16-byte register x.
  auto elem = [](const uint4& x, int e) {
    const std::uint32_t w4 = e < 2 ? x.x : e < 4 ? x.y : e < 6 ? x.z : x.w;
    return (w4 >> (16 * (e & 1))) & 0xffffu;
  };
#pragma unroll
  for (int o = 0; o < (Expand ? M : N); ++o) {
    if (Expand && o >= live) break;
    std::uint32_t res[4] = {0, 0, 0, 0};
#pragma unroll
    for (int e = 0; e < 8; ++e)
#pragma unroll
      for (int j = 0; j < (Expand ? N : M); ++j) {
        // Expand: output position o takes slot j when j's offset is o; compress: output slot o
        // takes position j when o's offset is j.
        const std::uint32_t r = (off[Expand ? j : o] >> (View::bits * e)) & mask;
        if (r == static_cast<std::uint32_t>(Expand ? o : j))
          res[e / 2] |= elem(a[j], e) << (16 * (e & 1));
      }
    const index_t dst = Expand ? p0 + static_cast<index_t>(o) * T : w.slot_value(st, g, o, m0);
    *reinterpret_cast<uint4*>(out + dst) = make_uint4(res[0], res[1], res[2], res[3]);
  }
}

/// Runs the expand (or compress) pass over every tile.
template <bool Expand, int N, int M, class Col>
void tile_vector_panels(const tile_vector_view<128, N, M, Col>& w, const std::uint16_t* in,
                        std::uint16_t* out, cudaStream_t s) {
  const index_t units = w.max_groups * (128 / 8);
  const dim3 grid(static_cast<unsigned>(ceil_div(units, index_t{128})),
                  static_cast<unsigned>(w.row_tiles()));
  tile_vector_panels_kernel<Expand, 128, N, M, Col><<<grid, 128, 0, s>>>(w, in, out);
  STCO_CUDA_CHECK(cudaGetLastError());
}

/// The tile_wise<128> view over tile_vector's column lists.
template <int N, int M, class Col>
tile_wise_view<128, Col> panel_view(const tile_vector_view<128, N, M, Col>& w) {
  return {w.ptr, w.cols, w.R, w.K};
}

/// Whether the expansion takes the call: at most 65535 row tiles (the grid's y extent), and
/// some kept column.
template <int N, int M, class Col>
bool panels_fit(const tile_vector_view<128, N, M, Col>& w) {
  return w.row_tiles() > 0 && w.row_tiles() <= 65535 && w.columns > 0 && w.max_groups > 0;
}

/// tile_vector's values as tile_wise<128> panels in a stream-ordered buffer.
template <class V, int N, int M, class Col>
stco::cuda::device_buffer<V> expanded(const tile_vector_view<128, N, M, Col>& w, const V* vals,
                                      cudaStream_t s) {
  stco::cuda::device_buffer<V> panel(w.columns * 128, stco::cuda::stream(s),
                                     stco::cuda::uninitialized);
  tile_vector_panels<true>(w, reinterpret_cast<const std::uint16_t*>(vals),
                           reinterpret_cast<std::uint16_t*>(panel.data()), s);
  return panel;
}

}  // namespace ws

/// tile_vector<128, N, M> on the warp-specialized kernel: its values expanded per call to
/// tile_wise<128> panels (cudaMalloc-aligned), so it fits where the panels' tile_wise call fits.
template <class Chain, int N, int M, class Col, class V>
bool ws_forward_fits(const tile_vector_view<128, N, M, Col>& w, index_t, const V* vals, const V* X,
                     const V* Y, index_t Ncols, const float* stash, const stco::cuda::options& o) {
  const float* st = Chain::has_activation ? stash : nullptr;
  return ws::panels_fit(w) && ws::forward_fits(ws::panel_view(w), X, Y, Ncols, st, o) &&
         aligned16(vals);
}
template <class Chain, int N, int M, class Col, class V>
bool ws_grad_w_fits(const tile_vector_view<128, N, M, Col>& w, index_t max_kc, index_t, const V* X,
                    const V* dY, const float* z, const V* dW, index_t Ncols,
                    const stco::cuda::options& o) {
  const float* act = Chain::has_activation ? z : nullptr;
  return ws::panels_fit(w) &&
         ws::grad_w_fits<Chain>(ws::panel_view(w), max_kc, X, dY, act, dW, Ncols, o);
}
template <class Chain, int N, int M, class Col, class V>
bool ws_grad_x_fits(const tile_vector_view<128, N, M, Col>& w, index_t, const V* vals, const V* dY,
                    const float* z, const V* dX, index_t Ncols, const stco::cuda::options& o) {
  const float* act = Chain::has_activation ? z : nullptr;
  return ws::panels_fit(w) && ws::grad_x_fits<Chain>(ws::panel_view(w), dY, act, dX, Ncols, o) &&
         aligned16(vals);
}

/// tile_vector<128, N, M>: its values expanded to tile_wise<128> panels, then the ws forward.
template <int N, int M, class Col, class V, class Chain>
void ws_forward(const tile_vector_view<128, N, M, Col>& w, index_t, const V* vals, const V* X, V* Y,
                index_t Ncols, const Chain& chain, float* stash, const stco::cuda::stream& s) {
  const auto panel = ws::expanded(w, vals, s.get());
  ws_forward(ws::panel_view(w), panel.size(), panel.data(), X, Y, Ncols, chain, stash, s);
}

/// tile_vector<128, N, M>: the ws dW on the tile_wise panels, compressed to the N:M slots.
template <int N, int M, class Col, class V, class Chain>
void ws_grad_w(const tile_vector_view<128, N, M, Col>& w, index_t max_kc, index_t, const V* X,
               const V* dY, const float* z, V* dW, index_t Ncols, const Chain& chain,
               const stco::cuda::stream& s, dz_memo* memo) {
  stco::cuda::device_buffer<V> panel(w.columns * 128, s, stco::cuda::uninitialized);
  ws_grad_w(ws::panel_view(w), max_kc, panel.size(), X, dY, z, panel.data(), Ncols, chain, s, memo);
  ws::tile_vector_panels<false>(w, reinterpret_cast<const std::uint16_t*>(panel.data()),
                                reinterpret_cast<std::uint16_t*>(dW), s.get());
}

/// tile_vector<128, N, M>: its values expanded to tile_wise<128> panels, then the ws dX.
template <int N, int M, class Col, class V, class Chain>
void ws_grad_x(const tile_vector_view<128, N, M, Col>& w, const tile_maps& m, index_t,
               const V* vals, const V* dY, const float* z, V* dX, index_t Ncols, const Chain& chain,
               const stco::cuda::stream& s, dz_memo* memo) {
  const auto panel = ws::expanded(w, vals, s.get());
  ws_grad_x(ws::panel_view(w), m, panel.size(), panel.data(), dY, z, dX, Ncols, chain, s, memo);
}

}  // namespace stco::kernel::cuda::gather_tc
