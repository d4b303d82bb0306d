// conv2d forward, dW, dX and db on the device (implicit GEMM over NHWC, groups = 1) for every
// layout family, stride/pad/dilation/rectangular kernels, float, against dense double math:
// every epilogue for N:M and dense, the fused one (scale, bias, ReLU, residual) for the others.
#include "gpu_support.hpp"

TEST_CASE_TEMPLATE("device conv2d matches dense double math", L, stco::nm<2, 4>, stco::dense) {
  using namespace stco_gpu_test;
  CAPTURE(L::name());
  const double sp = L::min_sparsity == L::max_sparsity ? L::min_sparsity : 0.6;
  for (const auto& c : conv_cases()) check_conv<L, float>(c, sp, all_epis{});
}

TEST_CASE_TEMPLATE("device conv2d matches dense double math (fused epilogue)", L, stco::nm<1, 3>,
                   stco::block<4, 4>, stco::tile_wise<8>, stco::channel, stco::csr,
                   stco::tile_vector<4, 2, 4>) {
  using namespace stco_gpu_test;
  CAPTURE(L::name());
  const double sp = L::min_sparsity == L::max_sparsity ? L::min_sparsity : 0.6;
  for (const auto& c : conv_cases()) check_conv<L, float>(c, sp, fused_epi{});
}
