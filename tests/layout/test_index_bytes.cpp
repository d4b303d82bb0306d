// The TIE claim: every structured layout indexes its kept set in fewer bytes than CSR does for the
// same kept set (CSR also gets its narrowest index widths). The ratios are printed.
//
// tile_vector<T,N,M> pays one column index per tile column plus ⌈log2 M⌉ bits per value, so it
// beats CSR only when a tile column carries enough kept values (T·N/M of them): tile_vector<8,1,8>
// carries one, and costs 2 B + 3 bits per value against CSR's 2 B. That case is checked below too.
#include <doctest/doctest.h>

#include <cstdio>

#include "../support/random.hpp"
#include "layout_list.hpp"

TEST_CASE_TEMPLATE("structured index bytes are below CSR's for the same kept set", L,
                   STCO_TEST_NM_LAYOUTS, stco::block<4, 4>, stco::block<2, 8>, stco::tile_wise<4>,
                   stco::tile_wise<16>, stco::tile_vector<4, 2, 4>, stco::tile_vector<32, 1, 8>,
                   stco::tile_vector<3, 2, 3>, stco::channel) {
  for (stco::matrix_shape shape :
       {stco::matrix_shape{64, 128}, stco::matrix_shape{70, 99}, stco::matrix_shape{256, 1152}})
    for (double s : stco_test::sparsities<L>()) {
      if (stco::kept_count(shape.size(), s) == 0 || s >= 1.0) continue;
      CAPTURE(shape);
      CAPTURE(s);
      const auto X = stco_test::random_matrix<float>(shape.rows, shape.cols);
      const auto S = stco::prune<L>(X, s);
      const auto C = stco::encode<stco::csr>(stco::decode(S));
      CHECK(C.kept() == S.kept());
      CHECK(S.index_bytes() < C.index_bytes());
      std::printf("%-20s %4lldx%-5lld sparsity %.3f: index %8zu B vs CSR %8zu B (%.1fx smaller)\n",
                  L::name().c_str(), static_cast<long long>(shape.rows),
                  static_cast<long long>(shape.cols), s, S.index_bytes(), C.index_bytes(),
                  static_cast<double>(C.index_bytes()) / static_cast<double>(S.index_bytes()));
    }
}

TEST_CASE("tile_vector with one kept value per tile column does not beat CSR's index") {
  const auto X = stco_test::random_matrix<float>(64, 128);
  const auto S =
      stco::prune<stco::tile_vector<8, 1, 8>>(X, 0.875);  // tile keeps all 128 columns, 1:8
  const auto C = stco::encode<stco::csr>(stco::decode(S));
  // 8 tiles × 128 columns × 2 B + 1024 values × 3 bits, against CSR's 1024 × 2 B + 65 row pointers.
  CHECK(S.index_bytes() == 9 * 2 + 8 * 128 * 2 + 1024 * 3 / 8);
  CHECK(C.index_bytes() == 65 * 2 + 1024 * 2);
  CHECK(S.index_bytes() > C.index_bytes());
}
