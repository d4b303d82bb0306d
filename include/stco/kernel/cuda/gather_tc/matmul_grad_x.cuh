// stco/kernel/cuda/gather_tc/matmul_grad_x.cuh — dX[K, N] = Wᵀ·dZ, dZ = chain.core_gradient(dY, …)
// formed on load and never written.
//
// dense, channel and block: the transposed views (transposed_views.cuh) make dX a gathered GEMM
// whose output tile is a column tile of W; it runs through gather_gemm_kernel.
//
// tile_wise and tile_vector: segmented_grad_x.cuh, a CTA owning dX[256 k-rows × 128 columns] with
// one segment (its k-block) per tile.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "stco/core/cuda/check.cuh"
#include "stco/kernel/cuda/gather_tc/configs.cuh"
#include "stco/kernel/cuda/gather_tc/gemm_kernel.cuh"
#include "stco/kernel/cuda/gather_tc/launch.cuh"
#include "stco/kernel/cuda/gather_tc/loaders.cuh"
#include "stco/kernel/cuda/gather_tc/segmented_grad_x.cuh"
#include "stco/kernel/cuda/gather_tc/transposed_views.cuh"
#include "stco/kernel/cuda/gather_tc/views.cuh"
#include "stco/kernel/cuda/gather_tc/wgmma_sm90.cuh"

namespace stco::kernel::cuda::gather_tc {

// ---------------------------------------------------------------- dense, channel, block -------

template <class TView, class V, class Chain, class Cfg>
struct matmul_grad_x_problem {
  using config = Cfg;
  static constexpr bool a_kcontig = false, b_kcontig = false;  // Wᵀ rows along K, dZ rows along N
  static constexpr bool bf16 = tc_value<V>::bf16;
  static constexpr bool has_act = Chain::has_activation;
  static constexpr int epilogue_smem_bytes = 0, extra_smem_bytes = 0;
  using layout = stage_layout<Cfg, false, false>;
  using dz_type = dz_async<typename layout::tile_b, Cfg::threads, V, has_act>;
  static constexpr int stage_extra_bytes = dz_type::act_bytes;

  TView w;
  const std::uint16_t* vals;
  const std::uint16_t* dY;
  const float* stash;
  std::uint16_t* dX;
  index_t N;
  Chain chain;
  bool a_vec, dz_vec;
  bool wgmma = false;  // run the sm_90a mainloop (the route's instruction)

  struct cta {
    const matmul_grad_x_problem& p;
    typename TView::state st;
    index_t n0;
    int kc;

    __device__ cta(const matmul_grad_x_problem& pp, void*)
        : p(pp),
          st(pp.w.begin(static_cast<int>(blockIdx.x))),
          n0(static_cast<index_t>(blockIdx.y) * Cfg::bn),
          kc(pp.w.kcount(st)) {}
    __device__ bool active() const { return true; }
    __device__ int ktiles() const { return (kc + Cfg::bk - 1) / Cfg::bk; }

