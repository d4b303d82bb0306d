// stco/kernel/cuda/gather_tc/conv_grad_w.cuh — conv dW at the kept addresses: per row tile,
// dW_t[rows, positions] = dZ_tᵀ·im2col(X)[:, cols_t], reducing over output pixels; dZ formed from
// dY (and the stash) on load, the im2col gathered as in the forward, the tile written back in the
// compressed order (tile_vector sampled at its N:M positions).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "stco/core/cuda/check.cuh"
#include "stco/kernel/cuda/gather_tc/configs.cuh"
#include "stco/kernel/cuda/gather_tc/conv_geometry.cuh"
#include "stco/kernel/cuda/gather_tc/gemm_kernel.cuh"
#include "stco/kernel/cuda/gather_tc/launch.cuh"
#include "stco/kernel/cuda/gather_tc/loaders.cuh"
#include "stco/kernel/cuda/gather_tc/matmul_grad_w.cuh"
#include "stco/kernel/cuda/gather_tc/views.cuh"
#include "stco/kernel/cuda/gather_tc/wgmma_sm90.cuh"

namespace stco::kernel::cuda::gather_tc {

template <class View, class V, class Chain, class Cfg>
struct conv_grad_w_problem {
  using config = Cfg;
  static constexpr bool a_kcontig = false, b_kcontig = false;  // pixel rows of dZ and of im2col
  static constexpr bool bf16 = tc_value<V>::bf16;
  static constexpr bool has_act = Chain::has_activation;
  static constexpr int epilogue_smem_bytes = Cfg::bm * (Cfg::bn + 1) * 4;
  static constexpr int extra_smem_bytes = Cfg::bn * static_cast<int>(sizeof(tap_offset));
  using layout = stage_layout<Cfg, false, false>;
  using dz_type = dz_async<typename layout::tile_a, Cfg::threads, V, has_act>;
  static constexpr int stage_extra_bytes = dz_type::act_bytes;

  View w;
  const std::uint16_t* X;
  const std::uint16_t* dY;
  const float* stash;
  std::uint16_t* dvals;
  conv_dims d;
  Chain chain;
  bool dz_vec, x_vec;
  bool wgmma = false;   // run the sm_90a mainloop (the route's instruction)
  int slices = 1;       // the reduction over pixels split across blockIdx.z
  float* ws = nullptr;  // fp32 workspace the slices add into (slices > 1)

  struct cta {
    const conv_grad_w_problem& p;
    typename View::state st;
    int q0, kc, kt0, kt1;
    const tap_offset* taps;  // the CTA's BN positions, resolved once
    gather_stage<typename layout::tile_b, Cfg::threads> gather;
    dz_gather_stage<typename layout::tile_a, Cfg::threads, V, has_act> dzg;  // channel's rows

    __device__ cta(const conv_grad_w_problem& pp, void* extra)
        : p(pp),
          st(pp.w.begin(static_cast<int>(blockIdx.y))),
          q0(static_cast<int>(blockIdx.x) * Cfg::bn),
          kc(pp.w.kcount(st)),
          taps(static_cast<const tap_offset*>(extra)) {
      auto* t = static_cast<tap_offset*>(extra);
      for (int i = static_cast<int>(threadIdx.x); i < Cfg::bn; i += Cfg::threads)
        t[i] = resolve_k(pp.d, pp.w.k_index(st, q0 + i));
      const int total = static_cast<int>((pp.d.pixels() + Cfg::bk - 1) / Cfg::bk);
      const int per = (total + pp.slices - 1) / pp.slices;
      kt0 = min(total, static_cast<int>(blockIdx.z) * per);
      kt1 = min(total, kt0 + per);
    }
    __device__ bool active() const { return q0 < kc && (kt1 > kt0 || p.slices == 1); }
    __device__ int ktiles() const { return kt1 - kt0; }

