// matmul forward, dW, dX and db on the device for the layouts whose rows share a column list
// (dense, block, tile_wise, channel), every epilogue, float, against dense double math.
#include "matmul_cases.hpp"

TEST_CASE_TEMPLATE("device matmul of row-block layouts matches dense double math", L, stco::dense,
                   stco::block<4, 4>, stco::block<2, 8>, stco::tile_wise<4>, stco::tile_wise<16>,
                   stco::channel) {
  stco_gpu_test::check_matmul_shapes<L, float>();
}
