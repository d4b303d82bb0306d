// matmul forward, dW, dX and db on the device for the layouts with a list per row (csr,
// tile_vector), every epilogue, float, against dense double math.
#include "matmul_cases.hpp"

TEST_CASE_TEMPLATE("device matmul of per-row-list layouts matches dense double math", L, stco::csr,
                   stco::tile_vector<4, 2, 4>, stco::tile_vector<3, 2, 3>,
                   stco::tile_vector<8, 1, 8>) {
  stco_gpu_test::check_matmul_shapes<L, float>();
}
