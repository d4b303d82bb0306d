// stco/kernel/cuda/gather_tc/conv_forward.cuh — Y[P, Cout] = epi(conv(W, X)) (NHWC, groups = 1) for
// the dense-kept layouts, as an implicit GEMM with M = output pixels and N = one row tile of W.
//
// The A operand is the implicit im2col restricted to the tile's kept K-columns: 16-byte runs of a
// pixel's channels when the layout keeps 8-aligned runs (dense, channel, block with BC % 8 = 0),
// else single elements gathered into registers one stage ahead (tile_wise, tile_vector). The B
// operand is the tile's value panel as stored. Epilogue at pos = p·Cout + co, channel co.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "stco/core/cuda/check.cuh"
#include "stco/kernel/cuda/gather_tc/configs.cuh"
#include "stco/kernel/cuda/gather_tc/conv_geometry.cuh"
#include "stco/kernel/cuda/gather_tc/expand_nm.cuh"
#include "stco/kernel/cuda/gather_tc/gemm_kernel.cuh"
#include "stco/kernel/cuda/gather_tc/launch.cuh"
#include "stco/kernel/cuda/gather_tc/loaders.cuh"
#include "stco/kernel/cuda/gather_tc/views.cuh"
#include "stco/kernel/cuda/gather_tc/wgmma_sm90.cuh"

namespace stco::kernel::cuda::gather_tc {

template <class View, class V, class Chain, class Cfg>
struct conv_forward_problem {
  using config = Cfg;
  static constexpr bool a_kcontig = true;             // im2col rows: a pixel's positions
  static constexpr bool b_kcontig = View::a_kcontig;  // the panel as stored
  static constexpr bool bf16 = tc_value<V>::bf16;
  static constexpr int epilogue_smem_bytes = 0, stage_extra_bytes = 0;
  static constexpr int extra_smem_bytes = Cfg::bm * static_cast<int>(sizeof(pixel_origin));
  using layout = stage_layout<Cfg, a_kcontig, b_kcontig>;

  View w;
  const std::uint16_t* vals;
  const std::uint16_t* X;
  std::uint16_t* Y;
  float* stash;
  conv_dims d;
  Chain chain;
  bool a_vec, b_vec;
  bool wgmma = false;  // run the sm_90a mainloop (the route's instruction)

  struct cta {
    const conv_forward_problem& p;
    typename View::state st;
    index_t p0;
    int kc;
    const pixel_origin* origin;  // the CTA's BM pixels
    struct none {
      __device__ void fetch(const View&, const typename View::state&, const std::uint16_t*, int,
                            int) {}
      __device__ void store(std::uint16_t*, int) const {}
    };
    std::conditional_t<View::expands, nm_expand_stage<typename layout::tile_b, Cfg::threads, View>,
                       none>
        expand;
    gather_stage<typename layout::tile_a, Cfg::threads> gather;

    __device__ cta(const conv_forward_problem& pp, void* extra)
        : p(pp),
          st(pp.w.begin(static_cast<int>(blockIdx.y))),
          p0(static_cast<index_t>(blockIdx.x) * Cfg::bm),
          kc(pp.w.kcount(st)),
          origin(static_cast<const pixel_origin*>(extra)) {
      auto* o = static_cast<pixel_origin*>(extra);
      for (int i = static_cast<int>(threadIdx.x); i < Cfg::bm; i += Cfg::threads)
        o[i] = resolve_pixel(pp.d, p0 + i);
    }
    __device__ bool active() const { return true; }
    __device__ int ktiles() const { return (kc + Cfg::bk - 1) / Cfg::bk; }

    __device__ void fetch(int kt, std::uint16_t* sa, std::uint16_t* sb, float*, int tid) {
      using TA = typename layout::tile_a;
      using TB = typename layout::tile_b;
      const int q0 = kt * Cfg::bk;
      if (p.a_vec) {
        copy_async<TA, Cfg::threads>(sa, tid, [&](int row, int ch) -> const std::uint16_t* {
          const index_t x =
              im2col_index(p.d, origin[row], resolve_k(p.d, p.w.k_index(st, q0 + ch * 8)));
          return x >= 0 ? p.X + x : nullptr;
        });
      } else {
        gather.fetch(tid, [&](int row, int col) -> const std::uint16_t* {
          const index_t x =
              im2col_index(p.d, origin[row], resolve_k(p.d, p.w.k_index(st, q0 + col)));
          return x >= 0 ? p.X + x : nullptr;
        });
      }
      if constexpr (View::expands) {
        expand.fetch(p.w, st, p.vals, q0, tid);
      } else {
        auto where = [&](int row, int col) {  // (tile row nn, position q) of a B element
          return b_kcontig ? p.w.value(st, row, q0 + col) : p.w.value(st, col, q0 + row);
        };
        if (p.b_vec)
          copy_async<TB, Cfg::threads>(sb, tid, [&](int row, int ch) -> const std::uint16_t* {
            const index_t v = where(row, ch * 8);
            return v >= 0 ? p.vals + v : nullptr;
          });
        else
          copy_elements<TB, Cfg::threads>(sb, tid, [&](int row, int col) -> std::uint16_t {
            const index_t v = where(row, col);
            return v >= 0 ? p.vals[v] : std::uint16_t(0);
          });
      }
    }
    __device__ void store(int, std::uint16_t* sa, std::uint16_t* sb, int tid) {
      if (!p.a_vec) gather.store(sa, tid);
      if constexpr (View::expands) expand.store(sb, tid);
    }
    __device__ void transform(int, std::uint16_t*, std::uint16_t*, float*, int) {}

