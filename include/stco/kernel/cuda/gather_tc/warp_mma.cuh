// stco/kernel/cuda/gather_tc/warp_mma.cuh — the CTA tile configuration and the warp-level product
// of one shared-memory stage: each warp loads its A and B fragments with ldmatrix (transposed where
// the operand is stored with M or N contiguous) and issues mma.sync m16n8k16.
//
// Operand orientation. A is M×K and B is K×N. "K-contiguous" A is stored as rows of M with K
// running along the row (a row-major weight row, a row of dY); otherwise rows of K with M running
// along the row (a k-major tile panel). Likewise B: rows of N (K along them) or rows of K (N along
// them, a row of X). The fragment loads below hand the MMA the same registers either way.
#pragma once

#include <cstdint>
#include <type_traits>

#include "stco/kernel/cuda/arch/mma_sm80.cuh"
#include "stco/kernel/cuda/gather_tc/smem_tile.cuh"

namespace stco::kernel::cuda::gather_tc {

/// CTA tile BM×BN, k-step BK, WM×WN warps, STAGES shared-memory stages.
template <int BM, int BN, int BK, int WM, int WN, int STAGES>
struct gemm_config {
  static constexpr int bm = BM, bn = BN, bk = BK, wm = WM, wn = WN, stages = STAGES;
  static constexpr int warps = WM * WN, threads = warps * 32;
  static constexpr int wtm = BM / WM, wtn = BN / WN;  // warp tile
  static constexpr int mi = wtm / 16, ni = wtn / 8;   // MMA tiles per warp
  static_assert(BM % (16 * WM) == 0 && BN % (16 * WN) == 0,
                "gemm_config: each warp tile must be a multiple of 16×16");
  static_assert(BK % 16 == 0 && STAGES >= 2, "gemm_config: BK a multiple of 16, ≥ 2 stages");
};

/// Shared-memory layout of one pipeline stage for operands of the given orientation.
template <class Cfg, bool AK, bool BKc>
struct stage_layout {
  using tile_a = std::conditional_t<AK, smem_tile<Cfg::bk, Cfg::bm>, smem_tile<Cfg::bm, Cfg::bk>>;
  using tile_b = std::conditional_t<BKc, smem_tile<Cfg::bk, Cfg::bn>, smem_tile<Cfg::bn, Cfg::bk>>;
  static constexpr bool a_kcontig = AK, b_kcontig = BKc;
  static constexpr int a_elems = tile_a::elems, b_elems = tile_b::elems;
  static constexpr int stage_elems = a_elems + b_elems;
  static constexpr int bytes = stage_elems * 2 * Cfg::stages;
};

/// A fragment (16×16 at m0, k0) of a tile stored K-contiguous (AK) or M-contiguous.
template <class Tile, bool AK>
__device__ __forceinline__ void load_a_frag(std::uint32_t (&a)[4], const std::uint16_t* s, int m0,
                                            int k0, int lane) {
  if constexpr (AK) {
    arch::ldmatrix_x4(a, s + Tile::offset(m0 + (lane & 15), (k0 >> 3) + (lane >> 4)));
  } else {
    const int mat = lane >> 3, r = lane & 7;
    arch::ldmatrix_x4_trans(a, s + Tile::offset(k0 + r + ((mat >> 1) << 3), (m0 >> 3) + (mat & 1)));
  }
}

/// B fragments of two n8 tiles (16×16 at k0, n0): b[0], b[1] for n0..n0+7, b[2], b[3] for the next.
template <class Tile, bool BKc>
__device__ __forceinline__ void load_b_frag(std::uint32_t (&b)[4], const std::uint16_t* s, int k0,
                                            int n0, int lane) {
  const int mat = lane >> 3, r = lane & 7;
  if constexpr (BKc)
    arch::ldmatrix_x4(b, s + Tile::offset(n0 + r + ((mat >> 1) << 3), (k0 >> 3) + (mat & 1)));
  else
    arch::ldmatrix_x4_trans(b, s + Tile::offset(k0 + r + ((mat & 1) << 3), (n0 >> 3) + (mat >> 1)));
}

/// The warp's share of one stage: acc += A[warp rows, :]·B[:, warp cols]. M-tiles at or beyond
/// `m_frags` (counted in the warp's own order) are skipped: the segmented kernels use this when a
/// piece holds fewer rows than the tile.
template <class Cfg, class L, bool BF16, bool Interleave = false>
__device__ __forceinline__ void warp_mma(float (&acc)[Cfg::mi][Cfg::ni][4], const std::uint16_t* sa,
                                         const std::uint16_t* sb, int warp, int lane,
                                         int m_frags = 1 << 30) {
  const int wm = warp / Cfg::wn, wn = warp % Cfg::wn;
  const int n_base = wn * Cfg::wtn;
#pragma unroll
  for (int kk = 0; kk < Cfg::bk; kk += 16) {
    std::uint32_t a[Cfg::mi][4], b[Cfg::ni / 2][4];
#pragma unroll
    for (int j = 0; j < Cfg::ni / 2; ++j)
      load_b_frag<typename L::tile_b, L::b_kcontig>(b[j], sb, kk, n_base + j * 16, lane);
#pragma unroll
    for (int i = 0; i < Cfg::mi; ++i) {
      const int f = Interleave ? wm + i * Cfg::wm : wm * Cfg::mi + i;  // M-tile index in the CTA
      if (f < m_frags) load_a_frag<typename L::tile_a, L::a_kcontig>(a[i], sa, f * 16, kk, lane);
    }
#pragma unroll
    for (int i = 0; i < Cfg::mi; ++i) {
      const int f = Interleave ? wm + i * Cfg::wm : wm * Cfg::mi + i;
      if (f < m_frags) {
#pragma unroll
        for (int j = 0; j < Cfg::ni; ++j)
          arch::mma_16816<BF16>(acc[i][j], a[i], b[j / 2][(j & 1) * 2], b[j / 2][(j & 1) * 2 + 1]);
      }
    }
  }
}

/// Calls f(m, n, v0, v1) for the warp's accumulators (m, n local to the CTA tile; v1 is column
/// n + 1).
template <class Cfg, bool Interleave = false, class F>
__device__ __forceinline__ void for_each_acc_pair(const float (&acc)[Cfg::mi][Cfg::ni][4], int warp,
                                                  int lane, F&& f) {
  const int wm = warp / Cfg::wn, wn = warp % Cfg::wn;
#pragma unroll
  for (int i = 0; i < Cfg::mi; ++i) {
    const int m0 = (Interleave ? wm + i * Cfg::wm : wm * Cfg::mi + i) * 16 + (lane >> 2);
#pragma unroll
    for (int j = 0; j < Cfg::ni; ++j) {
      const int n = wn * Cfg::wtn + j * 8 + (lane & 3) * 2;
      f(m0, n, acc[i][j][0], acc[i][j][1]);
      f(m0 + 8, n, acc[i][j][2], acc[i][j][3]);
    }
  }
}

}  // namespace stco::kernel::cuda::gather_tc
