// stco/kernel/cuda/sparse_tc/gemm_sm90.cuh — the Hopper (sm_90a) kernel of the nm<2,4> fast path:
// C[M, N] = A[M, K]·B[K, N], A sparse 2:4 on wgmma.sp (or dense on wgmma for dW), tiles fed by the
// bulk tensor copy engine through an mbarrier ring, warp-specialized and persistent.
//
// CTA: 3 warpgroups. Warpgroup 0 is the producer (one thread issues all copies; its registers are
// given to the others with setmaxnreg); warpgroups 1 and 2 each own 64 rows of a 128 × BN tile and
// issue m64nBNk32 sparse (k16 dense) MMAs from shared memory, one group in flight, then run the
// epilogue straight from the accumulators. K advances 64 at a time through a ring of stages
// (sparse: 5 × 41 KB; dense: 4 × 48 KB for BN = 256). A persistent grid walks the tiles in groups
// of 16 row tiles so that concurrent CTAs share operands in L2.
//
// Shared-memory forms (TMA writes them, the descriptors read them):
//   sparse A — compressed values [128][32], 64-byte rows, 64 B swizzle (K-major);
//   dense A  — [128][64], 128 B swizzle (K-major);
//   metadata — [8 atom rows][32 words] (two 16×32 atoms per atom row), unswizzled;
//   B (kn)   — BN/64 boxes of [64 k][64 n], 128 B swizzle, N-major (transposed B);
//   B (nk)   — [BN][64], 128 B swizzle, K-major.
// Dense with BKn (dX of a mask that is not transposable: A = W decompressed as Wᵀ [K, R],
// K-major; B = dY [R, N] row-major): dense A and the kn form of B, k16 MMAs with B transposed.
// Needs: row pitches of every operand a multiple of 8 elements (16 bytes), 16-byte aligned bases.
#pragma once

#include <cuda.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "stco/core/index.hpp"
#include "stco/kernel/cuda/arch/mbarrier.cuh"
#include "stco/kernel/cuda/arch/smem.cuh"
#include "stco/kernel/cuda/arch/target.cuh"
#include "stco/kernel/cuda/arch/tma.cuh"
#include "stco/kernel/cuda/arch/wgmma_sm90.cuh"
#include "stco/kernel/cuda/sparse_tc/value_bits.cuh"

