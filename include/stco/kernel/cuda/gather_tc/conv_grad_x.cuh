// stco/kernel/cuda/gather_tc/conv_grad_x.cuh — conv dX (NHWC, groups = 1): dX[p_in, c] =
// Σ_tap Σ_co dZ[p_out(p_in, tap), co]·W[co, tap·Cin + c], dZ formed on load.
//
// dense, channel, block: an implicit GEMM with M = input pixels and N = Cin channels whose
// reduction runs tap by tap over the rows of the transposed view's column tile at tap·Cin + c0
// (each tap's positions padded to whole k-steps); pixels that no output reaches through a tap
// (padding, stride) read zeros.
//
// tile_wise, tile_vector: segmented_grad_x.cuh with a CTA owning dX[64 pixels × 256 channels]
// and one segment per tap: the tile's slots whose K-column falls in [tap·Cin + c0, + 256).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "stco/core/cuda/check.cuh"
#include "stco/core/error.hpp"
#include "stco/kernel/cuda/gather_tc/configs.cuh"
#include "stco/kernel/cuda/gather_tc/conv_geometry.cuh"
#include "stco/kernel/cuda/gather_tc/gemm_kernel.cuh"
#include "stco/kernel/cuda/gather_tc/launch.cuh"
#include "stco/kernel/cuda/gather_tc/loaders.cuh"
#include "stco/kernel/cuda/gather_tc/segmented_grad_x.cuh"
#include "stco/kernel/cuda/gather_tc/transposed_views.cuh"
#include "stco/kernel/cuda/gather_tc/views.cuh"
#include "stco/kernel/cuda/gather_tc/wgmma_sm90.cuh"

namespace stco::kernel::cuda::gather_tc {

/// An input pixel resolved: image n (−1 past the end) and its row and column.
struct in_pixel {
  int n, h, w;
};
__device__ __forceinline__ in_pixel resolve_in_pixel(const conv_dims& d, index_t p) {
  if (p >= d.in_pixels()) return {-1, 0, 0};
  const int w = static_cast<int>(p % d.in_w);
  const index_t t = p / d.in_w;
  return {static_cast<int>(t / d.in_h), static_cast<int>(t % d.in_h), w};
}
/// The output pixel that reaches input pixel `x` through tap (r, s), or −1.
__device__ __forceinline__ index_t reaching_pixel(const conv_dims& d, const in_pixel& x, int r,
                                                  int s) {
  if (x.n < 0) return -1;
  const int hh = x.h + d.pad_h - r * d.dil_h, ww = x.w + d.pad_w - s * d.dil_w;
  if (hh < 0 || ww < 0 || hh % d.stride_h || ww % d.stride_w) return -1;
  const int oh = hh / d.stride_h, ow = ww / d.stride_w;
  if (oh >= d.out_h || ow >= d.out_w) return -1;
  return (static_cast<index_t>(x.n) * d.out_h + oh) * d.out_w + ow;
}

inline constexpr int conv_max_taps = 64;

template <class TView, class V, class Chain, class Cfg>
struct conv_grad_x_problem {
  using config = Cfg;
  static constexpr bool a_kcontig = true;   // dZ rows: a pixel's output channels
  static constexpr bool b_kcontig = false;  // Wᵀ tile: channels c along the row
  static constexpr bool bf16 = tc_value<V>::bf16;
  static constexpr bool has_act = Chain::has_activation;
  static constexpr int epilogue_smem_bytes = 0;
  using tstate = typename TView::state;
  struct tables {
    tstate st[conv_max_taps];
    int prefix[conv_max_taps + 1];  // k-steps before each tap
    in_pixel px[Cfg::bm];
  };
  static constexpr int extra_smem_bytes = static_cast<int>(sizeof(tables));
  using layout = stage_layout<Cfg, true, false>;
  using dz_type = dz_async<typename layout::tile_a, Cfg::threads, V, has_act>;
  static constexpr int stage_extra_bytes = dz_type::act_bytes;

  TView w;
  const std::uint16_t* vals;
  const std::uint16_t* dY;
  const float* stash;
  std::uint16_t* dX;
  conv_dims d;
  Chain chain;
  bool a_vec, b_vec;
  bool wgmma = false;  // run the sm_90a mainloop (the route's instruction)

  struct cta {
    const conv_grad_x_problem& p;
    tables* tb;
    index_t p0, c0;
    dz_gather_stage<typename layout::tile_a, Cfg::threads, V, has_act> gather;

