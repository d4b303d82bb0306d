// decode(prune(X)) == mask ⊙ X for every layout × value type over ragged shapes and sparsities;
// encode reproduces the pattern; compressed shapes match the layout's constexpr prediction.
#include <doctest/doctest.h>

#include "../support/random.hpp"
#include "layout_list.hpp"

using namespace stco_test;

#define CASES_FOR(T)                                                                               \
  lt<stco::nm<1, 2>, T>, lt<stco::nm<2, 4>, T>, lt<stco::nm<1, 4>, T>, lt<stco::nm<2, 8>, T>,      \
      lt<stco::nm<4, 8>, T>, lt<stco::nm<1, 8>, T>, lt<stco::nm<2, 3>, T>, lt<stco::nm<5, 16>, T>, \
      lt<stco::dense, T>, lt<stco::block<4, 4>, T>, lt<stco::block<2, 8>, T>,                      \
      lt<stco::tile_wise<4>, T>, lt<stco::tile_wise<16>, T>, lt<stco::tile_vector<4, 2, 4>, T>,    \
      lt<stco::tile_vector<8, 1, 8>, T>, lt<stco::tile_vector<3, 2, 3>, T>, lt<stco::channel, T>,  \
      lt<stco::csr, T>

template <class T>
bool same(T a, T b) {
  return stco::to_double(a) == stco::to_double(b);
}

TEST_CASE_TEMPLATE("prune, decode and encode round-trip", C, CASES_FOR(float), CASES_FOR(double),
                   CASES_FOR(stco::half), CASES_FOR(stco::bfloat16)) {
  using L = typename C::layout;
  using T = typename C::value;
  for (auto shape : shapes())
    for (double s : sparsities<L>()) {
      CAPTURE(shape);
      CAPTURE(s);
      const auto X = random_matrix<T>(shape.rows, shape.cols);
      const auto S = stco::prune<L>(X, s);
      L::validate(S.entity());
      CHECK(S.shape() == shape);
      CHECK(S.compressed_shape() == L::compressed_shape(shape, s));
      CHECK(S.value_count() == S.compressed_shape().size());
      CHECK(S.bytes() == S.value_count() * sizeof(T) + S.index_bytes());

      const auto D = stco::decode(S);
      const auto mask = stco::kept_mask(S.entity());
      stco::index_t kept = 0;
      bool ok = true;
      for (stco::index_t i = 0; i < X.size(); ++i) {
        ok = ok && same(D[i], mask[i] ? X[i] : T{});
        kept += mask[i];
      }
      CHECK(ok);
      CHECK(S.kept() == kept);
      // Every kept position is a distinct slot: the padding slots hold zero.
      stco::index_t nonzero_slots = 0;
      for (stco::index_t p = 0; p < S.value_count(); ++p)
        nonzero_slots += stco::is_nonzero(S.values()[p]);
      CHECK(nonzero_slots == kept);

      // Encoding the decoded matrix into the same entity shares it and reproduces the values.
      const auto F = stco::encode(D, S.entity_ptr());
      CHECK(F.entity_ptr() == S.entity_ptr());
      bool same_values = true;
      for (stco::index_t p = 0; p < S.value_count(); ++p)
        same_values = same_values && same(F.values()[p], S.values()[p]);
      CHECK(same_values);

      // Encoding with an inferred pattern gives the same dense matrix (and, except tile_vector,
      // whose tile may keep a column no row uses, the same mask).
      if constexpr (is_tile_vector<L>::value) {
        const auto E = stco::encode<L>(D);
        const auto DE = stco::decode(E);
        bool eq = true;
        for (stco::index_t i = 0; i < D.size(); ++i) eq = eq && same(DE[i], D[i]);
        CHECK(eq);
      } else {
        const auto E = stco::encode<L>(D);
        const auto mE = stco::kept_mask(E.entity());
        const auto DE = stco::decode(E);
        bool eq = true;
        for (stco::index_t i = 0; i < D.size(); ++i)
          eq = eq && same(DE[i], D[i]) && (mE[i] == mask[i] || shape.cols == 0);
        CHECK(eq);
      }
    }
}

TEST_CASE_TEMPLATE("decode_into refuses a wrong output shape and leaves it untouched", L,
                   STCO_TEST_NM_LAYOUTS, STCO_TEST_OTHER_LAYOUTS) {
  const auto X = random_matrix<float>(9, 20);
  const auto S = stco::prune<L>(X, L::default_sparsity);
  stco::tensor<float, 2> out({9, 21});
  out.fill(3.0f);
  CHECK_THROWS_AS(stco::decode_into(S, out.view()), stco::shape_error);
  for (float v : out) REQUIRE(v == 3.0f);
}
