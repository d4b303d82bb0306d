// Pruning and index construction on the device equal stco::prune on the host, index for index
// (ties included), for every layout; by magnitude and by given scores; bad input refused.
#include "gpu_support.hpp"

#include "stco/layout/cuda/prune.cuh"

namespace {
using namespace stco_gpu_test;

/// Random values in multiples of 1/8 (many ties in magnitude), never zero.
stco::tensor<float, 2> tied_matrix(index_t r, index_t c) {
  auto m = random_matrix<float>(r, c);
  for (auto& v : m) {
    v = std::round(v * 8.0f) / 8.0f;
    if (v == 0.0f) v = 0.125f;
  }
  return m;
}

void same_list(const stco::index_list& a, const stco::index_list& b) {
  CHECK(a.width() == b.width());
  REQUIRE(a == b);
}

template <class E>
void same_entity(const E& a, const E& b) {
  REQUIRE(a.logical_shape() == b.logical_shape());
  CHECK(a.compressed_shape() == b.compressed_shape());
  using L = typename E::layout_type;
  if constexpr (std::is_same_v<L, stco::tile_wise<L::tile>>) {
    same_list(a.tile_ptr(), b.tile_ptr());
    same_list(a.columns(), b.columns());
  }
}
template <int N, int M>
void same_entity(const stco::nm_entity<N, M>& a, const stco::nm_entity<N, M>& b) {
  REQUIRE(a.logical_shape() == b.logical_shape());
  REQUIRE(a.offsets().words() == b.offsets().words());
}
template <int T>
void same_entity(const stco::tile_wise_entity<T>& a, const stco::tile_wise_entity<T>& b) {
  same_list(a.tile_ptr(), b.tile_ptr());
  same_list(a.columns(), b.columns());
}
template <int T, int N, int M>
void same_entity(const stco::tile_vector_entity<T, N, M>& a,
                 const stco::tile_vector_entity<T, N, M>& b) {
  same_list(a.tile_ptr(), b.tile_ptr());
  same_list(a.columns(), b.columns());
  REQUIRE(a.offsets().words() == b.offsets().words());
}
template <int BR, int BC>
void same_entity(const stco::block_entity<BR, BC>& a, const stco::block_entity<BR, BC>& b) {
  same_list(a.row_ptr(), b.row_ptr());
  same_list(a.col_index(), b.col_index());
}
inline void same_entity(const stco::channel_entity& a, const stco::channel_entity& b) {
  same_list(a.rows(), b.rows());
}
inline void same_entity(const stco::csr_entity& a, const stco::csr_entity& b) {
  same_list(a.row_ptr(), b.row_ptr());
  same_list(a.col_index(), b.col_index());
}
inline void same_entity(const stco::dense_entity& a, const stco::dense_entity& b) {
  CHECK(a.logical_shape() == b.logical_shape());
}

template <class L>
void check_prune(const stco::tensor<float, 2>& W, double sp) {
  const auto s = test_stream();
  const auto host = stco::prune<L>(W, sp);
  const auto Wd = upload(W);
  const auto dev = sc::prune<L>(Wd, sp, s);
  const auto back = dev.to_host(s);
  same_entity(back.entity(), host.entity());
  for (index_t i = 0; i < host.value_count(); ++i) REQUIRE(back.values()[i] == host.values()[i]);
  // By caller-given scores (signed: the scores are taken as they are).
  const auto S = random_matrix<float>(W.extent(0), W.extent(1));
  const auto hs = stco::prune<L>(W, S, sp);
  const auto ds = sc::prune<L>(Wd, upload(S), sp, s).to_host(s);
  same_entity(ds.entity(), hs.entity());
  for (index_t i = 0; i < hs.value_count(); ++i) REQUIRE(ds.values()[i] == hs.values()[i]);
}
}  // namespace

TEST_CASE_TEMPLATE("device pruning equals host pruning", L, STCO_TEST_NM_LAYOUTS,
                   STCO_TEST_OTHER_LAYOUTS, stco::tile_wise<32>, stco::block<8, 8>) {
  CAPTURE(L::name());
  for (const auto sh : shapes()) {
    CAPTURE(sh);
    if (quick() && sh.rows * sh.cols < 400) continue;
    for (double sp : sparsities<L>()) {
      if (quick() && sp != L::default_sparsity) continue;
      CAPTURE(sp);
      check_prune<L>(random_matrix<float>(sh.rows, sh.cols), sp);
      check_prune<L>(tied_matrix(sh.rows, sh.cols), sp);
    }
  }
  if (!quick()) check_prune<L>(tied_matrix(300, 520), L::default_sparsity);
}

TEST_CASE("device pruning refuses NaN and out-of-range sparsity, naming them") {
  const auto s = test_stream();
  auto W = random_matrix<float>(6, 9);
  W(4, 7) = std::numeric_limits<float>::quiet_NaN();
  const auto Wd = upload(W);
  CHECK_THROWS_WITH_AS(sc::prune<stco::csr>(Wd, 0.5, s),
                       doctest::Contains("stco::cuda::prune<csr>: weight at (4, 7) is NaN"),
                       stco::argument_error);
  using nm24 = stco::nm<2, 4>;
  CHECK_THROWS_WITH_AS(sc::prune<nm24>(Wd, 0.3, s), doctest::Contains("fixed at 0.5"),
                       stco::argument_error);
  const auto S = upload(random_matrix<float>(6, 8));
  CHECK_THROWS_WITH_AS(sc::prune<stco::csr>(Wd, S, 0.5, s),
                       doctest::Contains("scores [6, 8] do not match the weight [6, 9]"),
                       stco::shape_error);
}