    __device__ cta(const conv_grad_x_problem& pp, void* extra)
        : p(pp),
          tb(static_cast<tables*>(extra)),
          p0(static_cast<index_t>(blockIdx.x) * Cfg::bm),
          c0(static_cast<index_t>(blockIdx.y) * Cfg::bn) {
      const int tid = static_cast<int>(threadIdx.x), taps = pp.d.taps();
      for (int i = tid; i < Cfg::bm; i += Cfg::threads) tb->px[i] = resolve_in_pixel(pp.d, p0 + i);
      for (int t = tid; t < taps; t += Cfg::threads)
        tb->st[t] = pp.w.at(static_cast<index_t>(t) * pp.d.in_c + c0);
      if (tid == 0) {
        int acc = 0;
        for (int t = 0; t < taps; ++t) {
          tb->prefix[t] = acc;
          acc += (pp.w.kcount(pp.w.at(static_cast<index_t>(t) * pp.d.in_c + c0)) + Cfg::bk - 1) /
                 Cfg::bk;
        }
        tb->prefix[taps] = acc;
      }
    }
    __device__ bool active() const { return true; }
    __device__ int ktiles() const { return tb->prefix[p.d.taps()]; }
    __device__ int tap_of(int kt) const {
      int t = 0;
      while (tb->prefix[t + 1] <= kt) ++t;
      return t;
    }
    __device__ dz_chunk where(int tap, int row, int q) const {
      const tstate& st = tb->st[tap];
      const index_t co = p.w.z_row(st, q);
      if (co < 0) return {nullptr, nullptr, 0, 0, 0};
      const index_t po = reaching_pixel(p.d, tb->px[row], tap / p.d.kw, tap % p.d.kw);
      if (po < 0) return {nullptr, nullptr, 0, 0, 0};
      const index_t pos = po * p.d.out_c + co;
      return {p.dY + pos, has_act ? p.stash + pos : nullptr, co, 1, pos};
    }
    __device__ void fetch(int kt, std::uint16_t* sa, std::uint16_t* sb, float* sx, int tid) {
      using TB = typename layout::tile_b;
      const int tap = tap_of(kt), q0 = (kt - tb->prefix[tap]) * Cfg::bk;
      if (p.a_vec)
        dz_type::fetch(sa, sx, tid, [&](int row, int ch) { return where(tap, row, q0 + ch * 8); });
      else
        gather.fetch(tid, [&](int row, int col) { return where(tap, row, q0 + col); });
      const tstate& st = tb->st[tap];
      if (p.b_vec)
        copy_async<TB, Cfg::threads>(sb, tid, [&](int q, int ch) -> const std::uint16_t* {
          const index_t v = p.w.value(st, ch * 8, q0 + q);
          return v >= 0 ? p.vals + v : nullptr;
        });
      else
        copy_elements<TB, Cfg::threads>(sb, tid, [&](int q, int c) -> std::uint16_t {
          const index_t v = p.w.value(st, c, q0 + q);
          return v >= 0 ? p.vals[v] : std::uint16_t(0);
        });
    }
    __device__ void store(int kt, std::uint16_t* sa, std::uint16_t*, int tid) {
      if (!p.a_vec) {
        const int tap = tap_of(kt), q0 = (kt - tb->prefix[tap]) * Cfg::bk;
        gather.store(
            sa, tid, [&](int row, int col) { return where(tap, row, q0 + col); }, p.chain);
      }
    }
    __device__ void transform(int kt, std::uint16_t* sa, std::uint16_t*, float* sx, int tid) {
      if (p.a_vec) {
        const int tap = tap_of(kt), q0 = (kt - tb->prefix[tap]) * Cfg::bk;
        dz_type::transform(
            sa, sx, tid, [&](int row, int ch) { return where(tap, row, q0 + ch * 8); }, p.chain);
      }
    }
    template <class Visit>
    __device__ void epilogue(const Visit& visit, std::uint16_t*) {
      const index_t P = p.d.in_pixels(), C = p.d.in_c;
      visit([&](int m, int n, float v0, float v1) {
        const index_t px = p0 + m, c = c0 + n;
        if (px >= P || c >= C) return;
        p.dX[px * C + c] = tc_value<V>::from_float(v0);
        if (c + 1 < C) p.dX[px * C + c + 1] = tc_value<V>::from_float(v1);
      });
    }
  };
};

/// The problem conv_grad_x launches for a view; its wgmma_shape says whether
/// it has a wgmma mainloop (else mma.sync runs whatever is asked).
template <class TView, class V, class Chain>
using conv_grad_x_problem_of = conv_grad_x_problem<
    TView, V, Chain,
    std::conditional_t<Chain::has_activation, with_stages<conv_grad_x_config<TView::tile_rows>, 6>,
                       conv_grad_x_config<TView::tile_rows>>>;

/// conv dX for dense / channel (rows_t_view) and block (block_t_view, Cin % BC = 0).
template <class TView, class V, class Chain>
void conv_grad_x(const TView& w, const V* vals, const V* dY, const float* stash, V* dX,
                 const conv_dims& d, const Chain& chain, cudaStream_t stream, bool wgmma) {
  using P = conv_grad_x_problem_of<TView, V, Chain>;
  using Cfg = typename P::config;
  if (d.taps() > conv_max_taps)
    throw argument_error(detail::message("stco gather_tc conv dX: ", d.kh, "x", d.kw,
                                         " kernels have more than ", conv_max_taps, " taps"));
  if (!w.conv_ok(d.in_c))
    throw argument_error(detail::message(
        "stco gather_tc conv dX: Cin = ", d.in_c,
        " does not split into whole block-columns of the layout (Cin % BC = 0, BC % 16 = 0)"));
  if (d.in_pixels() == 0 || d.in_c == 0) return;
  P p{w,
      reinterpret_cast<const std::uint16_t*>(vals),
      reinterpret_cast<const std::uint16_t*>(dY),
      stash,
      reinterpret_cast<std::uint16_t*>(dX),
      d,
      chain,
      aligned16(dY) && w.z_runs8() && d.out_c % 8 == 0 &&
          (!Chain::has_activation || aligned16(stash)),
      aligned16(vals) && w.chunked() && d.in_c % 8 == 0};
  p.wgmma = wgmma;
  launch_problem<P>(p,
                    dim3(static_cast<unsigned>(ceil_div(d.in_pixels(), Cfg::bm)),
                         static_cast<unsigned>(ceil_div(d.in_c, Cfg::bn))),
                    stream);
}

// ------------------------------------------------------------- tile_wise, tile_vector ---------

inline constexpr index_t conv_seg_kb = 256;

/// The conv policy of seg_grad_x_kernel: the CTA owns dX[p0 .. p0 + 64, c0 .. c0 + 256) with
/// c0 = blockIdx.x·256; segment jj is tap jj's column range [jj·Cin + c0, …); dZ is read at the
/// output pixel that reaches each input pixel through the tap, the tile's channels along the row.
template <class View, class V, class Chain>
struct conv_seg_policy {
  using view = View;
  static constexpr int T = View::tile_rows;
  using shape = seg_config<T, 256, 64, 128, true>;
  static constexpr bool bf16 = tc_value<V>::bf16, has_act = Chain::has_activation;

