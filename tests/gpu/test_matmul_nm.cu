// matmul forward, dW, dX and db on the device for N:M layouts against dense double math: every
// epilogue for 2:4 and an odd M, the fused epilogue for the others (1:4, 4:8, 5:16 — wide M,
// offsets straddling words).
#include "matmul_cases.hpp"

TEST_CASE_TEMPLATE("device matmul of N:M weights matches dense double math", L, stco::nm<2, 4>,
                   stco::nm<2, 3>) {
  stco_gpu_test::check_matmul_shapes<L, float>(stco_gpu_test::all_epis{});
}
TEST_CASE_TEMPLATE("device matmul of N:M weights matches dense double math (fused epilogue)", L,
                   stco::nm<1, 4>, stco::nm<4, 8>, stco::nm<5, 16>) {
  stco_gpu_test::check_matmul_shapes<L, float>(stco_gpu_test::fused_epi{});
}
