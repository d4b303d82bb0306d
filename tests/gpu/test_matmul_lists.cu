// matmul forward, dW, dX and db on the device for the layouts with a list per row (csr,
// tile_vector), float, against dense double math.
#include "matmul_cases.hpp"

TEST_CASE("device matmul of csr weights matches dense double math") {
  stco_gpu_test::check_matmul_shapes<stco::csr, float>(stco_gpu_test::all_epis{});
}
TEST_CASE_TEMPLATE("device matmul of tile_vector weights matches dense double math", L,
                   stco::tile_vector<4, 2, 4>, stco::tile_vector<3, 2, 3>,
                   stco::tile_vector<8, 1, 8>) {
  stco_gpu_test::check_matmul_shapes<L, float>(stco_gpu_test::fused_epi{});
}
