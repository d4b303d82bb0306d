// matmul forward, dX, dW and db for every N:M layout, value type and epilogue, against
// double-precision dense math on fresh random data; ragged shapes included.
#include "../layout/layout_list.hpp"
#include "matmul_case.hpp"

TEST_CASE_TEMPLATE("matmul and its gradients match dense double math (N:M layouts)", L,
                   STCO_TEST_NM_LAYOUTS) {
  stco_test::matmul_case::run_shapes<L>();
}