  View w;
  const int* kstart;  // tiles × (kcols + 1), segment boundaries tap·Cin + cb·256, then K
  int kcols, cblocks;
  const std::uint16_t* vals;
  const std::uint16_t* dY;
  const float* stash;
  std::uint16_t* dX;
  conv_dims d;
  Chain chain;
  bool dz_vec;

  __device__ int tiles() const { return static_cast<int>(w.row_tiles()); }
  __device__ int segments() const { return d.taps(); }
  __device__ int segment(int jj) const { return jj * cblocks + static_cast<int>(blockIdx.x); }
  __device__ index_t base(int jj) const {
    return static_cast<index_t>(jj) * d.in_c + static_cast<index_t>(blockIdx.x) * shape::kb;
  }
  __device__ index_t p0() const { return static_cast<index_t>(blockIdx.y) * shape::nb; }

  struct cta_state {
    const in_pixel* px;
    __device__ cta_state(const conv_seg_policy& p, void* extra)
        : px(static_cast<const in_pixel*>(extra)) {
      auto* o = static_cast<in_pixel*>(extra);
      for (int i = static_cast<int>(threadIdx.x); i < shape::nb; i += 256)
        o[i] = resolve_in_pixel(p.d, p.p0() + i);
    }
  };
  static constexpr int extra_bytes = shape::nb * static_cast<int>(sizeof(in_pixel));