    __device__ dz_chunk where(int q, index_t n) const {
      const index_t r = p.w.z_row(st, q);
      if (r < 0 || n >= p.N) return {nullptr, nullptr, 0, 0, 0};
      const index_t pos = r * p.N + n;
      return {p.dY + pos, has_act ? p.stash + pos : nullptr, r, 0, pos};
    }
    __device__ void fetch(int kt, std::uint16_t* sa, std::uint16_t* sb, float* sx, int tid) {
      using TA = typename layout::tile_a;
      using TB = typename layout::tile_b;
      const int q0 = kt * Cfg::bk;
      if (p.a_vec)
        copy_async<TA, Cfg::threads>(sa, tid, [&](int q, int ch) -> const std::uint16_t* {
          const index_t v = p.w.value(st, ch * 8, q0 + q);
          return v >= 0 ? p.vals + v : nullptr;
        });
      else
        copy_elements<TA, Cfg::threads>(sa, tid, [&](int q, int m) -> std::uint16_t {
          const index_t v = p.w.value(st, m, q0 + q);
          return v >= 0 ? p.vals[v] : std::uint16_t(0);
        });
      if (p.dz_vec)
        dz_type::fetch(sb, sx, tid, [&](int q, int ch) { return where(q0 + q, n0 + ch * 8); });
      else
        dz_elements<TB, Cfg::threads, V, has_act>(
            sb, tid, [&](int q, int col) { return where(q0 + q, n0 + col); }, p.chain);
    }
    __device__ void store(int, std::uint16_t*, std::uint16_t*, int) {}
    __device__ void transform(int kt, std::uint16_t*, std::uint16_t* sb, float* sx, int tid) {
      const int q0 = kt * Cfg::bk;
      if (p.dz_vec)
        dz_type::transform(
            sb, sx, tid, [&](int q, int ch) { return where(q0 + q, n0 + ch * 8); }, p.chain);
    }
    template <class Visit>
    __device__ void epilogue(const Visit& visit, std::uint16_t*) {
      visit([&](int m, int n, float v0, float v1) {
        const index_t k = p.w.out_k(st, m), gn = n0 + n;
        if (k < 0 || gn >= p.N) return;
        const index_t pos = k * p.N + gn;
        if (gn + 1 < p.N) {
          if ((p.N & 1) == 0) {
            *reinterpret_cast<std::uint32_t*>(p.dX + pos) = tc_value<V>::pack(v0, v1);
            return;
          }
          p.dX[pos + 1] = tc_value<V>::from_float(v1);
        }
        p.dX[pos] = tc_value<V>::from_float(v0);
      });
    }
  };
};

/// The problem matmul_grad_x launches for a view (4 stages fit beside the activation inputs), and
/// whether it has a wgmma mainloop (wgmma_shape: the tile shape; without one mma.sync runs whatever
/// is asked).
template <class TView, class V, class Chain>
using matmul_grad_x_problem_of =
    matmul_grad_x_problem<TView, V, Chain, grad_x_config<TView::tile_rows>>;

/// dX = Wᵀ·dZ for dense, channel (rows_t_view) and block (block_t_view).
template <class TView, class V, class Chain>
void matmul_grad_x(const TView& w, const V* vals, const V* dY, const float* stash, V* dX, index_t N,
                   const Chain& chain, cudaStream_t stream, bool wgmma) {
  using P = matmul_grad_x_problem_of<TView, V, Chain>;
  using Cfg = typename P::config;
  const index_t tiles = w.col_tiles();
  if (tiles == 0 || N == 0) return;
  P p{w,
      reinterpret_cast<const std::uint16_t*>(vals),
      reinterpret_cast<const std::uint16_t*>(dY),
      stash,
      reinterpret_cast<std::uint16_t*>(dX),
      N,
      chain,
      aligned16(vals) && w.chunked(),
      aligned16(dY) && N % 8 == 0 && (!Chain::has_activation || aligned16(stash))};
  p.wgmma = wgmma;
  launch_problem<P>(
      p, dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(ceil_div(N, Cfg::bn))), stream);
}

// ------------------------------------------------------------- tile_wise, tile_vector ---------

/// The matmul policy of seg_grad_x_kernel: the CTA owns dX[kb·256 .., n0 ..], one segment (its
/// k-block); dZ rows t·T + r, along N.
template <class View, class V, class Chain>
struct matmul_seg_policy {
  using view = View;
  static constexpr int T = View::tile_rows;
  using shape = seg_config<T, 256, 64, 128, false>;
  static constexpr bool bf16 = tc_value<V>::bf16, has_act = Chain::has_activation;

  View w;
  const int* kstart;  // tiles × (kcols + 1), segment boundaries j·256
  int kcols;
  const std::uint16_t* vals;
  const std::uint16_t* dY;
  const float* stash;
  std::uint16_t* dX;
  index_t N;
  Chain chain;
  bool dz_vec;

  __device__ int tiles() const { return static_cast<int>(w.row_tiles()); }
  __device__ int segments() const { return 1; }
  __device__ int segment(int) const { return static_cast<int>(blockIdx.x); }
  __device__ index_t base(int) const { return static_cast<index_t>(blockIdx.x) * shape::kb; }
  __device__ index_t n0() const { return static_cast<index_t>(blockIdx.y) * shape::nb; }

  struct cta_state {
    __device__ cta_state(const matmul_seg_policy&, void*) {}
  };

