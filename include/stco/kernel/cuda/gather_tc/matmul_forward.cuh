// stco/kernel/cuda/gather_tc/matmul_forward.cuh — Y[R, N] = epi(W·X) for a weight whose kept part
// is dense per row tile (tile_wise, tile_vector, block, channel, dense), X row-major [K, N].
//
// One CTA per (row tile, BN columns): the kept rows of X named by the tile's positions are gathered
// into shared memory with cp.async, the tile's value panel streams beside them, and the dense MMA
// runs over the gathered K. The epilogue applies the chain (bias, scale, activation, residual) at
// pos = r·N + n and stashes the activation input when the chain has one.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "stco/core/cuda/check.cuh"
#include "stco/kernel/cuda/gather_tc/configs.cuh"
#include "stco/kernel/cuda/gather_tc/expand_nm.cuh"
#include "stco/kernel/cuda/gather_tc/gemm_kernel.cuh"
#include "stco/kernel/cuda/gather_tc/launch.cuh"
#include "stco/kernel/cuda/gather_tc/loaders.cuh"
#include "stco/kernel/cuda/gather_tc/views.cuh"
#include "stco/kernel/cuda/gather_tc/wgmma_sm90.cuh"

namespace stco::kernel::cuda::gather_tc {

template <class View, class V, class Chain, class Cfg>
struct matmul_forward_problem {
  using config = Cfg;
  static constexpr bool a_kcontig = View::a_kcontig, b_kcontig = false;
  static constexpr bool bf16 = tc_value<V>::bf16;
  static constexpr int epilogue_smem_bytes = 0, extra_smem_bytes = 0, stage_extra_bytes = 0;
  using layout = stage_layout<Cfg, a_kcontig, b_kcontig>;

  View w;
  const std::uint16_t* vals;
  const std::uint16_t* X;
  std::uint16_t* Y;
  float* stash;
  index_t N;
  Chain chain;
  bool a_vec, b_vec;   // 16-byte chunks possible for the values / for X rows
  bool wgmma = false;  // run the sm_90a mainloop (the route's instruction)

  struct cta {
    const matmul_forward_problem& p;
    typename View::state st;
    index_t n0;
    int kc;
    struct none {
      __device__ void fetch(const View&, const typename View::state&, const std::uint16_t*, int,
                            int) {}
      __device__ void store(std::uint16_t*, int) const {}
    };
    std::conditional_t<View::expands, nm_expand_stage<typename layout::tile_a, Cfg::threads, View>,
                       none>
        expand;

    __device__ cta(const matmul_forward_problem& pp, void*)
        : p(pp),
          st(pp.w.begin(static_cast<int>(blockIdx.x))),
          n0(static_cast<index_t>(blockIdx.y) * Cfg::bn),
          kc(pp.w.kcount(st)) {}
    __device__ bool active() const { return true; }
    __device__ int ktiles() const { return (kc + Cfg::bk - 1) / Cfg::bk; }

    __device__ void fetch(int kt, std::uint16_t* sa, std::uint16_t* sb, float*, int tid) {
      using TA = typename layout::tile_a;
      using TB = typename layout::tile_b;
      const int q0 = kt * Cfg::bk;
      if constexpr (View::expands) {
        expand.fetch(p.w, st, p.vals, q0, tid);
      } else {
        auto where = [&](int row, int col) {  // (m, q) of a tile element
          return a_kcontig ? p.w.value(st, row, q0 + col) : p.w.value(st, col, q0 + row);
        };
        if (p.a_vec)
          copy_async<TA, Cfg::threads>(sa, tid, [&](int row, int ch) -> const std::uint16_t* {
            const index_t v = where(row, ch * 8);
            return v >= 0 ? p.vals + v : nullptr;
          });
        else
          copy_elements<TA, Cfg::threads>(sa, tid, [&](int row, int col) -> std::uint16_t {
            const index_t v = where(row, col);
            return v >= 0 ? p.vals[v] : std::uint16_t(0);
          });
      }
      if (p.b_vec)
        copy_async<TB, Cfg::threads>(sb, tid, [&](int row, int ch) -> const std::uint16_t* {
          const index_t k = p.w.k_index(st, q0 + row), n = n0 + ch * 8;
          return k >= 0 && n < p.N ? p.X + k * p.N + n : nullptr;
        });
      else
        copy_elements<TB, Cfg::threads>(sb, tid, [&](int row, int col) -> std::uint16_t {
          const index_t k = p.w.k_index(st, q0 + row), n = n0 + col;
          return k >= 0 && n < p.N ? p.X[k * p.N + n] : std::uint16_t(0);
        });
    }
    __device__ void store(int, std::uint16_t* sa, std::uint16_t*, int tid) {
      if constexpr (View::expands) expand.store(sa, tid);
    }
    __device__ void transform(int, std::uint16_t*, std::uint16_t*, float*, int) {}

