// nm<2,4> metadata in the sparse tensor core's register order, transposable masks, and the 2:4
// entity that holds another N:M mask (host only: runs everywhere, label cpu).
//
// The reference for the order is built from the PTX ISA's description of the metadata operand of
// mma.sp.m16n8k32 / wgmma.mma_async.sp .f16/.bf16 (sparsity selector 0), thread by thread: in each
// quad, lane 4q + h holds rows q and q + 8; bits [16h'..16h'+15] belong to row q + 8h', the four
// 4-bit fields in them to the chunks of columns 16h..16h+15, lowest chunk lowest; each field holds
// the first kept index in its low two bits, the second in the high two.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "../../support/random.hpp"
#include "stco/kernel/cuda/sparse_tc/embed_nm.hpp"
#include "stco/kernel/cuda/sparse_tc/metadata.hpp"
#include "stco/kernel/cuda/sparse_tc/transposable.hpp"
#include "stco/stco.hpp"

namespace {
using stco::index_t;
namespace sparse_tc = stco::cuda::sparse_tc;

/// A random nm<2,4> entity over [R, K] (magnitude selection of random scores).
std::shared_ptr<const stco::nm_entity<2, 4>> random_entity(index_t R, index_t K) {
  const auto X = stco_test::random_matrix<float>(R, K);
  return stco::prune<stco::nm<2, 4>>(X).entity_ptr();
}

/// Kept positions of each (row, group), in slot order, read through the layout's traversal.
std::vector<std::vector<unsigned>> slot_positions(const stco::nm_entity<2, 4>& e) {
  const index_t R = e.logical_shape().rows, G = e.groups();
  std::vector<std::vector<unsigned>> pos(static_cast<std::size_t>(R * G));
  stco::nm<2, 4>::for_each_slot(e, [&](index_t, index_t r, index_t k) {
    pos[static_cast<std::size_t>(r * G + k / 4)].push_back(static_cast<unsigned>(k % 4));
  });
  return pos;
}

/// The word lane `lane` (lane % 4 < 2) passes for the atom (rb, kb), from the ISA's description.
std::uint32_t isa_word(const std::vector<std::vector<unsigned>>& pos, index_t R, index_t G,
                       index_t rb, index_t kb, int lane) {
  const int q = lane / 4, h = lane % 4;
  std::uint32_t w = 0;
  for (int half = 0; half < 2; ++half) {  // bits 0..15: row q; bits 16..31: row q + 8
    const index_t row = rb * 16 + q + 8 * half;
    for (int chunk = 0; chunk < 4; ++chunk) {
      const index_t col0 = kb * 32 + 16 * h + 4 * chunk;  // first logical column of the chunk
      const index_t g = col0 / 4;
      unsigned field = 0x4;  // outside the matrix: indices 0 and 1 (over zero values)
      if (row < R && g < G) {
        const auto& p = pos[static_cast<std::size_t>(row * G + g)];
        REQUIRE(p.size() == 2);
        field = p[0] | (p[1] << 2);
      }
      w |= field << (16 * half + 4 * chunk);
    }
  }
  return w;
}
}  // namespace

TEST_CASE("nm<2,4> metadata matches the ISA's per-thread register contents") {
  INFO("seed " << stco_test::seed());
  for (auto [R, K] :
       {std::pair<index_t, index_t>{16, 32}, {128, 64}, {37, 70}, {200, 130}, {5, 3}, {130, 257}}) {
    CAPTURE(R);
    CAPTURE(K);
    const auto e = random_entity(R, K);
    const auto& m = sparse_tc::build_mma_metadata(*e);
    CHECK(m.geom.row_blocks == stco::round_up(R, index_t{128}) / 16);
    CHECK(m.geom.k_blocks == stco::round_up(K, index_t{64}) / 32);
    REQUIRE(static_cast<index_t>(m.words.size()) == m.geom.words());
    const auto pos = slot_positions(*e);
    for (index_t rb = 0; rb < m.geom.row_blocks; ++rb)
      for (index_t kb = 0; kb < m.geom.k_blocks; ++kb)
        for (int lane = 0; lane < 32; ++lane) {
          if (lane % 4 >= 2) continue;  // selector 0: lanes 0 and 1 of each quad
          const std::uint32_t got = m.words[static_cast<std::size_t>(
              (rb * m.geom.k_blocks + kb) * 16 + (lane / 4) * 2 + lane % 4)];
          const std::uint32_t want = isa_word(pos, R, e->groups(), rb, kb, lane);
          if (got != want) {
            CAPTURE(rb);
            CAPTURE(kb);
            CAPTURE(lane);
            REQUIRE(got == want);
          }
        }
  }
}

