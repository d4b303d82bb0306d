// prune keeps exactly the highest-scoring units of each layout, checked against brute force
// written from the layout's definition: exhaustive subset search inside N:M groups, and for
// per-tile / per-block / per-row / global selections, that the kept count is right and every kept
// unit scores at least as high as every dropped one. Scores are |w|, or a caller-given tensor.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>

#include "../support/random.hpp"
#include "layout_list.hpp"

using namespace stco_test;
using stco::index_t;

namespace {

using score_fn = std::function<double(index_t, index_t)>;

// Best subset of size n of positions {0..real-1} by summed score, by enumeration.
std::set<int> best_subset(int real, int n, const std::function<double(int)>& score) {
  if (real <= n) {
    std::set<int> all;
    for (int i = 0; i < real; ++i) all.insert(i);
    return all;
  }
  double best = -1;
  unsigned best_mask = 0;
  for (unsigned m = 0; m < (1u << real); ++m) {
    if (__builtin_popcount(m) != n) continue;
    double s = 0;
    for (int i = 0; i < real; ++i)
      if (m >> i & 1) s += score(i);
    if (s > best) best = s, best_mask = m;
  }
  std::set<int> out;
  for (int i = 0; i < real; ++i)
    if (best_mask >> i & 1) out.insert(i);
  return out;
}

// kept ⊂ units has the right size and dominates the rest.
void check_dominates(const std::map<index_t, double>& unit_score, const std::set<index_t>& kept,
                     index_t want, const char* what) {
  CAPTURE(what);
  CHECK(static_cast<index_t>(kept.size()) == want);
  double min_kept = std::numeric_limits<double>::infinity(), max_dropped = -1;
  for (const auto& [u, s] : unit_score)
    (kept.count(u) ? min_kept = std::min(min_kept, s) : max_dropped = std::max(max_dropped, s));
  CHECK(min_kept >= max_dropped);
}

template <class T>
struct family;  // dispatch on the layout family
template <int N, int M>
struct family<stco::nm<N, M>> {
  template <class S>
  static void check(const S& sp, const score_fn& sc, double) {
    const auto mask = stco::kept_mask(sp.entity());
    const auto sh = sp.shape();
    bool ok = true;
    for (index_t r = 0; r < sh.rows; ++r)
      for (index_t g = 0; g * M < sh.cols; ++g) {
        const int real = static_cast<int>(std::min<index_t>(M, sh.cols - g * M));
        const auto want = best_subset(real, N, [&](int i) { return sc(r, g * M + i); });
        for (int i = 0; i < real; ++i) ok = ok && (mask(r, g * M + i) == (want.count(i) ? 1 : 0));
      }
    CHECK(ok);
  }
};
template <int BR, int BC>
struct family<stco::block<BR, BC>> {
  template <class S>
  static void check(const S& sp, const score_fn& sc, double s) {
    const auto mask = stco::kept_mask(sp.entity());
    const auto sh = sp.shape();
    std::map<index_t, double> score;
    std::set<index_t> kept;
    const index_t Kb = (sh.cols + BC - 1) / BC, Rb = (sh.rows + BR - 1) / BR;
    for (index_t r = 0; r < sh.rows; ++r)
      for (index_t c = 0; c < sh.cols; ++c) {
        score[(r / BR) * Kb + c / BC] += sc(r, c);
        if (mask(r, c)) kept.insert((r / BR) * Kb + c / BC);
      }
    check_dominates(score, kept, stco::kept_count(Rb * Kb, s), "blocks");
    // a kept block is kept whole
    for (index_t r = 0; r < sh.rows; ++r)
      for (index_t c = 0; c < sh.cols; ++c)
        REQUIRE(mask(r, c) == (kept.count((r / BR) * Kb + c / BC) ? 1 : 0));
  }
};
template <int T>
struct family<stco::tile_wise<T>> {
  template <class S>
  static void check(const S& sp, const score_fn& sc, double s) {
    const auto mask = stco::kept_mask(sp.entity());
    const auto sh = sp.shape();
    for (index_t t = 0; t * T < sh.rows; ++t) {
      std::map<index_t, double> score;
      std::set<index_t> kept;
      for (index_t c = 0; c < sh.cols; ++c) {
        score[c] = 0;
        for (index_t r = t * T; r < std::min<index_t>(sh.rows, t * T + T); ++r) {
          score[c] += sc(r, c);
          REQUIRE(mask(r, c) == mask(t * T, c));  // whole tile columns
        }
        if (mask(t * T, c)) kept.insert(c);
      }
      check_dominates(score, kept, stco::kept_count(sh.cols, s), "tile columns");
    }
  }
};
template <int T, int N, int M>
struct family<stco::tile_vector<T, N, M>> {
  template <class S>
  static void check(const S& sp, const score_fn& sc, double s) {
    const auto mask = stco::kept_mask(sp.entity());
    const auto& e = sp.entity();
    const auto sh = sp.shape();
    for (index_t t = 0; t * T < sh.rows; ++t) {
      std::map<index_t, double> score;
      std::set<index_t> kept;
      std::vector<index_t> cols;
      for (index_t p = e.tile_ptr()[t]; p < e.tile_ptr()[t + 1]; ++p)
        cols.push_back(e.columns()[p]);
      kept.insert(cols.begin(), cols.end());
      for (index_t c = 0; c < sh.cols; ++c) {
        score[c] = 0;
        for (index_t r = t * T; r < std::min<index_t>(sh.rows, t * T + T); ++r)
          score[c] += sc(r, c);
        if (!kept.count(c))
          for (index_t r = t * T; r < std::min<index_t>(sh.rows, t * T + T); ++r)
            REQUIRE(mask(r, c) == 0);
      }
      check_dominates(score, kept, stco::tile_vector<T, N, M>::tile_columns_kept(sh.cols, s),
                      "tile columns");
      // Inside the kept columns, each row keeps the best N of every M, by exhaustive search.
      bool ok = true;
      for (index_t r = t * T; r < std::min<index_t>(sh.rows, t * T + T); ++r)
        for (index_t g = 0; g * M < static_cast<index_t>(cols.size()); ++g) {
          const int real =
              static_cast<int>(std::min<index_t>(M, static_cast<index_t>(cols.size()) - g * M));
          const auto want = best_subset(real, N, [&](int i) { return sc(r, cols[g * M + i]); });
          for (int i = 0; i < real; ++i)
            ok = ok && (mask(r, cols[g * M + i]) == (want.count(i) ? 1 : 0));
        }
      CHECK(ok);
    }
  }
};
template <>
struct family<stco::channel> {
  template <class S>
  static void check(const S& sp, const score_fn& sc, double s) {
    const auto mask = stco::kept_mask(sp.entity());
    const auto sh = sp.shape();
    if (sh.cols == 0) return;
    std::map<index_t, double> score;
    std::set<index_t> kept;
    for (index_t r = 0; r < sh.rows; ++r) {
      score[r] = 0;
      for (index_t c = 0; c < sh.cols; ++c) {
        score[r] += sc(r, c);
        REQUIRE(mask(r, c) == mask(r, 0));
      }
      if (mask(r, 0)) kept.insert(r);
    }
    check_dominates(score, kept, stco::kept_count(sh.rows, s), "rows");
  }
};
template <>
struct family<stco::csr> {
  template <class S>
  static void check(const S& sp, const score_fn& sc, double s) {
    const auto mask = stco::kept_mask(sp.entity());
    const auto sh = sp.shape();
    std::map<index_t, double> score;
    std::set<index_t> kept;
    for (index_t r = 0; r < sh.rows; ++r)
      for (index_t c = 0; c < sh.cols; ++c) {
        score[r * sh.cols + c] = sc(r, c);
        if (mask(r, c)) kept.insert(r * sh.cols + c);
      }
    check_dominates(score, kept, stco::kept_count(sh.size(), s), "entries");
  }
};

}  // namespace

