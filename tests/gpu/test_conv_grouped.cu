// Grouped and depthwise conv2d on the device (forward, dW, dX, db), float, and conv2d in half and
// bfloat16, against dense double math.
#include "gpu_support.hpp"

TEST_CASE_TEMPLATE("device grouped and depthwise conv2d match dense double math", L, stco::nm<1, 3>,
                   stco::dense, stco::tile_wise<4>, stco::csr, stco::channel) {
  using namespace stco_gpu_test;
  CAPTURE(L::name());
  const double sp = L::min_sparsity == L::max_sparsity ? L::min_sparsity : 0.5;
  for (const auto& c : grouped_conv_cases())
    check_conv<L, float>(c, sp, epis<epi::bias_relu, epi::scale_bias_relu_residual>{});
}

TEST_CASE_TEMPLATE("device conv2d in half and bfloat16 matches dense double math", V, stco::half,
                   stco::bfloat16) {
  using namespace stco_gpu_test;
  const auto& cs = all_conv_cases();
  for (bool fast : {true, false}) {
    CAPTURE(fast);
    sc::options o;
    o.fast_kernels = fast;
    const scoped_options use(o);
    check_conv<stco::nm<2, 4>, V>(cs[0], 0.5,
                                  epis<epi::bias_gelu_scale, epi::scale_bias_relu_residual>{});
    check_conv<stco::tile_wise<16>, V>(cs[0], 0.5, fused_epi{});
    check_conv<stco::tile_wise<8>, V>(cs[3], 0.5, fused_epi{});
    check_conv<stco::block<4, 4>, V>(cs[1], 0.5, fused_epi{});
    check_conv<stco::nm<1, 3>, V>(grouped_conv_cases()[1], 2.0 / 3, fused_epi{});
  }
}
