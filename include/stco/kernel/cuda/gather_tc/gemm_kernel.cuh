// stco/kernel/cuda/gather_tc/gemm_kernel.cuh — the pipelined gathered-GEMM kernel every tile
// tensor-core op runs through. A problem type says how a CTA finds its operands; the kernel owns
// the shared-memory ring, the MMAs and the order of barriers.
//
// Two mainloops over the same stages: mma.sync (sm_80 and newer; ldmatrix fragments, STAGES − 1
// k-steps in flight) and, in sm_90a builds for CTAs of one warpgroup per 64 rows, wgmma reading the
// stage tiles directly (their swizzled layouts are wgmma's canonical ones; STAGES − 2 k-steps in
// flight so a stage is refilled only after every warpgroup's MMAs on it have retired). The
// problem's `wgmma` flag, set on the host from the route, picks one at run time.
//
// Problem contract (P::cta, built per CTA from the problem and P::extra_smem_bytes of shared
// memory of its own, e.g. per-CTA tables; a barrier follows the construction):
//   active()                 false: the CTA has nothing to do (all threads leave together);
//   ktiles()                 k-steps of BK;
//   fetch(kt, sa, sb, sx, tid)      issue k-step kt's copies into a stage (cp.async, and register
//                                   loads of operands expanded on the way); sx: the stage's
//                                   P::stage_extra_bytes of scratch (dZ's activation inputs);
//   store(kt, sa, sb, tid)          write k-step kt's register-staged part (called after the MMAs
//                                   of an earlier stage, so the loads' latency hides behind them);
//   transform(kt, sa, sb, sx, tid)  once this thread's copies of k-step kt have landed and before
//                                   the barrier that publishes them: rewrite its own chunks in
//                                   place (dY → dZ);
//   epilogue(visit, smem)    consume the accumulators: visit(f) calls f(m, n, v_n, v_n+1) for
//                            every pair the thread holds (m, n local to the CTA tile); smem: the
//                            stage memory, free by then.
// P::config is a gemm_config; P::a_kcontig / P::b_kcontig the operand orientations; P::bf16.
#pragma once

#include <cstdint>

#include "stco/kernel/cuda/arch/mma_sm80.cuh"
#include "stco/kernel/cuda/arch/target.cuh"
#include "stco/kernel/cuda/arch/wgmma_sm90.cuh"
#include "stco/kernel/cuda/gather_tc/warp_mma.cuh"

