// Compressed shapes are constexpr: checked here at compile time, for static extents too.
#include <doctest/doctest.h>

#include "stco/layouts.hpp"

using stco::matrix_shape;

static_assert(stco::dense::compressed_shape({64, 30}) == matrix_shape{64, 30});
static_assert(stco::nm<2, 4>::compressed_shape({64, 30}) ==
              matrix_shape{64, 16});  // K padded 30 → 32
static_assert(stco::nm<1, 8>::compressed_shape({3, 8}) == matrix_shape{3, 1});
static_assert(stco::nm<5, 16>::compressed_shape({2, 17}) == matrix_shape{2, 10});
static_assert(stco::block<4, 4>::compressed_shape({10, 10}, 0.5) ==
              matrix_shape{5, 16});  // 3×3 blocks, keep 5
static_assert(stco::tile_wise<32>::compressed_shape({128, 64}, 0.75) ==
              matrix_shape{64, 32});  // 4 tiles × 16
static_assert(stco::tile_wise<32>::compressed_shape({100, 64}, 0.5) ==
              matrix_shape{128, 32});  // 4 tiles × 32
static_assert(stco::tile_vector<32, 2, 4>::tile_columns_kept(64, 0.75) == 32);
static_assert(stco::tile_vector<32, 2, 4>::compressed_shape({64, 64}, 0.75) ==
              matrix_shape{32, 32});  // 2 tiles × 8 groups × 2
static_assert(stco::channel::compressed_shape({64, 9}, 0.25) == matrix_shape{48, 9});
static_assert(stco::csr::compressed_shape({10, 10}, 0.9) == matrix_shape{10, 1});

// Static extents stay static where the layout allows.
static_assert(std::is_same_v<stco::compressed_extents_t<stco::nm<2, 4>, stco::extents<64, 30>>,
                             stco::extents<64, 16>>);
static_assert(std::is_same_v<stco::compressed_extents_t<stco::dense, stco::extents<8, 8>>,
                             stco::extents<8, 8>>);
static_assert(std::is_same_v<
              stco::compressed_extents_t<stco::nm<2, 4>, stco::extents<stco::dynamic_extent, 30>>,
              stco::extents<stco::dynamic_extent, 16>>);
static_assert(
    std::is_same_v<stco::compressed_extents_t<stco::csr, stco::extents<8, 8>>, stco::dextents<2>>);

// The contract is checked at compile time too.
static_assert(stco::is_layout_v<stco::nm<2, 4>> && stco::is_layout_v<stco::tile_vector<8, 1, 8>> &&
              stco::is_layout_v<stco::csr> && !stco::is_layout_v<int>);

TEST_CASE("compressed shapes: prune produces what compressed_shape predicts") {
  stco::tensor<float, 2> w({100, 64});
  for (stco::index_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i % 13) + 1.0f;
  CHECK(stco::prune<stco::tile_wise<32>>(w, 0.5).compressed_shape() ==
        stco::tile_wise<32>::compressed_shape({100, 64}, 0.5));
  CHECK(stco::prune<stco::nm<2, 4>>(w).compressed_shape() ==
        stco::nm<2, 4>::compressed_shape({100, 64}));
}
