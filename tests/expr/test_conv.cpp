// conv2d expression tests: the output-extent formula, half and bfloat16, and convolutions large
// enough for several pixel chunks and dW slices (the per-layout matrix is in test_conv_nm.cpp and
// test_conv_other.cpp), against double-precision loops on fresh random data.
#include "../layout/layout_list.hpp"
#include "conv_case.hpp"

using namespace stco_test;
using namespace stco_test::conv_case;

TEST_CASE("conv output extents follow the counting formula") {
  // Hand-checked values of the formula the tests use (not the library's).
  CHECK(expected_out_extent(7, 3, 1, 1, 1) == 7);
  CHECK(expected_out_extent(9, 3, 2, 0, 1) == 4);
  CHECK(expected_out_extent(8, 3, 1, 2, 2) == 8);
  CHECK(expected_out_extent(9, 3, 2, 1, 1) == 5);
  CHECK(expected_out_extent(2, 3, 2, 0, 1) == 0);  // the kernel does not fit
  for (const auto& s : settings) {
    const std::string setting = s.name;
    CAPTURE(setting);
    const auto e = expected_out_shape(s);
    for (index_t i : {e[1], e[2]}) CHECK(i >= 1);
    // The library's own inference agrees.
    const auto W = stco::prune<stco::dense>(random_matrix<float>(s.cout, s.k()), 0.0);
    const auto X = random_tensor4<float>(s.batch, s.h, s.w, s.cin);
    CHECK(stco::conv2d(W, X, s.params()).out_shape() == e);
  }
}

TEST_CASE_TEMPLATE("conv2d in half and bfloat16 matches double math", V, stco::half,
                   stco::bfloat16) {
  for (const conv_setting& s : {settings[0], settings[5], settings[7]}) {
    const std::string setting = s.name;
    CAPTURE(setting);
    run_layout<stco::nm<2, 4>, V>(s, 0.5);
    run_layout<stco::tile_wise<8>, V>(s, 0.75);
    run_layout<stco::block<4, 4>, V>(s, 0.5);
    run_layout<stco::channel, V>(s, 0.5);
    run_layout<stco::csr, V>(s, 0.7);
  }
  run_layout<stco::tile_vector<4, 2, 4>, V>(settings[6], 0.5);
}

TEST_CASE_TEMPLATE("conv2d over many pixel chunks and dW slices", L, stco::nm<2, 4>,
                   stco::tile_wise<4>, stco::block<4, 4>, stco::tile_vector<4, 2, 4>, stco::csr,
                   stco::channel, stco::dense) {
  // 765 output pixels: more than one chunk and one dW slice at every vector width (AVX-512
  // included), so the chunked drivers and the sum over slices run.
  CAPTURE(L::name());
  // clang-format off
  const conv_setting large[] = {
      // name                N  H   W   Cin Cout kh kw sh sw ph pw dh dw g  explicit kernel
      {"765 pixels",         3, 17, 15, 8,  20,  3, 3, 1, 1, 1, 1, 1, 1, 1, false},
      {"765 pixels, groups 2", 3, 17, 15, 8, 20, 3, 3, 1, 1, 1, 1, 1, 1, 2, false},
  };
  // clang-format on
  for (const auto& s : large) {
    const std::string setting = s.name;
    CAPTURE(setting);
    run_layout<L, float>(s, L::default_sparsity);
    run_layout<L, double>(s, L::default_sparsity);
  }
}
