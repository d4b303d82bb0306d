// matmul forward, dX, dW and db for the block, tile, channel, CSR and dense layouts, every value
// type and epilogue, against double-precision dense math on fresh random data.
#include "../layout/layout_list.hpp"
#include "matmul_case.hpp"

using stco_test::matmul_case::run_layout;

TEST_CASE_TEMPLATE("matmul and its gradients match dense double math (other layouts)", L,
                   STCO_TEST_OTHER_LAYOUTS) {
  stco_test::matmul_case::run_shapes<L>();
}

TEST_CASE_TEMPLATE("matmul in half and bfloat16 matches double math", V, stco::half,
                   stco::bfloat16) {
  run_layout<stco::nm<2, 4>, V>(24, 70, 40, 0.5);
  run_layout<stco::tile_wise<8>, V>(30, 64, 70, 0.75);
  run_layout<stco::block<4, 4>, V>(17, 33, 20, 0.5);
  run_layout<stco::channel, V>(16, 40, 20, 0.5);
  run_layout<stco::csr, V>(16, 40, 20, 0.7);
}