TEST_CASE("metadata is derived once and cached in the entity") {
  const auto e = random_entity(64, 64);
  const auto before = e->derived_builds();
  const auto& a = sparse_tc::metadata(*e);
  const auto& b = sparse_tc::metadata(*e);
  CHECK(&a == &b);
  CHECK(e->derived_builds() == before + 1);
}

TEST_CASE("transposable pruning keeps 2 per row and column of every 4x4 block, optimally") {
  INFO("seed " << stco_test::seed());
  for (auto [R, K] : {std::pair<index_t, index_t>{8, 8}, {37, 20}, {64, 128}, {6, 4}}) {
    CAPTURE(R);
    CAPTURE(K);
    const auto S = stco_test::random_matrix<double>(R, K);
    const auto e = sparse_tc::prune_transposable(S.view());
    REQUIRE(sparse_tc::is_transposable(*e));
    const auto mask = stco::kept_mask(*e);
    for (index_t gr = 0; gr * 4 < R; ++gr)
      for (index_t g = 0; g < K / 4; ++g) {
        const index_t rows = std::min<index_t>(4, R - gr * 4);
        double got = 0;
        for (index_t j = 0; j < rows; ++j) {
          int in_row = 0;
          for (int c = 0; c < 4; ++c)
            if (mask(gr * 4 + j, g * 4 + c)) ++in_row, got += std::fabs(S(gr * 4 + j, g * 4 + c));
          REQUIRE(in_row == 2);
        }
        for (int c = 0; c < 4; ++c) {
          int in_col = 0;
          for (index_t j = 0; j < rows; ++j) in_col += mask(gr * 4 + j, g * 4 + c);
          REQUIRE(in_col <= 2);
          if (rows == 4) REQUIRE(in_col == 2);
        }
        // Exhaustive optimum over every choice of 2 per row with at most 2 per column.
        double best = -1;
        index_t combos = 1;
        for (index_t j = 0; j < rows; ++j) combos *= 6;
        for (index_t c = 0; c < combos; ++c) {
          int col[4] = {0, 0, 0, 0};
          double v = 0;
          index_t rest = c;
          for (index_t j = 0; j < rows; ++j, rest /= 6) {
            static const int pa[6] = {0, 0, 0, 1, 1, 2}, pb[6] = {1, 2, 3, 2, 3, 3};
            const int p = static_cast<int>(rest % 6);
            ++col[pa[p]], ++col[pb[p]];
            v += std::fabs(S(gr * 4 + j, g * 4 + pa[p])) + std::fabs(S(gr * 4 + j, g * 4 + pb[p]));
          }
          if (col[0] <= 2 && col[1] <= 2 && col[2] <= 2 && col[3] <= 2) best = std::max(best, v);
        }
        REQUIRE(got == doctest::Approx(best).epsilon(1e-12));
      }
  }
}

TEST_CASE("the transposed entity and values decode to the transpose of W") {
  INFO("seed " << stco_test::seed());
  for (auto [R, K] : {std::pair<index_t, index_t>{8, 8}, {37, 20}, {96, 64}, {3, 12}}) {
    CAPTURE(R);
    CAPTURE(K);
    const auto e = sparse_tc::prune_transposable(stco_test::random_matrix<double>(R, K).view());
    stco::host_buffer<float> v(e->compressed_shape().size());
    const auto X = stco_test::random_matrix<float>(1, v.size());
    for (index_t i = 0; i < v.size(); ++i) v[i] = X.data()[i];
    const stco::sparse_matrix<float, stco::nm<2, 4>> W(e, std::move(v));
    const auto& te = sparse_tc::transposed(*e);
    CHECK(&te == &sparse_tc::transposed(*e));
    CHECK(te->logical_shape() == stco::matrix_shape{K, R});
    auto tv = sparse_tc::transpose_values(*e, W.values());
    stco::host_buffer<float> buf(static_cast<index_t>(tv.size()));
    std::copy(tv.begin(), tv.end(), buf.data());
    const stco::sparse_matrix<float, stco::nm<2, 4>> WT(te, std::move(buf));
    const auto d = stco::decode(W), dt = stco::decode(WT);
    for (index_t r = 0; r < R; ++r)
      for (index_t k = 0; k < K; ++k) REQUIRE(dt(k, r) == d(r, k));
  }
}

