// matmul on the device in half and bfloat16 (float accumulation) against dense
// double math: results within one rounding of the output type. Run through the fast paths where
// dispatch has one (gather_tc: tiles of ≥ 16 rows, dense, channel; sparse_tc: nm<2,4>, and the N:M
// masks it runs as one 2:4 term (1:2, 1:4, 1:8, 2:8) or two (4:8, 2:3, 5:16), ragged K included)
// and again with them switched off (the portable kernels).
#include "gpu_support.hpp"

TEST_CASE_TEMPLATE("device matmul in half and bfloat16 matches dense double math", V, stco::half,
                   stco::bfloat16) {
  using namespace stco_gpu_test;
  for (bool fast : {true, false}) {
    CAPTURE(fast);
    sc::options o;
    o.fast_kernels = fast;
    const scoped_options use(o);
    check_matmul<stco::nm<2, 4>, V>(24, 70, 40, 0.5,
                                    epis<epi::bias_gelu_scale, epi::scale_bias_relu_residual>{});
    check_matmul<stco::nm<2, 4>, V>(130, 256, 136, 0.5, fused_epi{});
    check_matmul<stco::nm<1, 4>, V>(24, 70, 40, 0.75,
                                    epis<epi::bias_gelu_scale, epi::scale_bias_relu_residual>{});
    check_matmul<stco::nm<1, 4>, V>(130, 256, 136, 0.75, fused_epi{});
    check_matmul<stco::nm<1, 2>, V>(33, 67, 24, 0.5, fused_epi{});
    check_matmul<stco::nm<1, 2>, V>(64, 128, 64, 0.5, fused_epi{});
    check_matmul<stco::nm<2, 8>, V>(40, 77, 48, 0.75, fused_epi{});
    check_matmul<stco::nm<1, 8>, V>(128, 264, 136, 0.875, fused_epi{});
    // Two 2:4 terms (a quad may keep more than two).
    check_matmul<stco::nm<4, 8>, V>(24, 70, 40, 0.5,
                                    epis<epi::bias_gelu_scale, epi::scale_bias_relu_residual>{});
    check_matmul<stco::nm<4, 8>, V>(130, 256, 136, 0.5, fused_epi{});
    check_matmul<stco::nm<4, 8>, V>(24, 72, 37, 0.5, fused_epi{});  // N % 8 != 0: no dense dX
    check_matmul<stco::nm<2, 3>, V>(33, 67, 24, stco::nm<2, 3>::default_sparsity, fused_epi{});
    check_matmul<stco::nm<5, 16>, V>(40, 77, 48, stco::nm<5, 16>::default_sparsity, fused_epi{});
    check_matmul<stco::tile_wise<8>, V>(30, 64, 70, 0.75, fused_epi{});
    check_matmul<stco::tile_wise<32>, V>(70, 96, 50, 0.5, fused_epi{});
    check_matmul<stco::block<4, 4>, V>(17, 33, 20, 0.5, fused_epi{});
    check_matmul<stco::dense, V>(19, 45, 33, 0.0, fused_epi{});
    check_matmul<stco::channel, V>(16, 40, 20, 0.5, fused_epi{});
    check_matmul<stco::csr, V>(16, 40, 20, 0.7, fused_epi{});
    check_matmul<stco::tile_vector<4, 2, 4>, V>(18, 48, 21, 0.75, fused_epi{});
  }
}