namespace stco::cuda::sparse_tc::sm90 {

namespace arch = ::stco::kernel::cuda::arch;

inline constexpr int BM = 128, BK = 64, THREADS = 384, GROUP_M = 16;

template <bool Sparse, int BN>
struct config {
  static constexpr int a_bytes = Sparse ? BM * (BK / 2) * 2 : BM * BK * 2;
  static constexpr int e_bytes = Sparse ? 8 * 32 * 4 : 0;
  static constexpr int b_bytes = BK * BN * 2;
  static constexpr int stage_bytes = a_bytes + b_bytes + e_bytes;  // a multiple of 1024
  static constexpr int stages = (220 * 1024) / stage_bytes;
  static constexpr int smem_bytes = stages * stage_bytes + 1024 + 2 * stages * 8;
  static_assert(stage_bytes % 1024 == 0, "stages must keep 1024-byte alignment for swizzling");
};

/// (row tile, column tile) of linear tile t, in groups of GROUP_M row tiles.
__device__ inline void tile_coords(index_t t, index_t tiles_m, index_t tiles_n, index_t& mt,
                                   index_t& nt) {
  const index_t per_group = GROUP_M * tiles_n;
  const index_t first_m = (t / per_group) * GROUP_M;
  const index_t gm = min(index_t{GROUP_M}, tiles_m - first_m);
  const index_t local = t % per_group;
  mt = first_m + local % gm;
  nt = local / gm;
}

/// The kernel. Sparse: map_a = values [M, K/2] (box 128 × 32), map_e = metadata words
/// (box 8 × 32), map_b = B [K, N] (box 64 × 64). Dense: map_a = A [M, K] (box 128 × 64), map_b =
/// B as [N, K] (box BN × 64), or with BKn B [K, N] (box 64 × 64); map_e unused. `Epi` as in
/// gemm_sm80.cuh.
template <class T, bool Sparse, int BN, class Epi, bool BKn = Sparse>
__global__ void __launch_bounds__(THREADS, 1)
    gemm_kernel(const __grid_constant__ CUtensorMap map_a,
                const __grid_constant__ CUtensorMap map_b,
                const __grid_constant__ CUtensorMap map_e, index_t M, index_t N, index_t K,
                int splits, Epi epi) {
#if STCO_ARCH_SM90A
  using C = config<Sparse, BN>;
  constexpr int S = C::stages;
  extern __shared__ unsigned char smem_raw[];
  unsigned char* smem = reinterpret_cast<unsigned char*>(
      (reinterpret_cast<std::uintptr_t>(smem_raw) + 1023) & ~std::uintptr_t{1023});
  std::uint64_t* full = reinterpret_cast<std::uint64_t*>(smem + S * C::stage_bytes);
  std::uint64_t* empty = full + S;
  auto a_st = [&](int s) { return smem + s * C::stage_bytes; };
  auto b_st = [&](int s) { return a_st(s) + C::a_bytes; };
  auto e_st = [&](int s) { return reinterpret_cast<const std::uint32_t*>(b_st(s) + C::b_bytes); };

  const int wg = threadIdx.x / 128;
  if (threadIdx.x == 0) {
    for (int s = 0; s < S; ++s) {
      arch::mbar_init(&full[s], 1);
      arch::mbar_init(&empty[s], 8);  // one arrival per consumer warp
    }
    arch::fence_barrier_init();
  }
  __syncthreads();

  const index_t tiles_m = (M + BM - 1) / BM, tiles_n = (N + BN - 1) / BN;
  const index_t tiles = tiles_m * tiles_n, KT = (K + BK - 1) / BK;
  // Work units: (tile, K split). With splits > 1 each unit reduces a slice of K and the epilogue
  // accumulates atomically (dW of a layer with few output tiles and a long reduction).
  const index_t units = tiles * splits;
  auto unit = [&](index_t u, index_t& mt, index_t& nt, index_t& kb, index_t& ke) {
    tile_coords(u % tiles, tiles_m, tiles_n, mt, nt);
    const index_t sp = u / tiles;
    kb = KT * sp / splits, ke = KT * (sp + 1) / splits;
  };

  if (wg == 0) {  // producer
    arch::setmaxnreg_dec<40>();
    if (threadIdx.x == 0) {
      arch::tma_prefetch_map(&map_a);
      arch::tma_prefetch_map(&map_b);
      if constexpr (Sparse) arch::tma_prefetch_map(&map_e);
      int s = 0;
      unsigned ph = 0;
      for (index_t u = blockIdx.x; u < units; u += gridDim.x) {
        index_t mt, nt, kb, ke;
        unit(u, mt, nt, kb, ke);
        const int m0 = static_cast<int>(mt * BM), n0 = static_cast<int>(nt * BN);
        for (index_t kt = kb; kt < ke; ++kt) {
          arch::mbar_wait(&empty[s], ph ^ 1u);
          arch::mbar_expect_tx(&full[s], C::stage_bytes);
          const int k0 = static_cast<int>(kt * BK);
          if constexpr (Sparse) {
            arch::tma_load_2d(a_st(s), &map_a, &full[s], k0 / 2, m0);
            arch::tma_load_2d(b_st(s) + C::b_bytes, &map_e, &full[s], k0 / 2, m0 / 16);
#pragma unroll
            for (int j = 0; j < BN / 64; ++j)
              arch::tma_load_2d(b_st(s) + j * 8192, &map_b, &full[s], n0 + j * 64, k0);
          } else if constexpr (BKn) {
            arch::tma_load_2d(a_st(s), &map_a, &full[s], k0, m0);
#pragma unroll
            for (int j = 0; j < BN / 64; ++j)
              arch::tma_load_2d(b_st(s) + j * 8192, &map_b, &full[s], n0 + j * 64, k0);
          } else {
            arch::tma_load_2d(a_st(s), &map_a, &full[s], k0, m0);
            arch::tma_load_2d(b_st(s), &map_b, &full[s], k0, n0);
          }
          if (++s == S) s = 0, ph ^= 1u;
        }
      }
    }
  } else {  // consumers
    arch::setmaxnreg_inc<232>();
    const int c = wg - 1, q = (threadIdx.x / 32) % 4, lane = threadIdx.x % 32;
    float acc[BN / 2];
    int s = 0;
    unsigned ph = 0;
    for (index_t u = blockIdx.x; u < units; u += gridDim.x) {
      index_t mt, nt, kb, ke;
      unit(u, mt, nt, kb, ke);
#pragma unroll
      for (int i = 0; i < BN / 2; ++i) acc[i] = 0.f;
      int prev = -1;
      // One K step: MMAs on stage s with metadata `ec`, then (while they run) retire the step
      // before, wait for the next stage and read its metadata into `en` — registers no MMA in
      // flight reads (two sets, alternating).
      std::uint32_t ea[2] = {0, 0}, eb[2] = {0, 0};
      auto load_meta = [&](std::uint32_t(&e)[2]) {
        if constexpr (Sparse) {
          const std::uint32_t* p = e_st(s) + (c * 4 + q) * 32 + (lane / 4) * 2 + lane % 2;
          e[0] = p[0], e[1] = p[16];
        }
      };
      auto step = [&](index_t kt, const std::uint32_t(&ec)[2], std::uint32_t(&en)[2]) {
        const std::uint32_t a_addr = arch::smem_addr(a_st(s));
        const std::uint32_t b_addr = arch::smem_addr(b_st(s));
#pragma unroll
        for (int i = 0; i < BN / 2; ++i) arch::fence_reg(acc[i]);
        arch::wgmma_fence();
        if constexpr (Sparse) {
#pragma unroll
          for (int ks = 0; ks < 2; ++ks) {
            const std::uint64_t da = arch::smem_desc(a_addr + c * 64 * 64 + ks * 32, 16, 512, 2);
            const std::uint64_t db = arch::smem_desc(b_addr + ks * 4096, 8192, 1024, 1);
            arch::wgmma_sparse<BN, bits::is_bf16_v<T>>::template mma<1>(acc, da, db, ec[ks], 1);
          }
        } else if constexpr (BKn) {
#pragma unroll
          for (int ks = 0; ks < 4; ++ks) {
            const std::uint64_t da = arch::smem_desc(a_addr + c * 64 * 128 + ks * 32, 16, 1024, 1);
            const std::uint64_t db = arch::smem_desc(b_addr + ks * 2048, 8192, 1024, 1);
            arch::wgmma_dense<BN, bits::is_bf16_v<T>>::template mma<0, 1>(acc, da, db, 1);
          }
        } else {
#pragma unroll
          for (int ks = 0; ks < 4; ++ks) {
            const std::uint64_t da = arch::smem_desc(a_addr + c * 64 * 128 + ks * 32, 16, 1024, 1);
            const std::uint64_t db = arch::smem_desc(b_addr + ks * 32, 16, 1024, 1);
            arch::wgmma_dense<BN, bits::is_bf16_v<T>>::template mma<0, 0>(acc, da, db, 1);
          }
        }
        arch::wgmma_commit();
#pragma unroll
        for (int i = 0; i < BN / 2; ++i) arch::fence_reg(acc[i]);
        arch::wgmma_wait<1>();
        if (prev >= 0 && lane == 0) arch::mbar_arrive(&empty[prev]);
        prev = s;
        if (++s == S) s = 0, ph ^= 1u;
        if (kt + 1 < ke) {
          arch::mbar_wait(&full[s], ph);
          load_meta(en);
        }
      };
      if (kb < ke) {
        arch::mbar_wait(&full[s], ph);
        load_meta(ea);
      }
      for (index_t kt = kb; kt < ke; kt += 2) {
        step(kt, ea, eb);
        if (kt + 1 < ke) step(kt + 1, eb, ea);
      }
      arch::wgmma_wait<0>();
#pragma unroll
      for (int i = 0; i < BN / 2; ++i) arch::fence_reg(acc[i]);
      if (prev >= 0 && lane == 0) arch::mbar_arrive(&empty[prev]);

      const index_t row0 = mt * BM + c * 64 + q * 16 + lane / 4;
      const index_t col0 = nt * BN + (lane % 4) * 2;
      if constexpr (Epi::vector8) {
        // Each quad holds 8 consecutive columns of a row per 8-column block, 4 bytes a lane:
        // transpose 4 blocks across the quad so that each lane stores 16 contiguous bytes.
        const int t = lane % 4;
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const index_t row = row0 + h * 8;
#pragma unroll
          for (int m = 0; m < BN / 32; ++m) {
            std::uint32_t w[4], out[4];
#pragma unroll
            for (int jj = 0; jj < 4; ++jj) {
              const int j = 4 * m + jj;
              w[jj] = row < M
                          ? epi.pack(row, col0 + j * 8, acc[4 * j + 2 * h], acc[4 * j + 2 * h + 1])
                          : 0u;
            }
#pragma unroll
            for (int i = 0; i < 4; ++i) {
              const int si = (t + i) & 3, di = (t - i) & 3;
              const std::uint32_t send = si == 0 ? w[0] : si == 1 ? w[1] : si == 2 ? w[2] : w[3];
              const std::uint32_t got = __shfl_sync(0xFFFFFFFFu, send, (lane & ~3) | di);
              if (di == 0) out[0] = got;
              if (di == 1) out[1] = got;
              if (di == 2) out[2] = got;
              if (di == 3) out[3] = got;
            }
            const index_t col8 = nt * BN + (4 * m + t) * 8;
            if (row < M && col8 < N) epi.put8(row, col8, out);
          }
        }
      } else {
#pragma unroll
        for (int j = 0; j < BN / 8; ++j)
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            const index_t row = row0 + h * 8, col = col0 + j * 8;
            if (row < M && col < N) epi(row, col, acc[4 * j + 2 * h], acc[4 * j + 2 * h + 1]);
          }
      }
    }
  }
#else
  (void)map_a, (void)map_b, (void)map_e, (void)M, (void)N, (void)K, (void)splits, (void)epi;
  __trap();
#endif
}

}  // namespace stco::cuda::sparse_tc::sm90
