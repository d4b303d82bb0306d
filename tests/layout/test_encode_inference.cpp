// Pattern inference: encode<L>(decode(prune<L>(X))) must succeed for every layout, sparsity and
// shape, including matrices whose kept positions hold exact zeros (whole kept columns of a tile
// can then be zero), and decode to the same dense matrix. For tile_vector, whose tiles choose
// their kept columns, inference must also refuse only what an exhaustive search cannot fit.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "../support/random.hpp"
#include "layout_list.hpp"

using stco::index_t;
using namespace stco_test;

namespace {

/// An R×K matrix where each entry is zero with probability `zero_share`, plus a few whole zero
/// columns and rows; other entries uniform in ±[0.05, 1].
template <class T>
stco::tensor<T, 2> matrix_with_zeros(index_t R, index_t K, double zero_share) {
  std::uniform_real_distribution<double> u(0.05, 1.0), p(0.0, 1.0);
  stco::tensor<T, 2> t(stco::dextents<2>(R, K));
  std::vector<bool> zero_col(static_cast<std::size_t>(K)), zero_row(static_cast<std::size_t>(R));
  for (index_t c = 0; c < K; ++c) zero_col[c] = p(rng()) < zero_share / 2;
  for (index_t r = 0; r < R; ++r) zero_row[r] = p(rng()) < zero_share / 4;
  for (index_t r = 0; r < R; ++r)
    for (index_t c = 0; c < K; ++c) {
      const bool zero = zero_col[c] || zero_row[r] || p(rng()) < zero_share;
      t(r, c) = stco::from_double<T>(zero ? 0.0 : (p(rng()) < 0.5 ? -1 : 1) * u(rng()));
    }
  return t;
}

template <class T>
bool equal(const stco::tensor<T, 2>& a, const stco::tensor<T, 2>& b) {
  if (a.extents() != b.extents()) return false;
  for (index_t i = 0; i < a.size(); ++i)
    if (stco::to_double(a[i]) != stco::to_double(b[i])) return false;
  return true;
}

}  // namespace

TEST_CASE_TEMPLATE("encode infers a pattern for whatever prune produced", L, STCO_TEST_NM_LAYOUTS,
                   STCO_TEST_OTHER_LAYOUTS, stco::tile_vector<1, 1, 2>, stco::tile_vector<2, 2, 4>,
                   stco::tile_vector<5, 3, 8>, stco::tile_vector<16, 1, 4>) {
  for (auto shape : shapes())
    for (double s : sparsities<L>())
      for (double zeros : {0.0, 0.3, 0.7})
        for (int trial = 0; trial < 3; ++trial) {
          CAPTURE(shape);
          CAPTURE(s);
          CAPTURE(zeros);
          const auto X = matrix_with_zeros<float>(shape.rows, shape.cols, zeros);
          const auto D = stco::decode(stco::prune<L>(X, s));
          const auto E = stco::encode<L>(D);  // must not throw
          L::validate(E.entity());
          REQUIRE(equal(stco::decode(E), D));
        }
}

TEST_CASE("encode<tile_vector<1,1,2>> takes back its own prune of [[1, .1, .2, 2]]") {
  // prune keeps all four columns, 1 of each pair: [1, 0, 0, 2]. Inferring the columns from the
  // nonzeros alone put 1 and 2 in one group of two and refused the matrix.
  stco::tensor<float, 2> X({1, 4});
  X(0, 0) = 1.0f;
  X(0, 1) = 0.1f;
  X(0, 2) = 0.2f;
  X(0, 3) = 2.0f;
  using L = stco::tile_vector<1, 1, 2>;
  const auto D = stco::decode(stco::prune<L>(X, 0.5));
  CHECK(D(0, 0) == 1.0f);
  CHECK(D(0, 1) == 0.0f);
  CHECK(D(0, 2) == 0.0f);
  CHECK(D(0, 3) == 2.0f);
  const auto E = stco::encode<L>(D);
  CHECK(equal(stco::decode(E), D));
  CHECK(E.entity().tile_count(0) >= 3);  // an all-zero column separates the two nonzeros
}

namespace {

/// Whether kept columns `cols` of a tile (rows × K, nonzero(r, c)) put at most N nonzeros of each
/// row into every group of M consecutive kept columns.
template <int N, int M>
bool groups_fit(const std::vector<index_t>& cols, const std::vector<std::vector<bool>>& nz) {
  for (std::size_t g = 0; g < cols.size(); g += M)
    for (const auto& row : nz) {
      int n = 0;
      for (std::size_t i = g; i < std::min(cols.size(), g + M); ++i) n += row[cols[i]];
      if (n > N) return false;
    }
  return true;
}

/// Exhaustive reference: some set of kept columns holding every nonzero column fits N:M.
template <int N, int M>
bool some_pattern_fits(const std::vector<std::vector<bool>>& nz, index_t K) {
  std::vector<index_t> must, may;
  for (index_t c = 0; c < K; ++c) {
    bool any = false;
    for (const auto& row : nz) any = any || row[c];
    (any ? must : may).push_back(c);
  }
  for (unsigned mask = 0; mask < (1u << may.size()); ++mask) {
    std::vector<bool> keep(static_cast<std::size_t>(K));
    for (index_t c : must) keep[c] = true;
    for (std::size_t i = 0; i < may.size(); ++i)
      if (mask >> i & 1u) keep[may[i]] = true;
    std::vector<index_t> cols;
    for (index_t c = 0; c < K; ++c)
      if (keep[c]) cols.push_back(c);
    if (groups_fit<N, M>(cols, nz)) return true;
  }
  return false;
}

template <int T, int N, int M>
void compare_with_exhaustive_search(int trials) {
  using L = stco::tile_vector<T, N, M>;
  std::uniform_int_distribution<int> k(0, 11);
  std::uniform_real_distribution<double> p(0.0, 1.0);
  int fits = 0, refused = 0;
  for (int trial = 0; trial < trials; ++trial) {
    const index_t K = k(rng());
    const double density = 0.15 + 0.6 * p(rng());
    stco::tensor<double, 2> W(stco::dextents<2>(T, K));
    std::vector<std::vector<bool>> nz(T, std::vector<bool>(static_cast<std::size_t>(K)));
    for (index_t r = 0; r < T; ++r)
      for (index_t c = 0; c < K; ++c)
        if (p(rng()) < density) {
          W(r, c) = 1.0 + static_cast<double>(r * K + c);
          nz[r][c] = true;
        }
    CAPTURE(K);
    CAPTURE(density);
    const bool expected = some_pattern_fits<N, M>(nz, K);
    if (expected) {
      ++fits;
      const auto E = stco::encode<L>(W);
      L::validate(E.entity());
      REQUIRE(equal(stco::decode(E), W));
    } else {
      ++refused;
      REQUIRE_THROWS_AS(stco::encode<L>(W), stco::pattern_error);
    }
  }
  // Both outcomes occur, so the comparison means something.
  CHECK(fits > trials / 10);
  CHECK(refused > trials / 10);
}

}  // namespace

TEST_CASE("encode<tile_vector> refuses exactly what no choice of kept columns fits") {
  compare_with_exhaustive_search<1, 1, 2>(400);
  compare_with_exhaustive_search<2, 1, 2>(400);
  compare_with_exhaustive_search<1, 2, 4>(400);
  compare_with_exhaustive_search<3, 2, 4>(400);
  compare_with_exhaustive_search<2, 1, 3>(400);
  compare_with_exhaustive_search<2, 2, 3>(400);
}
