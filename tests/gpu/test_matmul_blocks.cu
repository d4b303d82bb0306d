// matmul forward, dW, dX and db on the device for the layouts whose rows share a column list
// (dense, block, tile_wise, channel), float, against dense double math: every epilogue for one
// layout of each family, the fused epilogue for the other shapes.
#include "matmul_cases.hpp"

TEST_CASE_TEMPLATE("device matmul of row-block layouts matches dense double math", L, stco::dense,
                   stco::tile_wise<4>) {
  stco_gpu_test::check_matmul_shapes<L, float>(stco_gpu_test::all_epis{});
}
TEST_CASE_TEMPLATE(
    "device matmul of row-block layouts matches dense double math (fewer "
    "epilogues)",
    L, stco::block<4, 4>, stco::channel) {
  stco_gpu_test::check_matmul_shapes<L, float>(stco_gpu_test::plain_and_fused{});
}
TEST_CASE_TEMPLATE(
    "device matmul of row-block layouts matches dense double math (fused "
    "epilogue)",
    L, stco::block<2, 8>, stco::tile_wise<16>) {
  stco_gpu_test::check_matmul_shapes<L, float>(stco_gpu_test::fused_epi{});
}
