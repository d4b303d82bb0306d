// Address carrying: tensors of one pattern share one entity object, and derived maps are built
// once per entity, whoever asks.
#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "../support/random.hpp"
#include "layout_list.hpp"

namespace {
// A derived map a backend might cache: the transposed (column-major) traversal of the kept slots.
struct transposed_slots {
  std::vector<stco::index_t> slot_by_column;
};
}  // namespace

TEST_CASE_TEMPLATE("tensors built like another share its entity", L, STCO_TEST_NM_LAYOUTS,
                   STCO_TEST_OTHER_LAYOUTS) {
  const auto X = stco_test::random_matrix<stco::half>(12, 40);
  const auto W = stco::prune<L>(X, L::default_sparsity);
  const auto dW = W.zeros_like();
  const auto momentum = W.template zeros_like<float>();
  const auto adam_v = W.template zeros_like<double>();
  CHECK(dW.entity_ptr() == W.entity_ptr());
  CHECK(momentum.entity_ptr() == W.entity_ptr());
  CHECK(adam_v.entity_ptr() == W.entity_ptr());
  CHECK(momentum.value_count() == W.value_count());
  for (stco::index_t p = 0; p < momentum.value_count(); ++p) REQUIRE(momentum.values()[p] == 0.0f);
  const auto re = stco::encode(stco::decode(W), W.entity_ptr());
  CHECK(re.entity_ptr() == W.entity_ptr());
  CHECK(W.entity_ptr().use_count() == 5);  // W, dW, momentum, adam_v, re: no hidden copies
}

TEST_CASE("derived maps are built once per entity and shared by all its tensors") {
  const auto X = stco_test::random_matrix<float>(64, 96);
  const auto W = stco::prune<stco::tile_wise<8>>(X, 0.5);
  const auto G = W.zeros_like();
  int builds = 0;
  auto build = [&](const stco::index_entity& e) {
    ++builds;
    const auto& te = static_cast<const stco::tile_wise<8>::entity&>(e);
    transposed_slots t;
    for (stco::index_t c = 0; c < te.logical_shape().cols; ++c)
      stco::tile_wise<8>::for_each_slot(te, [&](stco::index_t p, stco::index_t, stco::index_t col) {
        if (col == c) t.slot_by_column.push_back(p);
      });
    return t;
  };
  std::vector<std::thread> threads;
  std::vector<const transposed_slots*> got(8);
  for (int i = 0; i < 8; ++i)
    threads.emplace_back(
        [&, i] { got[i] = &(i % 2 ? W : G).entity().derived<transposed_slots>(build); });
  for (auto& t : threads) t.join();
  for (int step = 0; step < 100; ++step)
    CHECK(&W.entity().derived<transposed_slots>(build) == got[0]);
  for (auto* p : got) CHECK(p == got[0]);
  CHECK(builds == 1);
  CHECK(W.entity().derived_builds() == 1);
  CHECK(static_cast<stco::index_t>(got[0]->slot_by_column.size()) == W.value_count());
}
