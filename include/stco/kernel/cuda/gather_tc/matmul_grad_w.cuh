// stco/kernel/cuda/gather_tc/matmul_grad_w.cuh — dW at the kept addresses only: per row tile,
// dW_t[rows, positions] = dZ_t · X[cols_t]ᵀ, a dense MMA over the gathered X rows, written back in
// the layout's compressed order. dZ = chain.core_gradient(dY, …) is formed while dY is loaded.
//
// One CTA per (row tile, 128 kept positions), reducing over N. The tile is staged through shared
// memory so the compressed writes are contiguous; tile_vector samples its N:M positions there.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "stco/core/cuda/check.cuh"
#include "stco/kernel/cuda/gather_tc/configs.cuh"
#include "stco/kernel/cuda/gather_tc/gemm_kernel.cuh"
#include "stco/kernel/cuda/gather_tc/launch.cuh"
#include "stco/kernel/cuda/gather_tc/loaders.cuh"
#include "stco/kernel/cuda/gather_tc/views.cuh"
#include "stco/kernel/cuda/gather_tc/wgmma_sm90.cuh"

namespace stco::kernel::cuda::gather_tc {

/// Writes a CTA's [BM × BN] fp32 tile (row stride BN + 1 in `s`) to the values at the kept
/// addresses of positions [q0, q0 + BN) of row tile `st`, in the compressed order; with a split
/// reduction (ws not null) it is added into the fp32 workspace instead.
template <class Cfg, class View, class V>
__device__ void write_kept_tile(const View& w, const typename View::state& st, int q0,
                                const float* s, std::uint16_t* dvals, float* ws, int tid) {
  auto put = [&](index_t i, float v) {
    if (ws)
      atomicAdd(ws + i, v);
    else
      dvals[i] = tc_value<V>::from_float(v);
  };
  constexpr int ld = Cfg::bn + 1;
  if constexpr (View::expands) {
    // Group g, slot j, tile row m (m fastest: contiguous values); the offset picks the position.
    constexpr int N = View::n, M = View::m;
    const int g0 = q0 / M, groups = min(Cfg::bn / M, (w.kcount(st) - q0) / M);
    const int total = groups * N * Cfg::bm;
    constexpr std::uint32_t mask = (1u << View::bits) - 1u;
    for (int e = tid; e < total; e += Cfg::threads) {
      const int m = e % Cfg::bm, gs = e / Cfg::bm, g = gs / N, j = gs % N;
      if (m >= View::tile_rows) continue;
      const index_t i = w.slot_value(st, g0 + g, j, m);
      const int o = static_cast<int>(w.offsets8(i & ~index_t{7}) >> (View::bits * (i & 7))) &
                    static_cast<int>(mask);
      put(i, s[m * ld + g * M + o]);
    }
  } else {
    for (int e = tid; e < Cfg::bm * Cfg::bn; e += Cfg::threads) {
      const int m = View::a_kcontig ? e / Cfg::bn : e % Cfg::bm;
      const int q = View::a_kcontig ? e % Cfg::bn : e / Cfg::bm;
      const index_t v = w.value(st, m, q0 + q);
      if (v >= 0) put(v, s[m * ld + q]);
    }
  }
}

/// Stores the visited accumulators as an fp32 tile with row stride ld.
template <class Visit>
__device__ void stage_acc(const Visit& visit, float* s, int ld) {
  visit([&](int m, int n, float v0, float v1) {
    s[m * ld + n] = v0;
    s[m * ld + n + 1] = v1;
  });
}

template <class View, class V, class Chain, class Cfg>
struct matmul_grad_w_problem {
  using config = Cfg;
  static constexpr bool a_kcontig = true, b_kcontig = true;  // rows of dY and of X, along N
  static constexpr bool bf16 = tc_value<V>::bf16;
  static constexpr bool has_act = Chain::has_activation;
  static constexpr int epilogue_smem_bytes = Cfg::bm * (Cfg::bn + 1) * 4, extra_smem_bytes = 0;
  using layout = stage_layout<Cfg, true, true>;
  using dz_type = dz_async<typename layout::tile_a, Cfg::threads, V, has_act>;
  static constexpr int stage_extra_bytes = dz_type::act_bytes;

  View w;
  const std::uint16_t* X;
  const std::uint16_t* dY;
  const float* stash;
  std::uint16_t* dvals;
  index_t N;
  Chain chain;
  bool dz_vec, x_vec;
  bool wgmma = false;   // run the sm_90a mainloop (the route's instruction)
  int slices = 1;       // the reduction over N split across blockIdx.z
  float* ws = nullptr;  // fp32 workspace the slices add into (slices > 1)