  template <class Tile, int Threads>
  struct dz_loader {
    using async = dz_async<Tile, Threads, V, has_act>;
    static constexpr int act_bytes = async::act_bytes;
    __device__ static dz_chunk where(const conv_seg_policy& p, const cta_state& cs, int t, int jj,
                                     int row, int r) {
      const index_t co = static_cast<index_t>(t) * T + r;
      if (co >= p.d.out_c) return {nullptr, nullptr, 0, 0, 0};
      const index_t po = reaching_pixel(p.d, cs.px[row], jj / p.d.kw, jj % p.d.kw);
      if (po < 0) return {nullptr, nullptr, 0, 0, 0};
      const index_t pos = po * p.d.out_c + co;
      return {p.dY + pos, has_act ? p.stash + pos : nullptr, co, 1, pos};
    }
    __device__ static void fetch(const conv_seg_policy& p, const cta_state& cs, int t, int jj,
                                 int r0, std::uint16_t* s, float* act, int tid) {
      if (p.dz_vec)
        async::fetch(s, act, tid,
                     [&](int row, int ch) { return where(p, cs, t, jj, row, r0 + ch * 8); });
      else
        dz_elements<Tile, Threads, V, has_act>(
            s, tid, [&](int row, int col) { return where(p, cs, t, jj, row, r0 + col); }, p.chain);
    }
    __device__ static void transform(const conv_seg_policy& p, const cta_state& cs, int t, int jj,
                                     int r0, std::uint16_t* s, const float* act, int tid) {
      if (p.dz_vec)
        async::transform(
            s, act, tid, [&](int row, int ch) { return where(p, cs, t, jj, row, r0 + ch * 8); },
            p.chain);
    }
  };

  __device__ void write(const cta_state&, const float* accs, int tid) const {
    const index_t c0 = static_cast<index_t>(blockIdx.x) * shape::kb, P = d.in_pixels(), C = d.in_c,
                  pb = p0();
    for (int e = tid; e < shape::kb * shape::nb; e += 256) {
      const int k = e % shape::kb, n = e / shape::kb;
      const index_t c = c0 + k, px = pb + n;
      if (c < C && px < P) dX[px * C + c] = tc_value<V>::from_float(accs[k * shape::acc_ld + n]);
    }
  }
};

/// conv dX for tile_wise / tile_vector. kstart: tiles × (taps·⌈Cin / 256⌉ + 1) slot starts at the
/// boundaries tap·Cin + cb·256 (then K), as tile_segment_starts(conv_segment_bounds(…)) derives.
template <class View, class V, class Chain>
void conv_grad_x_tiles(const View& w, const int* kstart, const V* vals, const V* dY,
                       const float* stash, V* dX, const conv_dims& d, const Chain& chain,
                       cudaStream_t stream) {
  using P = conv_seg_policy<View, V, Chain>;
  using S = typename P::shape;
  static_assert(S::kb == conv_seg_kb, "conv_seg_kb must match the policy's segment size");
  if (d.in_pixels() == 0 || d.in_c == 0) return;
  const int cblocks = static_cast<int>(ceil_div(d.in_c, S::kb));
  P p{w,
      kstart,
      d.taps() * cblocks,
      cblocks,
      reinterpret_cast<const std::uint16_t*>(vals),
      reinterpret_cast<const std::uint16_t*>(dY),
      stash,
      reinterpret_cast<std::uint16_t*>(dX),
      d,
      chain,
      aligned16(dY) && d.out_c % 8 == 0 && (!Chain::has_activation || aligned16(stash))};
  // Stages (tiles, activation inputs, the piece's columns), the accumulator, the slot ranges.
  const int bytes =
      (S::layout::stage_elems * 2 +
       P::template dz_loader<typename S::layout::tile_b, 256>::act_bytes + S::pm * 4) *
          S::mma::stages +
      S::acc_bytes + static_cast<int>(w.row_tiles()) * d.taps() * 8 + P::extra_bytes;
  auto* kernel = &seg_grad_x_kernel<P>;
  allow_smem(kernel, 227 * 1024);
  kernel<<<dim3(static_cast<unsigned>(cblocks),
                static_cast<unsigned>(ceil_div(d.in_pixels(), S::nb))),
           256, bytes, stream>>>(p);
  STCO_CUDA_CHECK(cudaGetLastError());
}

}  // namespace stco::kernel::cuda::gather_tc
