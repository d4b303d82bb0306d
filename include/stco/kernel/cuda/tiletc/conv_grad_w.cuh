// stco/kernel/cuda/tiletc/conv_grad_w.cuh — conv dW at the kept addresses: per row tile,
// dW_t[rows, positions] = dZ_tᵀ·im2col(X)[:, cols_t], reducing over output pixels; dZ formed from
// dY (and the stash) on load, the im2col gathered as in the forward, the tile written back in the
// compressed order (tile_vector sampled at its N:M positions).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "stco/core/cuda/check.cuh"
#include "stco/kernel/cuda/tiletc/configs.cuh"
#include "stco/kernel/cuda/tiletc/conv_geometry.cuh"
#include "stco/kernel/cuda/tiletc/gemm_kernel.cuh"
#include "stco/kernel/cuda/tiletc/launch.cuh"
#include "stco/kernel/cuda/tiletc/loaders.cuh"
#include "stco/kernel/cuda/tiletc/matmul_grad_w.cuh"
#include "stco/kernel/cuda/tiletc/views.cuh"
#include "stco/kernel/cuda/tiletc/wgmma_sm90.cuh"

namespace stco::kernel::cuda::tiletc {

template <class View, class V, class Chain, class Cfg>
struct conv_grad_w_problem {
  using config = Cfg;
  static constexpr bool a_kcontig = false, b_kcontig = false;  // pixel rows of dZ and of im2col
  static constexpr bool bf16 = tc_value<V>::bf16;
  static constexpr bool has_act = Chain::has_activation;
  static constexpr int epilogue_smem_bytes = Cfg::bm * (Cfg::bn + 1) * 4;
  static constexpr int extra_smem_bytes = Cfg::bn * static_cast<int>(sizeof(tap_offset));
  using layout = stage_layout<Cfg, false, false>;

  View w;
  const std::uint16_t* X;
  const std::uint16_t* dY;
  const float* stash;
  std::uint16_t* dvals;
  conv_dims d;
  Chain chain;
  bool dz_vec, x_vec;
  bool wgmma = false;  // run the sm_90a mainloop (set from use_wgmma())

  struct cta {
    const conv_grad_w_problem& p;
    typename View::state st;
    int q0, kc;
    const tap_offset* taps;  // the CTA's BN positions, resolved once
    dz_stage<typename layout::tile_a, Cfg::threads, V, has_act> dz;
    gather_stage<typename layout::tile_b, Cfg::threads> gather;

    __device__ cta(const conv_grad_w_problem& pp, void* extra)
        : p(pp),
          st(pp.w.begin(static_cast<int>(blockIdx.y))),
          q0(static_cast<int>(blockIdx.x) * Cfg::bn),
          kc(pp.w.kcount(st)),
          taps(static_cast<const tap_offset*>(extra)) {
      auto* t = static_cast<tap_offset*>(extra);
      for (int i = static_cast<int>(threadIdx.x); i < Cfg::bn; i += Cfg::threads)
        t[i] = resolve_k(pp.d, pp.w.k_index(st, q0 + i));
    }
    __device__ bool active() const { return q0 < kc; }
    __device__ int ktiles() const {
      return static_cast<int>((p.d.pixels() + Cfg::bk - 1) / Cfg::bk);
    }

    /// dZ at (pixel px, tile row m), a run of 8 tile rows (vec) or one element.
    __device__ dz_chunk where(index_t px, int m) const {
      const index_t co = p.w.row(st, m);
      if (co < 0 || px >= p.d.pixels()) return {nullptr, nullptr, 0, 0, 0};
      const index_t pos = px * p.d.out_c + co;
      return {p.dY + pos, has_act ? p.stash + pos : nullptr, co, 1, pos};
    }
    __device__ void fetch(int kt, std::uint16_t* sa, std::uint16_t* sb, int tid) {
      using TA = typename layout::tile_a;
      using TB = typename layout::tile_b;
      const index_t px0 = static_cast<index_t>(kt) * Cfg::bk;
      if (p.dz_vec)
        dz.fetch(tid, [&](int row, int ch) { return where(px0 + row, ch * 8); });
      else
        dz_elements<TA, Cfg::threads, V, has_act>(
            sa, tid, [&](int row, int m) { return where(px0 + row, m); }, p.chain);
      if (p.x_vec) {
        copy_async<TB, Cfg::threads>(sb, tid, [&](int row, int ch) -> const std::uint16_t* {
          const index_t x = im2col_index(p.d, resolve_pixel(p.d, px0 + row), taps[ch * 8]);
          return x >= 0 ? p.X + x : nullptr;
        });
      } else {
        gather.fetch(tid, [&](int row, int col) -> const std::uint16_t* {
          const index_t x = im2col_index(p.d, resolve_pixel(p.d, px0 + row), taps[col]);
          return x >= 0 ? p.X + x : nullptr;
        });
      }
    }
    __device__ void store(int kt, std::uint16_t* sa, std::uint16_t* sb, int tid) {
      const index_t px0 = static_cast<index_t>(kt) * Cfg::bk;
      if (p.dz_vec)
        dz.store(
            sa, tid, [&](int row, int ch) { return where(px0 + row, ch * 8); }, p.chain);
      if (!p.x_vec) gather.store(sb, tid);
    }
    template <class Visit>
    __device__ void epilogue(const Visit& visit, std::uint16_t* smem) {
      float* s = reinterpret_cast<float*>(smem);
      stage_acc(visit, s, Cfg::bn + 1);
      __syncthreads();
      write_kept_tile<Cfg, View, V>(p.w, st, q0, s, p.dvals, static_cast<int>(threadIdx.x));
    }
  };
};

/// Launches conv dW at the kept addresses; max_kcount bounds the kept positions of any row tile.
template <class View, class V, class Chain>
void conv_grad_w(const View& w, index_t max_kcount, const V* X, const V* dY, const float* stash,
                 V* dvals, const conv_dims& d, const Chain& chain, cudaStream_t stream) {
  using Cfg = grad_w_config<View::tile_rows>;
  using P = conv_grad_w_problem<View, V, Chain, Cfg>;
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
  p.wgmma = use_wgmma();
  launch_problem<P>(
      p, dim3(static_cast<unsigned>(ceil_div(max_kcount, Cfg::bn)), static_cast<unsigned>(tiles)),
      stream);
}

}  // namespace stco::kernel::cuda::tiletc
