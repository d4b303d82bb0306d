// encode refuses dense input that breaks a pattern, naming the first bad group or tile; entities
// built from outside parts are validated and corrupted ones refused with the offending index.
#include <doctest/doctest.h>

#include "../support/random.hpp"
#include "layout_list.hpp"

using doctest::Contains;
using stco::index_t;

TEST_CASE("encode: nm refuses a group with too many nonzeros and names it") {
  stco::tensor<float, 2> w({3, 10});
  w(1, 4) = 1;
  w(1, 5) = 2;
  CHECK_NOTHROW(stco::encode<stco::nm<2, 4>>(w));
  w(1, 7) = 3;  // third nonzero in row 1, group 1
  CHECK_THROWS_WITH_AS((stco::encode<stco::nm<2, 4>>(w)),
                       Contains("row 1, group 1 (columns 4..7) has 3 nonzeros"),
                       stco::pattern_error);
  stco::tensor<float, 2> r({2, 10});  // ragged last group: columns 8..9
  r(0, 8) = r(0, 9) = 1;
  CHECK_NOTHROW(stco::encode<stco::nm<2, 4>>(r));
  CHECK_THROWS_WITH_AS((stco::encode<stco::nm<1, 4>>(r)), Contains("row 0, group 2 (columns 8..9)"),
                       stco::pattern_error);
}

TEST_CASE("encode: tile_vector refuses a row breaking N:M in every choice of kept columns") {
  stco::tensor<float, 2> w({4, 8});
  for (int c : {1, 2, 3})
    w(2, c) = 1;  // three nonzeros of row 2 with no all-zero column between them
  w(0, 6) = 1;
  CHECK_THROWS_WITH_AS((stco::encode<stco::tile_vector<4, 2, 4>>(w)),
                       Contains("tile 0 (rows 0..3): no choice of kept columns fits 2:4; no "
                                "grouping gets past column 1 (a group starting there holds more "
                                "than 2 nonzeros of row 2"),
                       stco::pattern_error);
  // An all-zero column between them lets a group end there: columns 0..3 and 4..7.
  w(2, 2) = 0;
  w(2, 4) = 1;
  CHECK_NOTHROW(stco::encode<stco::tile_vector<4, 2, 4>>(w));
}

TEST_CASE_TEMPLATE("encode into a given entity refuses a nonzero outside it", L,
                   STCO_TEST_NM_LAYOUTS, stco::block<4, 4>, stco::tile_wise<4>,
                   stco::tile_vector<4, 2, 4>, stco::channel, stco::csr) {
  const auto X = stco_test::random_matrix<double>(8, 16);
  const auto S = stco::prune<L>(X, L::max_sparsity == L::min_sparsity ? L::min_sparsity : 0.75);
  auto D = stco::decode(S);
  const auto mask = stco::kept_mask(S.entity());
  index_t hole = 0;
  while (mask[hole]) ++hole;
  D[hole] = 5.0;
  const auto before = D;
  const std::string where =
      stco::detail::message("at (", hole / 16, ", ", hole % 16, ") lies outside the pattern");
  CHECK_THROWS_WITH_AS(stco::encode(D, S.entity_ptr()), Contains(where.c_str()),
                       stco::pattern_error);
  for (index_t i = 0; i < D.size(); ++i) REQUIRE(D[i] == before[i]);  // input untouched
  stco::tensor<double, 2> wrong({8, 15});
  CHECK_THROWS_AS(stco::encode(wrong, S.entity_ptr()), stco::shape_error);
}

TEST_CASE("validate: nm offsets") {
  using E = stco::nm_entity<2, 4>;
  const stco::matrix_shape s{2, 8};  // 2 rows × 2 groups × 2 slots × 2 bits = 16 bits
  auto words = [](std::initializer_list<unsigned> offs) {
    std::uint32_t w = 0;
    int i = 0;
    for (unsigned o : offs) w |= o << (2 * i++);
    return std::vector<std::uint32_t>{w};
  };
  CHECK_NOTHROW(E::from_words(s, words({0, 1, 2, 3, 1, 3, 0, 2})));
  CHECK_THROWS_WITH_AS(E::from_words(s, words({0, 1, 2, 3, 3, 1, 0, 2})),
                       Contains("row 1, group 0: offsets not strictly increasing at slot 1"),
                       stco::index_error);
  CHECK_THROWS_WITH_AS(E::from_words(s, words({0, 1, 2, 2, 1, 3, 0, 2})),
                       Contains("row 0, group 1"), stco::index_error);
  CHECK_THROWS_WITH_AS(E::from_words(s, {0u, 0u}), Contains("2 words given"), stco::index_error);
  // Offsets out of range need M below 2^bits: 1:3 stores 2-bit offsets, 3 is invalid.
  CHECK_THROWS_WITH_AS((stco::nm_entity<1, 3>::from_words({1, 3}, {3u})),
                       Contains("offset 3 is not below M = 3"), stco::index_error);
  // In a ragged group with ≥ N real positions no slot may point past K.
  CHECK_THROWS_WITH_AS(E::from_words({1, 7}, words({0, 1, 1, 3})), Contains("points past K = 7"),
                       stco::index_error);
  CHECK_NOTHROW(
      E::from_words({1, 5}, words({0, 1, 0, 1})));  // one real position: padding slot allowed
}