TEST_CASE("a mask that is not transposable is refused, and so is a ragged K") {
  // Rows 0..3 all keep columns 0 and 1: column 0 holds four in its 4-row group.
  std::vector<double> s(4 * 8, 0.0);
  for (int r = 0; r < 4; ++r) s[r * 8 + 0] = s[r * 8 + 1] = 1.0;
  const auto e = stco::nm<2, 4>::select(
      stco::matrix_view<const double>(s.data(), stco::dextents<2>(4, 8)), 0.5);
  CHECK_FALSE(sparse_tc::is_transposable(*e));
  CHECK_THROWS_AS(sparse_tc::build_transposed(*e), stco::shape_error);
  std::vector<double> ragged(4 * 6, 1.0);
  CHECK_THROWS_AS(sparse_tc::prune_transposable(
                      stco::matrix_view<const double>(ragged.data(), stco::dextents<2>(4, 6))),
                  stco::shape_error);
}

TEST_CASE("prune_transposable_weight: a transposable nm<2,4> weight with w's kept values") {
  INFO("seed " << stco_test::seed());
  const auto Wd = stco_test::random_matrix<float>(36, 40);
  const auto W = sparse_tc::prune_transposable_weight(Wd);
  REQUIRE(sparse_tc::is_transposable(W.entity()));
  const auto d = stco::decode(W);
  const auto mask = stco::kept_mask(W.entity());
  for (index_t r = 0; r < 36; ++r)
    for (index_t k = 0; k < 40; ++k) REQUIRE(d(r, k) == (mask(r, k) ? Wd(r, k) : 0.0f));
  CHECK_THROWS_AS(sparse_tc::prune_transposable_weight(stco_test::random_matrix<float>(4, 6)),
                  stco::shape_error);
}

TEST_CASE_TEMPLATE("N:M masks with at most two kept per quad embed in a 2:4 entity", L,
                   stco::nm<1, 2>, stco::nm<1, 4>, stco::nm<1, 8>, stco::nm<2, 8>,
                   stco::nm<2, 16>) {
  CAPTURE(L::name());
  for (index_t K : {index_t{1}, index_t{7}, index_t{16}, index_t{37}, index_t{64}}) {
    CAPTURE(K);
    const index_t R = 9;
    const auto W = stco::prune<L>(stco_test::random_matrix<float>(R, K));
    const auto e24 = sparse_tc::embed_entity(W.entity());  // the constructor validates it as 2:4
    REQUIRE(e24->logical_shape() == W.entity().logical_shape());
    const auto nm_kept = stco::kept_mask(W.entity());
    const auto kept24 = stco::kept_mask(*e24);
    // Every position the N:M mask keeps is kept by the 2:4 one: the same product, with zeros.
    for (index_t i = 0; i < nm_kept.size(); ++i)
      if (nm_kept[i]) CHECK(kept24[i]);
    // Each quad keeps two positions where it has two below K (all it has otherwise).
    index_t expected = 0;
    for (index_t q = 0; q < (K + 3) / 4; ++q) expected += std::min<index_t>(2, K - 4 * q);
    CHECK(e24->kept() == R * expected);
  }
}

TEST_CASE_TEMPLATE("every other N:M mask splits into two 2:4 terms side by side", L, stco::nm<4, 8>,
                   stco::nm<3, 4>, stco::nm<2, 3>, stco::nm<1, 3>, stco::nm<5, 16>) {
  CAPTURE(L::name());
  for (index_t K : {index_t{1}, index_t{7}, index_t{16}, index_t{37}, index_t{64}}) {
    CAPTURE(K);
    const index_t R = 9, Kp = 4 * ((K + 3) / 4);
    const auto W = stco::prune<L>(stco_test::random_matrix<float>(R, K));
    const auto e2 = sparse_tc::split_entity(W.entity());  // validated as 2:4
    REQUIRE(e2->logical_shape() == stco::matrix_shape{R, 2 * Kp});
    const auto nm_kept = stco::kept_mask(W.entity());
    const auto kept24 = stco::kept_mask(*e2);
    // Every kept position is held by exactly one term (Wa in [0, Kp), Wb in [Kp, 2·Kp)).
    for (index_t r = 0; r < R; ++r)
      for (index_t c = 0; c < K; ++c)
        if (nm_kept[r * K + c]) {
          CAPTURE(r);
          CAPTURE(c);
          CHECK(kept24[r * 2 * Kp + c] + kept24[r * 2 * Kp + Kp + c] == 1);
        }
  }
}
