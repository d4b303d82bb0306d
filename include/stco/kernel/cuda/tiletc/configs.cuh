// stco/kernel/cuda/tiletc/configs.cuh — the CTA shapes of the tile tensor-core kernels, per op and
// per tile height. Tuning space: BN ∈ {128, 256}, BK ∈ {32, 64}, 3–4 stages; see
// bench/gpu/bench_tile.cu and bench/gpu/results/ for the measurements behind the choices.
#pragma once

#include "stco/kernel/cuda/tiletc/warp_mma.cuh"

namespace stco::kernel::cuda::tiletc {

template <int TileRows>
struct tile_rows_supported {
  static constexpr bool value =
      TileRows == 16 || TileRows == 32 || TileRows == 64 || TileRows == 128;
};

/// Row-tiled ops (forward, dW): one tile of `TileRows` rows per CTA, 8 warps, 256 columns.
template <int TileRows>
struct row_tile_config_t {
  static_assert(tile_rows_supported<TileRows>::value,
                "stco tiletc: the tensor-core paths take tiles (tile_wise<T>, tile_vector<T,..>, "
                "block<BR,..>) of 16, 32, 64 or 128 rows; use the portable CUDA kernels otherwise");
  using type = std::conditional_t<
      TileRows == 128, gemm_config<128, 256, 32, 2, 4, 4>,
      std::conditional_t<TileRows == 64, gemm_config<64, 256, 32, 1, 8, 4>,
                         std::conditional_t<TileRows == 32, gemm_config<32, 256, 32, 1, 8, 4>,
                                            gemm_config<16, 256, 32, 1, 8, 4>>>>;
};
template <int TileRows>
using forward_config = typename row_tile_config_t<TileRows>::type;

/// dW = dZ·Xᵀ at kept positions: tile rows × 128 positions, reduction over N in steps of 32.
template <int TileRows>
struct grad_w_config_t {
  static_assert(tile_rows_supported<TileRows>::value,
                "stco tiletc: tiles of 16, 32, 64 or 128 rows only");
  using type = std::conditional_t<
      TileRows == 128, gemm_config<128, 128, 32, 2, 4, 4>,
      std::conditional_t<TileRows == 64, gemm_config<64, 128, 32, 2, 4, 4>,
                         std::conditional_t<TileRows == 32, gemm_config<32, 128, 32, 2, 4, 4>,
                                            gemm_config<16, 128, 32, 1, 8, 4>>>>;
};
template <int TileRows>
using grad_w_config = typename grad_w_config_t<TileRows>::type;

/// Pixel-major conv ops (forward, dX): 128 pixels × `Cols` channels.
template <int Cols>
struct pixel_config_t {
  static_assert(tile_rows_supported<Cols>::value,
                "stco tiletc: conv channel tiles of 16, 32, 64 or 128 only");
  using type = std::conditional_t<
      Cols == 128, gemm_config<128, 128, 32, 2, 4, 4>,
      std::conditional_t<Cols == 64, gemm_config<128, 64, 32, 4, 2, 4>,
                         std::conditional_t<Cols == 32, gemm_config<128, 32, 32, 4, 2, 4>,
                                            gemm_config<128, 16, 32, 8, 1, 4>>>>;
};
template <int Cols>
using pixel_config = typename pixel_config_t<Cols>::type;

}  // namespace stco::kernel::cuda::tiletc