    template <class Visit>
    __device__ void epilogue(const Visit& visit, std::uint16_t*) {
      visit([&](int m, int n, float v0, float v1) {
        const index_t r = p.w.row(st, m), gn = n0 + n;
        if (r < 0 || gn >= p.N) return;
        const index_t pos = r * p.N + gn;
        const bool stash = Chain::has_activation && p.stash;
        float a0 = 0.f, a1 = 0.f;
        const float y0 = p.chain.apply(v0, r, pos, &a0);
        if (gn + 1 < p.N) {
          const float y1 = p.chain.apply(v1, r, pos + 1, &a1);
          if ((p.N & 1) == 0) {  // pos is even: 4- and 8-byte stores
            *reinterpret_cast<std::uint32_t*>(p.Y + pos) = tc_value<V>::pack(y0, y1);
            if (stash) *reinterpret_cast<float2*>(p.stash + pos) = make_float2(a0, a1);
            return;
          }
          p.Y[pos + 1] = tc_value<V>::from_float(y1);
          if (stash) p.stash[pos + 1] = a1;
        }
        p.Y[pos] = tc_value<V>::from_float(y0);
        if (stash) p.stash[pos] = a0;
      });
    }
  };
};

/// Rows no tile produces (channel's removed rows) still get epi(0): blockIdx.y walks the rows,
/// the threads of x the columns (no divisions, coalesced).
template <class V, class Row, class Chain>
__global__ void fill_rows_kernel(const Row* rows, index_t count, index_t N, std::uint16_t* Y,
                                 float* stash, Chain chain) {
  for (index_t j = blockIdx.y; j < count; j += gridDim.y) {
    const index_t r = static_cast<index_t>(rows[j]);
    for (index_t n = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; n < N;
         n += static_cast<index_t>(gridDim.x) * blockDim.x) {
      const index_t pos = r * N + n;
      float* sh = Chain::has_activation && stash ? stash + pos : nullptr;
      Y[pos] = tc_value<V>::from_float(chain.apply(0.f, r, pos, sh));
    }
  }
}

/// Layouts whose tiles cover every row need no fill.
template <class V, class View, class Chain>
void fill_removed_rows(const View&, index_t, std::uint16_t*, float*, const Chain&, cudaStream_t) {}
template <class V, int BM, class Row, class Chain>
void fill_removed_rows(const rows_view<BM, Row>& w, index_t N, std::uint16_t* Y, float* stash,
                       const Chain& chain, cudaStream_t stream) {
  const index_t count = w.R - w.kr;
  if (count <= 0 || !w.removed || N == 0) return;
  const dim3 grid(static_cast<unsigned>(std::min<index_t>(ceil_div(N, 256), 64)),
                  static_cast<unsigned>(std::min<index_t>(count, 4096)));
  fill_rows_kernel<V><<<grid, 256, 0, stream>>>(w.removed, count, N, Y, stash, chain);
  STCO_CUDA_CHECK(cudaGetLastError());
}

/// The problem matmul_forward launches for a view; its wgmma_shape says
/// whether it has a wgmma mainloop (else mma.sync runs whatever is asked).
template <class View, class V, class Chain>
using matmul_forward_problem_of =
    matmul_forward_problem<View, V, Chain, forward_config<View::tile_rows>>;

/// Launches Y = epi(W·X). vals, X, Y, stash: device pointers; stash (R·N floats) may be null.
template <class View, class V, class Chain>
void matmul_forward(const View& w, const V* vals, const V* X, V* Y, index_t N, const Chain& chain,
                    float* stash, cudaStream_t stream, bool wgmma) {
  using P = matmul_forward_problem_of<View, V, Chain>;
  using Cfg = typename P::config;
  const index_t tiles = w.row_tiles();
  if (tiles == 0 || N == 0) return;
  P p{w,
      reinterpret_cast<const std::uint16_t*>(vals),
      reinterpret_cast<const std::uint16_t*>(X),
      reinterpret_cast<std::uint16_t*>(Y),
      stash,
      N,
      chain,
      aligned16(vals) && w.chunked(),
      aligned16(X) && N % 8 == 0};
  p.wgmma = wgmma;
  launch_problem<P>(
      p, dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(ceil_div(N, Cfg::bn))), stream);
  fill_removed_rows<V>(w, N, reinterpret_cast<std::uint16_t*>(Y), stash, chain, stream);
}

}  // namespace stco::kernel::cuda::gather_tc