  template <class Tile, int Threads>
  struct dz_loader {
    using async = dz_async<Tile, Threads, V, has_act>;
    static constexpr int act_bytes = async::act_bytes;
    __device__ static dz_chunk where(const matmul_seg_policy& p, int t, int r, index_t n) {
      const index_t row = static_cast<index_t>(t) * T + r;
      if (row >= p.w.R || n >= p.N) return {nullptr, nullptr, 0, 0, 0};
      const index_t pos = row * p.N + n;
      return {p.dY + pos, has_act ? p.stash + pos : nullptr, row, 0, pos};
    }
    __device__ static void fetch(const matmul_seg_policy& p, const cta_state&, int t, int, int r0,
                                 std::uint16_t* s, float* act, int tid) {
      const index_t n0 = p.n0();
      if (p.dz_vec)
        async::fetch(s, act, tid, [&](int r, int ch) { return where(p, t, r0 + r, n0 + ch * 8); });
      else
        dz_elements<Tile, Threads, V, has_act>(
            s, tid, [&](int r, int col) { return where(p, t, r0 + r, n0 + col); }, p.chain);
    }
    __device__ static void transform(const matmul_seg_policy& p, const cta_state&, int t, int,
                                     int r0, std::uint16_t* s, const float* act, int tid) {
      const index_t n0 = p.n0();
      if (p.dz_vec)
        async::transform(
            s, act, tid, [&](int r, int ch) { return where(p, t, r0 + r, n0 + ch * 8); }, p.chain);
    }
  };

  __device__ void write(const cta_state&, const float* accs, int tid) const {
    const index_t k0 = base(0), n0 = this->n0();
    constexpr int half_nb = shape::nb / 2;
    for (int e = tid; e < shape::kb * half_nb; e += 256) {
      const int k = e / half_nb, n = (e % half_nb) * 2;
      const index_t gk = k0 + k, gn = n0 + n;
      if (gk >= w.K || gn >= N) continue;
      const float* s = accs + k * shape::acc_ld + n;
      const index_t pos = gk * N + gn;
      if (gn + 1 < N && (N & 1) == 0) {
        *reinterpret_cast<std::uint32_t*>(dX + pos) = tc_value<V>::pack(s[0], s[1]);
      } else {
        dX[pos] = tc_value<V>::from_float(s[0]);
        if (gn + 1 < N) dX[pos + 1] = tc_value<V>::from_float(s[1]);
      }
    }
  }
};

/// Segment size of matmul_grad_x_tiles: kstart must hold, per tile, the first slot at each
/// multiple of this (tile_segment_starts with matmul_segment_bounds).
inline constexpr index_t matmul_seg_kb = 256;

/// dX = Wᵀ·dZ for tile_wise / tile_vector. kstart: tiles × (⌈K / 256⌉ + 1) slot starts.
template <class View, class V, class Chain>
void matmul_grad_x_tiles(const View& w, const int* kstart, const V* vals, const V* dY,
                         const float* stash, V* dX, index_t N, const Chain& chain,
                         cudaStream_t stream) {
  using P = matmul_seg_policy<View, V, Chain>;
  using S = typename P::shape;
  static_assert(S::kb == matmul_seg_kb, "matmul_seg_kb must match the policy's segment size");
  const index_t kblocks = ceil_div(w.K, S::kb);
  if (kblocks == 0 || N == 0) return;
  P p{w,
      kstart,
      static_cast<int>(kblocks),
      reinterpret_cast<const std::uint16_t*>(vals),
      reinterpret_cast<const std::uint16_t*>(dY),
      stash,
      reinterpret_cast<std::uint16_t*>(dX),
      N,
      chain,
      aligned16(dY) && N % 8 == 0 && (!Chain::has_activation || aligned16(stash))};
  // Stages (tiles, activation inputs, the piece's columns), the accumulator, the slot ranges.
  const int bytes =
      (S::layout::stage_elems * 2 +
       P::template dz_loader<typename S::layout::tile_b, 256>::act_bytes + S::pm * 4) *
          S::mma::stages +
      S::acc_bytes + static_cast<int>(w.row_tiles()) * 8;
  auto* kernel = &seg_grad_x_kernel<P>;
  allow_smem(kernel, 227 * 1024);
  kernel<<<dim3(static_cast<unsigned>(kblocks), static_cast<unsigned>(ceil_div(N, S::nb))), 256,
           bytes, stream>>>(p);
  STCO_CUDA_CHECK(cudaGetLastError());
}

}  // namespace stco::kernel::cuda::gather_tc