namespace stco::kernel::cuda::gather_tc {

template <class P>
using problem_layout = stage_layout<typename P::config, P::a_kcontig, P::b_kcontig>;

/// Bytes of one pipeline stage: the two operand tiles and the problem's scratch.
template <class P>
__host__ __device__ constexpr int problem_stage_bytes() {
  return problem_layout<P>::stage_elems * 2 + P::stage_extra_bytes;
}
/// Shared memory the stages and the epilogue share (the epilogue runs after the last stage).
template <class P>
__host__ __device__ constexpr int problem_main_smem_bytes() {
  constexpr int stages = problem_stage_bytes<P>() * P::config::stages;
  return stages > P::epilogue_smem_bytes ? stages : P::epilogue_smem_bytes;
}
/// Dynamic shared memory of P's kernel: the shared part plus the CTA's own tables.
template <class P>
__host__ __device__ constexpr int problem_smem_bytes() {
  return problem_main_smem_bytes<P>() + P::extra_smem_bytes;
}

/// Whether P's CTA shape and operand tiles fit the wgmma mainloop: 64 or 128 rows, one warpgroup
/// per 64, N of 64, 128 or 256, K-major tiles 32 or 64 wide, MN-major tiles whole 64-column
/// blocks, every tile a whole number of 1024-byte swizzle atoms.
template <class P>
__host__ __device__ constexpr bool wgmma_shape() {
  using C = typename P::config;
  const bool bk = C::bk == 32 || C::bk == 64;
  return (C::bm == 64 || C::bm == 128) && C::warps == 4 * (C::bm / 64) &&
         (C::bn == 64 || C::bn == 128 || C::bn == 256) && C::stages >= 3 &&
         (P::a_kcontig ? bk : C::bm % 64 == 0) && (P::b_kcontig ? bk : C::bn % 64 == 0) &&
         problem_layout<P>::a_elems * 2 % 1024 == 0 && problem_layout<P>::b_elems * 2 % 1024 == 0;
}

/// The mma.sync accumulators of a warp, visited as (m, n, v, v').
template <class Cfg>
struct sync_visitor {
  const float (&acc)[Cfg::mi][Cfg::ni][4];
  int warp, lane;
  template <class F>
  __device__ void operator()(F&& f) const {
    for_each_acc_pair<Cfg>(acc, warp, lane, f);
  }
};
/// The wgmma accumulators (m64nBN per warpgroup) in the same storage: warpgroup g holds rows
/// 64g + 16·(warp % 4) + lane / 4 (+8), every n8 block j in registers 4j .. 4j + 3.
template <class Cfg>
struct wgmma_visitor {
  const float (&acc)[Cfg::mi][Cfg::ni][4];
  int warp, lane;
  template <class F>
  __device__ void operator()(F&& f) const {
    const float* d = &acc[0][0][0];
    const int m = (warp / 4) * 64 + (warp % 4) * 16 + lane / 4;
#pragma unroll
    for (int j = 0; j < Cfg::bn / 8; ++j) {
      const int n = j * 8 + (lane % 4) * 2;
      f(m, n, d[4 * j], d[4 * j + 1]);
      f(m + 8, n, d[4 * j + 2], d[4 * j + 3]);
    }
  }
};

template <class P, class Cta, class Acc>
__device__ __forceinline__ void mainloop_sync(Cta& cta, Acc& acc, std::uint16_t* smem, int nk,
                                              int tid) {
  using C = typename P::config;
  using L = problem_layout<P>;
  const int warp = tid >> 5, lane = tid & 31;
  constexpr int stage = problem_stage_bytes<P>() / 2;  // in 16-bit elements
  auto sa = [&](int s) { return smem + s * stage; };
  auto sb = [&](int s) { return smem + s * stage + L::a_elems; };
  auto sx = [&](int s) { return reinterpret_cast<float*>(smem + s * stage + L::stage_elems); };
#pragma unroll 1
  for (int s = 0; s < C::stages - 1; ++s) {
    if (s < nk) {
      cta.fetch(s, sa(s), sb(s), sx(s), tid);
      cta.store(s, sa(s), sb(s), tid);
    }
    arch::cp_async_commit();
  }
#pragma unroll 1
  for (int kt = 0; kt < nk; ++kt) {
    const int next = kt + C::stages - 1, ns = next % C::stages, cs = kt % C::stages;
    arch::cp_async_wait<C::stages - 2>();
    cta.transform(kt, sa(cs), sb(cs), sx(cs), tid);
    __syncthreads();
    if (next < nk) cta.fetch(next, sa(ns), sb(ns), sx(ns), tid);
    warp_mma<C, L, P::bf16>(acc, sa(cs), sb(cs), warp, lane);
    if (next < nk) cta.store(next, sa(ns), sb(ns), tid);
    arch::cp_async_commit();
  }
  arch::cp_async_wait<0>();
}

#if STCO_ARCH_SM90A
/// Descriptor of the operand tile `Tile` (K-major when KC) at row/column mn0, k-offset k0.
template <class Tile, bool KC>
__device__ __forceinline__ std::uint64_t tile_desc(std::uint32_t base, int mn0, int k0) {
  if constexpr (KC) {
    constexpr std::uint32_t row = Tile::contiguous * 2;  // bytes per row (one K-run of 32 or 64)
    return arch::smem_desc(base + mn0 * row + k0 * 2, 16, 8 * row, row == 128 ? 1 : 2);
  } else {
    return arch::smem_desc(base + (mn0 / 64) * Tile::rows * 128 + k0 * 128, Tile::rows * 128, 1024,
                           1);
  }
}

template <class P, class Cta, class Acc>
__device__ __forceinline__ void mainloop_wgmma(Cta& cta, Acc& acc, std::uint16_t* smem, int nk,
                                               int tid) {
  using C = typename P::config;
  using L = problem_layout<P>;
  constexpr int D = C::stages - 2;  // k-steps in flight
  float* d = &acc[0][0][0];
  const int wg = tid / 128;
  constexpr int stage = problem_stage_bytes<P>() / 2;  // in 16-bit elements
  auto sa = [&](int s) { return smem + s * stage; };
  auto sb = [&](int s) { return smem + s * stage + L::a_elems; };
  auto sx = [&](int s) { return reinterpret_cast<float*>(smem + s * stage + L::stage_elems); };
#pragma unroll 1
  for (int s = 0; s < D; ++s) {
    if (s < nk) {
      cta.fetch(s, sa(s), sb(s), sx(s), tid);
      cta.store(s, sa(s), sb(s), tid);
    }
    arch::cp_async_commit();
  }
#pragma unroll 1
  for (int kt = 0; kt < nk; ++kt) {
    const int next = kt + D, ns = next % C::stages, cs = kt % C::stages;
    arch::cp_async_wait<D - 1>();
    cta.transform(kt, sa(cs), sb(cs), sx(cs), tid);
    arch::fence_proxy_async();  // this thread's stage writes, before the tensor cores read them
    __syncthreads();            // and every warpgroup's MMAs on k-step kt − 2 have retired
    if (next < nk) cta.fetch(next, sa(ns), sb(ns), sx(ns), tid);
    const std::uint32_t a = arch::smem_addr(sa(cs)), b = arch::smem_addr(sb(cs));
#pragma unroll
    for (int i = 0; i < C::bn / 2; ++i) arch::fence_reg(d[i]);
    arch::wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < C::bk; kk += 16)
      arch::wgmma_dense<C::bn, P::bf16>::template mma<P::a_kcontig ? 0 : 1, P::b_kcontig ? 0 : 1>(
          d, tile_desc<typename L::tile_a, P::a_kcontig>(a, wg * 64, kk),
          tile_desc<typename L::tile_b, P::b_kcontig>(b, 0, kk));
    arch::wgmma_commit();
#pragma unroll
    for (int i = 0; i < C::bn / 2; ++i) arch::fence_reg(d[i]);
    if (next < nk) cta.store(next, sa(ns), sb(ns), tid);
    arch::cp_async_commit();
    arch::wgmma_wait<1>();
  }
  arch::wgmma_wait<0>();
#pragma unroll
  for (int i = 0; i < C::bn / 2; ++i) arch::fence_reg(d[i]);
  arch::cp_async_wait<0>();
}
#endif