TEST_CASE("validate: block, tile, channel and csr lists") {
  using B = stco::block_entity<2, 2>;
  CHECK_NOTHROW(B::from_parts({4, 6}, {0, 2, 3}, {0, 2, 1}));
  CHECK_THROWS_WITH_AS(B::from_parts({4, 6}, {0, 2}, {0, 2}), Contains("expected 3"),
                       stco::index_error);
  CHECK_THROWS_WITH_AS(B::from_parts({4, 6}, {0, 2, 3}, {2, 0, 1}),
                       Contains("not strictly increasing"), stco::index_error);
  CHECK_THROWS_WITH_AS(B::from_parts({4, 6}, {0, 2, 3}, {0, 3, 1}),
                       Contains("lists block-column 3"), stco::index_error);
  CHECK_THROWS_WITH_AS(B::from_parts({4, 6}, {0, 3, 2}, {0, 1, 2}),
                       Contains("decreases at block-row 1"), stco::index_error);
  CHECK_THROWS_WITH_AS(B::from_parts({4, 6}, {1, 2, 3}, {0, 1, 2}), Contains("starts at 1"),
                       stco::index_error);

  using W = stco::tile_wise_entity<4>;
  CHECK_NOTHROW(W::from_parts({6, 10}, {0, 2, 3}, {1, 7, 9}));
  CHECK_THROWS_WITH_AS(
      W::from_parts({6, 10}, {0, 2, 3}, {7, 1, 9}),
      Contains("tile 0 column list not strictly increasing at position 1 (7 then 1)"),
      stco::index_error);
  CHECK_THROWS_WITH_AS(W::from_parts({6, 10}, {0, 2, 3}, {1, 1, 9}), Contains("tile 0 column list"),
                       stco::index_error);
  CHECK_THROWS_WITH_AS(W::from_parts({6, 10}, {0, 2, 3}, {1, 7, 10}),
                       Contains("tile 1 lists column 10"), stco::index_error);
  CHECK_THROWS_WITH_AS(W::from_parts({6, 10}, {0, 2, 2}, {1, 7, 9}), Contains("ends at 2"),
                       stco::index_error);

  using V = stco::tile_vector_entity<2, 1, 2>;  // 1-bit offsets
  CHECK_NOTHROW(V::from_parts({2, 6}, {0, 4}, {0, 1, 4, 5}, {0b0110u}));
  CHECK_THROWS_WITH_AS(V::from_parts({2, 6}, {0, 4}, {0, 1, 4, 5}, {0u, 0u}),
                       Contains("2 words given"), stco::index_error);
  CHECK_THROWS_WITH_AS(V::from_parts({2, 6}, {0, 4}, {0, 4, 1, 5}, {0u}),
                       Contains("not strictly increasing"), stco::index_error);
  CHECK_THROWS_WITH_AS(
      (stco::tile_vector_entity<2, 1, 3>::from_parts({2, 6}, {0, 3}, {0, 1, 4}, {0b0011u})),
      Contains("offset 3 is not below M = 3"), stco::index_error);

  CHECK_NOTHROW(stco::channel_entity::from_parts({5, 3}, {0, 3, 4}));
  CHECK_THROWS_WITH_AS(stco::channel_entity::from_parts({5, 3}, {0, 4, 3}),
                       Contains("position 2 (4 then 3)"), stco::index_error);
  CHECK_THROWS_WITH_AS(stco::channel_entity::from_parts({5, 3}, {0, 5}), Contains("kept row 5"),
                       stco::index_error);

  CHECK_NOTHROW(stco::csr_entity::from_parts({2, 4}, {0, 2, 3}, {0, 3, 1}));
  CHECK_THROWS_WITH_AS(stco::csr_entity::from_parts({2, 4}, {0, 2, 3}, {3, 0, 1}),
                       Contains("row 0 column list"), stco::index_error);
  CHECK_THROWS_WITH_AS(stco::csr_entity::from_parts({2, 4}, {0, 2, 3}, {0, 3, 4}),
                       Contains("row 1 lists column 4"), stco::index_error);
  CHECK_THROWS_WITH_AS(stco::csr_entity::from_parts({2, 4}, {0, 2, 4}, {0, 3, 1}),
                       Contains("row pointer 4 at position 2"), stco::index_error);
  CHECK_THROWS_WITH_AS(stco::csr_entity::from_parts({2, 4}, {0, 2, 2}, {0, 3, 1}),
                       Contains("ends at 2"), stco::index_error);
}

TEST_CASE("sparse_matrix refuses values that do not fit its entity") {
  const auto e = stco::csr_entity::from_parts({2, 4}, {0, 2, 3}, {0, 3, 1});
  CHECK_NOTHROW(stco::sparse_matrix<float, stco::csr>(e, stco::host_buffer<float>(3)));
  CHECK_THROWS_WITH_AS((stco::sparse_matrix<float, stco::csr>(e, stco::host_buffer<float>(4))),
                       Contains("4 values given"), stco::shape_error);
  CHECK_THROWS_AS((stco::sparse_matrix<float, stco::csr>(nullptr)), stco::argument_error);
}