  struct cta {
    const matmul_grad_w_problem& p;
    typename View::state st;
    int q0, kc, kt0, kt1;

    __device__ cta(const matmul_grad_w_problem& pp, void*)
        : p(pp),
          st(pp.w.begin(static_cast<int>(blockIdx.y))),
          q0(static_cast<int>(blockIdx.x) * Cfg::bn),
          kc(pp.w.kcount(st)) {
      const int total = static_cast<int>((pp.N + Cfg::bk - 1) / Cfg::bk);
      const int per = (total + pp.slices - 1) / pp.slices;
      kt0 = min(total, static_cast<int>(blockIdx.z) * per);
      kt1 = min(total, kt0 + per);
    }
    __device__ bool active() const { return q0 < kc && (kt1 > kt0 || p.slices == 1); }
    __device__ int ktiles() const { return kt1 - kt0; }

    __device__ dz_chunk where(int kt, int m, int col) const {
      const index_t r = p.w.row(st, m), n = static_cast<index_t>(kt0 + kt) * Cfg::bk + col;
      if (r < 0 || n >= p.N) return {nullptr, nullptr, 0, 0, 0};
      const index_t pos = r * p.N + n;
      return {p.dY + pos, has_act ? p.stash + pos : nullptr, r, 0, pos};
    }
    __device__ void fetch(int kt, std::uint16_t* sa, std::uint16_t* sb, float* sx, int tid) {
      using TA = typename layout::tile_a;
      using TB = typename layout::tile_b;
      if (p.dz_vec)
        dz_type::fetch(sa, sx, tid, [&](int m, int ch) { return where(kt, m, ch * 8); });
      else
        dz_elements<TA, Cfg::threads, V, has_act>(
            sa, tid, [&](int m, int col) { return where(kt, m, col); }, p.chain);
      const index_t n0 = static_cast<index_t>(kt0 + kt) * Cfg::bk;
      if (p.x_vec)
        copy_async<TB, Cfg::threads>(sb, tid, [&](int q, int ch) -> const std::uint16_t* {
          const index_t k = p.w.k_index(st, q0 + q), n = n0 + ch * 8;
          return k >= 0 && n < p.N ? p.X + k * p.N + n : nullptr;
        });
      else
        copy_elements<TB, Cfg::threads>(sb, tid, [&](int q, int col) -> std::uint16_t {
          const index_t k = p.w.k_index(st, q0 + q), n = n0 + col;
          return k >= 0 && n < p.N ? p.X[k * p.N + n] : std::uint16_t(0);
        });
    }
    __device__ void store(int, std::uint16_t*, std::uint16_t*, int) {}
    __device__ void transform(int kt, std::uint16_t* sa, std::uint16_t*, float* sx, int tid) {
      if (p.dz_vec)
        dz_type::transform(
            sa, sx, tid, [&](int m, int ch) { return where(kt, m, ch * 8); }, p.chain);
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

/// The problem matmul_grad_w launches for a view; its wgmma_shape says whether
/// it has a wgmma mainloop (else mma.sync runs whatever is asked).
template <class View, class V, class Chain>
using matmul_grad_w_problem_of = matmul_grad_w_problem<
    View, V, Chain,
    std::conditional_t<Chain::has_activation, grad_w_act_config<View::tile_rows>,
                       grad_w_config<View::tile_rows>>>;

/// Launches dvals = dW at the kept addresses (every one of the `values` slots written).
/// max_kcount bounds the kept positions of any row tile (the grid's width); stash: the forward's
/// activation inputs (R·N floats, needed when the chain has an activation). When the output
/// tiles are too few to fill the GPU, the reduction over N is split and summed in fp32.
template <class View, class V, class Chain>
void matmul_grad_w(const View& w, index_t max_kcount, index_t values, const V* X, const V* dY,
                   const float* stash, V* dvals, index_t N, const Chain& chain, cudaStream_t stream,
                   bool wgmma) {
  using P = matmul_grad_w_problem_of<View, V, Chain>;
  using Cfg = typename P::config;
  const index_t tiles = w.row_tiles();
  if (tiles == 0 || max_kcount == 0) return;
  const auto* dy = reinterpret_cast<const std::uint16_t*>(dY);
  P p{w,
      reinterpret_cast<const std::uint16_t*>(X),
      dy,
      stash,
      reinterpret_cast<std::uint16_t*>(dvals),
      N,
      chain,
      aligned16(dY) && N % 8 == 0 && (!Chain::has_activation || aligned16(stash)),
      aligned16(X) && N % 8 == 0};
  p.wgmma = wgmma;
  const index_t qblocks = ceil_div(max_kcount, Cfg::bn);
  p.slices = split_slices(qblocks * tiles, ceil_div(N, Cfg::bk));
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