    template <class Visit>
    __device__ void epilogue(const Visit& visit, std::uint16_t*) {
      const index_t P = p.d.pixels(), Cout = p.d.out_c;
      visit([&](int m, int n, float v0, float v1) {
        const index_t px = p0 + m;
        if (px >= P) return;
        const float v[2] = {v0, v1};
        const index_t co0 = p.w.row(st, n), co1 = p.w.row(st, n + 1);
        const bool stash = Chain::has_activation && p.stash;
        if (co0 >= 0 && co1 == co0 + 1 && ((px * Cout + co0) & 1) == 0) {  // one 4-byte store
          const index_t pos = px * Cout + co0;
          float a0 = 0.f, a1 = 0.f;
          const float y0 = p.chain.apply(v0, co0, pos, &a0);
          const float y1 = p.chain.apply(v1, co1, pos + 1, &a1);
          *reinterpret_cast<std::uint32_t*>(p.Y + pos) = tc_value<V>::pack(y0, y1);
          if (stash) *reinterpret_cast<float2*>(p.stash + pos) = make_float2(a0, a1);
          return;
        }
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const index_t co = h ? co1 : co0;
          if (co < 0) continue;
          const index_t pos = px * Cout + co;
          float* sh = stash ? p.stash + pos : nullptr;
          p.Y[pos] = tc_value<V>::from_float(p.chain.apply(v[h], co, pos, sh));
        }
      });
    }
  };
};

/// Output channels no tile produces (channel's removed rows) get epi(0) at every pixel: a warp
/// per pixel, its lanes over the removed channels (no divisions, one row of Y at a time).
template <class V, class Row, class Chain>
__global__ void fill_channels_kernel(const Row* chans, index_t count, index_t pixels, index_t cout,
                                     std::uint16_t* Y, float* stash, Chain chain) {
  const index_t warps = static_cast<index_t>(gridDim.x) * (blockDim.x / 32);
  const int lane = static_cast<int>(threadIdx.x % 32);
  for (index_t px = blockIdx.x * static_cast<index_t>(blockDim.x / 32) + threadIdx.x / 32;
       px < pixels; px += warps)
    for (index_t j = lane; j < count; j += 32) {
      const index_t co = static_cast<index_t>(chans[j]), pos = px * cout + co;
      float* sh = Chain::has_activation && stash ? stash + pos : nullptr;
      Y[pos] = tc_value<V>::from_float(chain.apply(0.f, co, pos, sh));
    }
}

template <class V, class View, class Chain>
void fill_removed_channels(const View&, const conv_dims&, std::uint16_t*, float*, const Chain&,
                           cudaStream_t) {}
template <class V, int BM, class Row, class Chain>
void fill_removed_channels(const rows_view<BM, Row>& w, const conv_dims& d, std::uint16_t* Y,
                           float* stash, const Chain& chain, cudaStream_t stream) {
  const index_t count = w.R - w.kr;
  if (count <= 0 || !w.removed || d.pixels() == 0) return;
  const index_t blocks = std::min<index_t>(ceil_div(d.pixels(), 8), 8192);
  fill_channels_kernel<V><<<static_cast<unsigned>(blocks), 256, 0, stream>>>(
      w.removed, count, d.pixels(), d.out_c, Y, stash, chain);
  STCO_CUDA_CHECK(cudaGetLastError());
}

/// The problem conv_forward launches for a view; its wgmma_shape says
/// whether it has a wgmma mainloop (else mma.sync runs whatever is asked).
template <class View, class V, class Chain>
using conv_forward_problem_of = conv_forward_problem<View, V, Chain, pixel_config<View::tile_rows>>;

/// Launches Y = epi(conv(W, X)); X NHWC [batch, H, W, Cin], Y [pixels, Cout]; stash may be null.
/// The view's R is Cout and its K is KH·KW·Cin.
template <class View, class V, class Chain>
void conv_forward(const View& w, const V* vals, const V* X, V* Y, const conv_dims& d,
                  const Chain& chain, float* stash, cudaStream_t stream, bool wgmma) {
  using P = conv_forward_problem_of<View, V, Chain>;
  using Cfg = typename P::config;
  const index_t tiles = w.row_tiles(), pixels = d.pixels();
  if (pixels == 0) return;
  if (tiles > 0) {
    P p{w,
        reinterpret_cast<const std::uint16_t*>(vals),
        reinterpret_cast<const std::uint16_t*>(X),
        reinterpret_cast<std::uint16_t*>(Y),
        stash,
        d,
        chain,
        aligned16(X) && w.runs8() && d.in_c % 8 == 0,
        aligned16(vals) && w.chunked()};
    p.wgmma = wgmma;
    launch_problem<P>(
        p, dim3(static_cast<unsigned>(ceil_div(pixels, Cfg::bm)), static_cast<unsigned>(tiles)),
        stream);
  }
  fill_removed_channels<V>(w, d, reinterpret_cast<std::uint16_t*>(Y), stash, chain, stream);
}

}  // namespace stco::kernel::cuda::gather_tc