    /// dZ at (pixel px, tile row m), a run of 8 tile rows (vec) or one element.
    __device__ dz_chunk where(index_t px, int m) const {
      const index_t co = p.w.row(st, m);
      if (co < 0 || px >= p.d.pixels()) return {nullptr, nullptr, 0, 0, 0};
      const index_t pos = px * p.d.out_c + co;
      return {p.dY + pos, has_act ? p.stash + pos : nullptr, co, 1, pos};
    }
    __device__ void fetch(int kt, std::uint16_t* sa, std::uint16_t* sb, float* sx, int tid) {
      using TB = typename layout::tile_b;
      const index_t px0 = static_cast<index_t>(kt0 + kt) * Cfg::bk;
      if (p.dz_vec)
        dz_type::fetch(sa, sx, tid, [&](int row, int ch) { return where(px0 + row, ch * 8); });
      else
        dzg.fetch(tid, [&](int row, int m) { return where(px0 + row, m); });
      if (p.x_vec) {
        copy_async<TB, Cfg::threads>(sb, tid, [&](int row, int ch) -> const std::uint16_t* {
          const index_t x = im2col_index(p.d, resolve_pixel(p.d, px0 + row), taps[ch * 8]);
          return x >= 0 ? p.X + x : nullptr;
        });
      } else {
        // Each thread keeps one position (column) and walks its pixels without divisions.
        constexpr int C = TB::contiguous, step = Cfg::threads / C;
        static_assert(Cfg::threads % C == 0 && (TB::rows * C) % Cfg::threads == 0,
                      "conv dW gather: threads must tile the stage evenly");
        const tap_offset tp = taps[tid % C];
        pixel_cursor pc = pixel_cursor::at(p.d, px0 + tid / C);
#pragma unroll
        for (int j = 0; j < decltype(gather)::per_thread; ++j) {
          const index_t x = im2col_index(p.d, pc.origin(p.d), tp);
          gather.v[j] =
              x >= 0 ? __ldg(reinterpret_cast<const unsigned short*>(p.X + x)) : std::uint16_t(0);
          pc.advance(p.d, step);
        }
      }
    }
    __device__ void store(int kt, std::uint16_t* sa, std::uint16_t* sb, int tid) {
      if (!p.x_vec) gather.store(sb, tid);
      if (!p.dz_vec) {
        const index_t px0 = static_cast<index_t>(kt0 + kt) * Cfg::bk;
        dzg.store(
            sa, tid, [&](int row, int m) { return where(px0 + row, m); }, p.chain);
      }
    }
    __device__ void transform(int kt, std::uint16_t* sa, std::uint16_t*, float* sx, int tid) {
      const index_t px0 = static_cast<index_t>(kt0 + kt) * Cfg::bk;
      if (p.dz_vec)
        dz_type::transform(
            sa, sx, tid, [&](int row, int ch) { return where(px0 + row, ch * 8); }, p.chain);
    }
    template <class Visit>
    __device__ void epilogue(const Visit& visit, std::uint16_t* smem) {
      float* s = reinterpret_cast<float*>(smem);
      stage_acc(visit, s, Cfg::bn + 1);
      __syncthreads();
      write_kept_tile<Cfg, View, V>(p.w, st, q0, s, p.dvals, p.ws, static_cast<int>(threadIdx.x));
    }
  };
};

/// The problem conv_grad_w launches for a view; its wgmma_shape says whether
/// it has a wgmma mainloop (else mma.sync runs whatever is asked).
template <class View, class V, class Chain>
using conv_grad_w_problem_of = conv_grad_w_problem<
    View, V, Chain,
    std::conditional_t<Chain::has_activation, grad_w_act_config<View::tile_rows>,
                       grad_w_config<View::tile_rows>>>;

/// Launches conv dW at the kept addresses (every one of the `values` slots written);
/// max_kcount bounds the kept positions of any row tile. The reduction over the batch's pixels is
/// split across CTAs (fp32 sums) when the output tiles alone do not fill the GPU.
template <class View, class V, class Chain>
void conv_grad_w(const View& w, index_t max_kcount, index_t values, const V* X, const V* dY,
                 const float* stash, V* dvals, const conv_dims& d, const Chain& chain,
                 cudaStream_t stream, bool wgmma) {
  using P = conv_grad_w_problem_of<View, V, Chain>;
  using Cfg = typename P::config;
  const index_t tiles = w.row_tiles();
  if (tiles == 0 || max_kcount == 0) return;
  P p{w,
      reinterpret_cast<const std::uint16_t*>(X),
      reinterpret_cast<const std::uint16_t*>(dY),
      stash,
      reinterpret_cast<std::uint16_t*>(dvals),
      d,
      chain,
      aligned16(dY) && w.contiguous_rows() && d.out_c % 8 == 0 &&
          (!Chain::has_activation || aligned16(stash)),
      aligned16(X) && w.runs8() && d.in_c % 8 == 0};
  p.wgmma = wgmma;
  const index_t qblocks = ceil_div(max_kcount, Cfg::bn);
  p.slices = split_slices(qblocks * tiles, ceil_div(d.pixels(), Cfg::bk));
  const dim3 grid(static_cast<unsigned>(qblocks), static_cast<unsigned>(tiles),
                  static_cast<unsigned>(p.slices));
  if (p.slices == 1) {
    launch_problem<P>(p, grid, stream);
    return;
  }
  split_workspace ws(values, stream);
  p.ws = ws.get();
  launch_problem<P>(p, grid, stream);
  ws.finish(dvals);
}

}  // namespace stco::kernel::cuda::gather_tc