template <class P>
__global__ void __launch_bounds__(P::config::threads, 1) gather_gemm_kernel(const P p) {
  using C = typename P::config;
  extern __shared__ __align__(1024) std::uint16_t smem[];
  typename P::cta cta(p, reinterpret_cast<char*>(smem) + problem_main_smem_bytes<P>());
  if (!cta.active()) return;
  if constexpr (P::extra_smem_bytes > 0) __syncthreads();
  const int tid = static_cast<int>(threadIdx.x), warp = tid >> 5, lane = tid & 31;
  const int nk = cta.ktiles();

  float acc[C::mi][C::ni][4];
#pragma unroll
  for (int i = 0; i < C::mi; ++i)
#pragma unroll
    for (int j = 0; j < C::ni; ++j) acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.f;

#if STCO_ARCH_SM90A
  if constexpr (wgmma_shape<P>()) {
    if (p.wgmma) {
      mainloop_wgmma<P>(cta, acc, smem, nk, tid);
      __syncthreads();  // the epilogue may reuse the stage memory
      cta.epilogue(wgmma_visitor<C>{acc, warp, lane}, smem);
      return;
    }
  }
#endif
  mainloop_sync<P>(cta, acc, smem, nk, tid);
  __syncthreads();  // the epilogue may reuse the stage memory
  cta.epilogue(sync_visitor<C>{acc, warp, lane}, smem);
}

}  // namespace stco::kernel::cuda::gather_tc
