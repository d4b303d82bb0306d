// matmul forward, dW, dX and db on the device for N:M layouts, every epilogue, float, against
// dense double math.
#include "matmul_cases.hpp"

TEST_CASE_TEMPLATE("device matmul of N:M weights matches dense double math", L, stco::nm<2, 4>,
                   stco::nm<1, 4>, stco::nm<2, 3>, stco::nm<4, 8>, stco::nm<5, 16>) {
  stco_gpu_test::check_matmul_shapes<L, float>();
}
