// conv2d forward, dW, dX and db for every N:M layout over strided, padded, dilated, non-square,
// 1x1, grouped, depthwise and ragged convolutions, against double-precision loops.
#include "../layout/layout_list.hpp"
#include "conv_case.hpp"

TEST_CASE_TEMPLATE("conv2d and its gradients match dense double math (N:M layouts)", L,
                   STCO_TEST_NM_LAYOUTS) {
  stco_test::conv_case::run_settings<L>();
}