#define BRUTE_LAYOUTS                                                              \
  STCO_TEST_NM_LAYOUTS, stco::block<4, 4>, stco::block<2, 8>, stco::tile_wise<4>,  \
      stco::tile_wise<16>, stco::tile_vector<4, 2, 4>, stco::tile_vector<8, 1, 8>, \
      stco::tile_vector<3, 2, 3>, stco::channel, stco::csr

TEST_CASE_TEMPLATE("prune by magnitude keeps the largest |w| of each unit", L, BRUTE_LAYOUTS) {
  for (auto shape : shapes())
    for (double s : sparsities<L>()) {
      CAPTURE(shape);
      CAPTURE(s);
      const auto X = random_matrix<float>(shape.rows, shape.cols);
      const auto S = stco::prune<L>(X, s);
      family<L>::check(
          S, [&](index_t r, index_t c) { return std::fabs(static_cast<double>(X(r, c))); }, s);
    }
}

TEST_CASE_TEMPLATE("prune by caller scores keeps the highest scores, values from the weight", L,
                   BRUTE_LAYOUTS) {
  for (auto shape : shapes()) {
    const double s = sparsities<L>().back();
    CAPTURE(shape);
    const auto X = random_matrix<stco::half>(shape.rows, shape.cols);
    auto scores = random_matrix<double>(shape.rows, shape.cols);
    for (auto& v : scores) v = std::fabs(v);
    const auto S = stco::prune<L>(X, scores, s);
    family<L>::check(
        S, [&](index_t r, index_t c) { return scores(r, c); }, s);
    const auto D = stco::decode(S);
    const auto mask = stco::kept_mask(S.entity());
    for (index_t i = 0; i < X.size(); ++i)
      REQUIRE(D[i].bits == (mask[i] ? X[i].bits : stco::half().bits));
  }
}

TEST_CASE("prune breaks ties toward the lower index") {
  stco::tensor<float, 2> ones({4, 8});
  ones.fill(1.0f);
  const auto a = stco::prune<stco::nm<2, 4>>(ones);
  for (index_t p = 0; p < a.value_count(); ++p)
    CHECK(a.entity().offset(p) == static_cast<unsigned>(p % 2));
  const auto t = stco::prune<stco::tile_wise<4>>(ones, 0.75);
  CHECK(t.entity().columns().to_vector() == std::vector<index_t>{0, 1});
  const auto c = stco::prune<stco::csr>(ones, 0.5);
  CHECK(c.entity().row_ptr().to_vector() == std::vector<index_t>{0, 8, 16, 16, 16});
}

TEST_CASE("prune refuses bad input and names it") {
  stco::tensor<float, 2> w({4, 8});
  w.fill(1.0f);
  CHECK_THROWS_WITH_AS((stco::prune<stco::nm<2, 4>>(w, 0.75)), doctest::Contains("fixed at 0.5"),
                       stco::argument_error);
  CHECK_THROWS_WITH_AS(stco::prune<stco::tile_wise<4>>(w, 1.5), doctest::Contains("outside [0, 1]"),
                       stco::argument_error);
  CHECK_THROWS_AS((stco::prune<stco::tile_vector<4, 2, 4>>(w, 0.25)), stco::argument_error);
  w(2, 5) = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH_AS(stco::prune<stco::csr>(w, 0.5), doctest::Contains("(2, 5) is NaN"),
                       stco::argument_error);
  stco::tensor<float, 2> scores({4, 7});
  CHECK_THROWS_WITH_AS(stco::prune<stco::csr>(w, scores, 0.5), doctest::Contains("[4, 7]"),
                       stco::shape_error);
}
