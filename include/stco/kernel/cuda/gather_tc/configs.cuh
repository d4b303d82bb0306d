// stco/kernel/cuda/gather_tc/configs.cuh — the CTA shapes of the tile tensor-core kernels, per op
// and per tile height. Tuning space: BN ∈ {128, 256}, BK ∈ {32, 64}, 3–4 stages; see
// bench/gpu/bench_tile.cu and bench/gpu/results/ for the measurements behind the choices.
#pragma once

#include "stco/kernel/cuda/gather_tc/warp_mma.cuh"

namespace stco::kernel::cuda::gather_tc {

/// Cfg with another stage count (problems whose stages also carry dZ's activation inputs).
template <class Cfg, int S>
using with_stages = gemm_config<Cfg::bm, Cfg::bn, Cfg::bk, Cfg::wm, Cfg::wn, S>;

template <int TileRows>
struct tile_rows_supported {
  static constexpr bool value =
      TileRows == 16 || TileRows == 32 || TileRows == 64 || TileRows == 128;
};

/// Row-tiled forward (and the transposed dense / channel dX): one tile of `TileRows` rows per
/// CTA, 256 columns. 128 rows: two warpgroups, k-steps of 64 (192 KB of stages, one CTA per SM);
/// 64 rows: one warpgroup, k-steps of 32 (80 KB, two CTAs per SM). Both fit the wgmma mainloop.
template <int TileRows>
struct row_tile_config_t {
  static_assert(
      tile_rows_supported<TileRows>::value,
      "stco gather_tc: the tensor-core paths take tiles (tile_wise<T>, tile_vector<T,..>, "
      "block<BR,..>) of 16, 32, 64 or 128 rows; use the portable CUDA kernels otherwise");
  using type = std::conditional_t<
      TileRows == 128, gemm_config<128, 256, 64, 2, 4, 4>,
      std::conditional_t<TileRows == 64, gemm_config<64, 256, 32, 1, 4, 4>,
                         std::conditional_t<TileRows == 32, gemm_config<32, 256, 32, 1, 8, 4>,
                                            gemm_config<16, 256, 32, 1, 8, 4>>>>;
};
template <int TileRows>
using forward_config = typename row_tile_config_t<TileRows>::type;

/// dX = Wᵀ·dZ through the transposed views: as the forward, but k-steps of 32 at 128 rows (dZ
/// is staged through registers, 64-wide steps would spill beside 128 accumulators).
template <int TileRows>
using grad_x_config = std::conditional_t<TileRows == 128, gemm_config<128, 256, 32, 2, 4, 4>,
                                         forward_config<TileRows>>;

/// dW = dZ·Xᵀ at kept positions: tile rows × 128 positions, reduction over N in steps of 64
/// (128 rows, the wgmma shape) or 32.
template <int TileRows>
struct grad_w_config_t {
  static_assert(tile_rows_supported<TileRows>::value,
                "stco gather_tc: tiles of 16, 32, 64 or 128 rows only");
  using type = std::conditional_t<
      TileRows == 128, gemm_config<128, 128, 64, 2, 4, 4>,
      std::conditional_t<TileRows == 64, gemm_config<64, 128, 32, 2, 4, 4>,
                         std::conditional_t<TileRows == 32, gemm_config<32, 128, 32, 2, 4, 4>,
                                            gemm_config<16, 128, 32, 1, 8, 4>>>>;
};
template <int TileRows>
using grad_w_config = typename grad_w_config_t<TileRows>::type;

/// dW when the chain has an activation: the stages also carry its inputs (32 bytes per dZ chunk),
/// so 128-row tiles take k-steps of 32 and six stages (four in flight on the wgmma path).
template <int TileRows>
using grad_w_act_config = std::conditional_t<TileRows == 128, gemm_config<128, 128, 32, 2, 4, 6>,
                                             grad_w_config<TileRows>>;

/// Pixel-major conv ops (forward, dX): 128 pixels × `Cols` channels; k-steps of 64 where the
/// wgmma mainloop takes the shape (64 or 128 channels).
template <int Cols>
struct pixel_config_t {
  static_assert(tile_rows_supported<Cols>::value,
                "stco gather_tc: conv channel tiles of 16, 32, 64 or 128 only");
  using type = std::conditional_t<
      Cols == 128, gemm_config<128, 128, 64, 2, 4, 4>,
      std::conditional_t<Cols == 64, gemm_config<128, 64, 64, 4, 2, 4>,
                         std::conditional_t<Cols == 32, gemm_config<128, 32, 32, 4, 2, 4>,
                                            gemm_config<128, 16, 32, 8, 1, 4>>>>;
};
template <int Cols>
using pixel_config = typename pixel_config_t<Cols>::type;

/// conv dX (dense, channel, block): as the pixel-major forward with k-steps of 32, since each
/// tap's reduction (the kept output channels) is padded to whole k-steps.
template <int Cols>
using conv_grad_x_config =
    gemm_config<128, Cols, 32, pixel_config<Cols>::wm, pixel_config<Cols>::wn, 4>;

}  // namespace stco::kernel::cuda::gather_tc
