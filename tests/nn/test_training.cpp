// Training: a few steps of the Fashion-MNIST CNN's architecture (smaller) on a synthetic batch
// lower the loss, dense and sparse, with every pruning schedule (one-shot, gradual, mask updates
// by magnitude, regrowth and SR-STE). Along the way: the weight, its gradient and the optimizer
// state share one index entity (address carrying), the transposed traversal is built once per
// entity, the dense weight gradient is computed only at mask-update steps, and the mask keeps the
// schedule's sparsity.
#include <doctest/doctest.h>

#include <memory>
#include <numeric>

#include "support.hpp"

using namespace nn_test;
namespace nn = stco::nn;
using stco::index_t;

namespace {

/// Images 12×12 whose class (0..3) is the quadrant holding a bright blob, plus noise.
void synthetic_batch(index_t n, stco::tensor<float, 4>& x, std::vector<int>& y) {
  std::uniform_real_distribution<float> noise(-0.3f, 0.3f);
  x = stco::tensor<float, 4>(stco::dextents<4>(n, 12, 12, 1));
  y.resize(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) {
    const int c = static_cast<int>(i % 4);
    y[i] = c;
    for (index_t h = 0; h < 12; ++h)
      for (index_t w = 0; w < 12; ++w) {
        const bool blob = (h / 6 == c / 2) && (w / 6 == c % 2) && (h % 6 > 0) && (w % 6 > 0);
        x(i, h, w, 0) = (blob ? 1.0f : 0.0f) + noise(stco_test::rng());
      }
  }
}

template <class L>
nn::Sequential<float> small_cnn() {
  nn::Sequential<float> m;
  const auto k3 = stco::conv{}.kernel(3).pad(1);
  m.add<nn::Conv2d<float>>(1, 8, k3, false, 1);
  m.add<nn::BatchNorm2d<float>>(8);
  m.add<nn::ReLU<float>>();
  m.add<nn::MaxPool2d<float>>(2);
  m.add<nn::Conv2d<float, L>>(8, 16, k3, false, 2);
  m.add<nn::BatchNorm2d<float>>(16);
  m.add<nn::ReLU<float>>();
  m.add<nn::MaxPool2d<float>>(2);
  m.add<nn::Flatten<float>>();
  m.add<nn::Linear<float, L>>(3 * 3 * 16, 32, true, 3);
  m.add<nn::ReLU<float>>();
  m.add<nn::Linear<float>>(32, 4, true, 4);
  return m;
}

/// Trains `steps` steps under `sched`; returns the first step's loss and the mean of the last 5.
/// Checks address carrying and the dense-gradient requests at every step.
template <class L>
std::pair<double, double> train(const nn::pruning_schedule& sched, index_t steps,
                                int* mask_changes = nullptr) {
  auto m = small_cnn<L>();
  nn::optimizer opt = stco::optim::sgd(0.05f, 0.9f);
  stco::tensor<float, 4> x;
  std::vector<int> y;
  std::vector<double> losses;
  auto& conv = dynamic_cast<nn::Conv2d<float, L>&>(m[4]);
  auto& fc = dynamic_cast<nn::Linear<float, L>&>(m[9]);
  std::shared_ptr<const typename L::entity> last_entity;  // held: a new entity gets a new address
  std::size_t builds_seen = 0;
  for (index_t t = 0; t < steps; ++t) {
    synthetic_batch(32, x, y);
    const auto l = nn::softmax_cross_entropy(m.forward(x), y.data());
    losses.push_back(l.loss);
    sched.before_backward(m, t);
    m.backward(l.dlogits);
    // The dense weight gradient exists exactly when a mask update that needs it runs now.
    const bool want =
        sched.updates_mask_at(t) && sched.mask_update_rule().needs_dense_grad() && conv.is_pruned();
    CHECK((conv.dense_weight_grad() != nullptr) == want);
    m.step(opt);
    if constexpr (!std::is_same_v<L, stco::dense>) {
      if (conv.is_pruned()) {
        // Weight and momentum share the entity; the transposed traversal is not rebuilt per step.
        const auto& sgd = std::get<stco::optim::sgd>(opt);
        for (const auto* W : {conv.sparse(), fc.sparse()}) {
          REQUIRE(W != nullptr);
          REQUIRE(sgd.momentum_of(*W) != nullptr);
          CHECK(sgd.momentum_of(*W)->entity_ptr() == W->entity_ptr());
        }
        const auto& e = conv.sparse()->entity_ptr();
        if (e == last_entity) CHECK(e->derived_builds() == builds_seen);
        last_entity = e;
        builds_seen = e->derived_builds();
      }
    }
    const auto before = conv.sparse() ? conv.sparse()->entity_ptr() : nullptr;
    sched.after_step(m, t, opt);
    if (mask_changes && before && conv.sparse() && conv.sparse()->entity_ptr() != before)
      ++*mask_changes;
    if (conv.is_pruned() && t >= sched.pruning_ends()) {
      const double want_s =
          std::clamp(sched.final_sparsity(), conv.min_sparsity(), conv.max_sparsity());
      CHECK(std::fabs(conv.sparsity() - want_s) < 0.02);
    }
  }
  auto mean = [](auto b, auto e) {
    return std::accumulate(b, e, 0.0) / static_cast<double>(e - b);
  };
  return {losses.front(), mean(losses.end() - 5, losses.end())};
}

}  // namespace

TEST_CASE_TEMPLATE("a few training steps of the CNN lower the loss", L, stco::dense, stco::nm<2, 4>,
                   stco::tile_wise<8>) {
  const auto sched = std::is_same_v<L, stco::dense> ? nn::pruning_schedule()
                                                    : nn::pruning_schedule::one_shot(4, 0.75);
  const auto [first, last] = train<L>(sched, 40);
  INFO("loss " << first << " -> " << last);
  CHECK(first > 1.2);         // about log 4 = 1.39 at the start
  CHECK(last < 0.1 * first);  // the task is easy: the loss must at least halve
}

TEST_CASE("gradual pruning raises tile_wise sparsity on the cubic ramp") {
  const auto s = nn::pruning_schedule::gradual(2, 20, 3, 0.25, 0.75);
  CHECK(s.target(1) == 0.0);
  CHECK(s.target(2) == doctest::Approx(0.25));
  CHECK(s.target(11) == doctest::Approx(0.75 - 0.5 * 0.125));
  CHECK(s.target(20) == doctest::Approx(0.75));
  CHECK(s.prunes_at(5));
  CHECK_FALSE(s.prunes_at(6));
  CHECK(s.prunes_at(20));
  const auto [first, last] = train<stco::tile_wise<8>>(s, 40);
  CHECK(last < 0.1 * first);
  // nm's sparsity is fixed: it is pruned once, when the ramp reaches 50%.
  const auto [f2, l2] = train<stco::nm<2, 4>>(s, 30);
  CHECK(l2 < 0.1 * f2);
}

TEST_CASE("periodic mask updates (magnitude, regrowth, SR-STE) carry values and state") {
  using K = nn::mask_rule::kind;
  for (const auto rule : {nn::mask_rule{K::magnitude}, nn::mask_rule{K::regrow, 5.0},
                          nn::mask_rule{K::sr_ste, 2e-4}}) {
    const std::string rule_name = rule.name();
    CAPTURE(rule_name);
    auto s = nn::pruning_schedule::one_shot(3, 0.75).with_mask_updates(4, 36, rule);
    CHECK(s.updates_mask_at(7));
    CHECK_FALSE(s.updates_mask_at(8));
    int changes = 0;
    const auto [first, last] = train<stco::tile_wise<8>>(s, 44, &changes);
    CHECK(changes == 8);  // a new entity at each update: steps 7, 11, ..., 35
    CHECK(last < 0.1 * first);
    const auto [f2, l2] = train<stco::nm<2, 4>>(s, 30);
    CHECK(l2 < 0.1 * f2);
  }
}

TEST_CASE("bad schedules and mask updates are refused") {
  CHECK_THROWS_AS(nn::pruning_schedule::one_shot(0, 1.0), stco::argument_error);
  CHECK_THROWS_AS(nn::pruning_schedule::gradual(5, 2, 1, 0.1, 0.5), stco::argument_error);
  CHECK_THROWS_AS(nn::pruning_schedule().with_mask_updates(1, 5, {}), stco::argument_error);
  nn::Linear<float, stco::nm<2, 4>> fc(16, 8);
  nn::optimizer opt = stco::optim::sgd(0.1f);
  CHECK_THROWS_AS(fc.update_mask({}, 0.5, opt), stco::argument_error);  // not pruned yet
  fc.prune(0.5, opt);
  const auto before = fc.weight_dense();
  CHECK_THROWS_AS(fc.update_mask({nn::mask_rule::kind::regrow, 1.0}, 0.5, opt),
                  stco::argument_error);                       // no dense gradient was requested
  CHECK_THROWS_AS(fc.prune(0.75, opt), stco::argument_error);  // nm's sparsity is fixed at 0.5
  const auto after = fc.weight_dense();
  CHECK(std::equal(before.begin(), before.end(), after.begin()));
  nn::Linear<float> dense_fc(4, 4);
  CHECK_THROWS_AS(dense_fc.prune(0.5, opt), stco::argument_error);
}

namespace {

/// The dense weight of layer i of m (a Linear or Conv2d with layout L).
template <class Layer>
stco::tensor<float, 2> weight_of(const nn::Sequential<float>& m, std::size_t i) {
  const auto* l = dynamic_cast<const Layer*>(&m[i]);
  REQUIRE(l != nullptr);
  return l->weight_dense();
}

bool same(const stco::tensor<float, 2>& a, const stco::tensor<float, 2>& b) {
  return a.shape() == b.shape() && std::equal(a.begin(), a.end(), b.begin());
}

/// Three same-shape Linear layers (and a Conv2d) without seeds, under model seed s.
nn::Sequential<float> same_shape_net(std::uint64_t s) {
  nn::Sequential<float> m(s);
  m.add<nn::Linear<float>>(16, 16);
  m.add<nn::ReLU<float>>();
  m.add<nn::Linear<float, stco::nm<2, 4>>>(16, 16);
  m.add<nn::Linear<float>>(16, 16, true, 77);  // an explicit seed is kept
  m.add<nn::Linear<float>>(16, 16);
  return m;
}

}  // namespace

TEST_CASE("each layer of a net starts from its own seed, derived from the model seed") {
  using dense_fc = nn::Linear<float>;
  auto a = same_shape_net(5);
  const auto w0 = weight_of<dense_fc>(a, 0), w4 = weight_of<dense_fc>(a, 4);
  const auto w2 = weight_of<nn::Linear<float, stco::nm<2, 4>>>(a, 2);
  CHECK_FALSE(same(w0, w4));  // same shape, distinct streams
  CHECK_FALSE(same(w0, w2));
  std::size_t equal_values = 0;  // not a shifted copy either: nearly every value differs
  for (index_t i = 0; i < w0.size(); ++i) equal_values += w0[i] == w4[i];
  CHECK(equal_values < 4);
  // The derived seed is the documented one: layer_seed(model seed, layer index).
  nn::Linear<float> alone(16, 16, true, nn::layer_seed(5, 4));
  CHECK(same(alone.weight_dense(), w4));
  // The explicit seed is kept, whatever the model seed.
  nn::Linear<float> seeded(16, 16, true, 77);
  CHECK(same(weight_of<dense_fc>(a, 3), seeded.weight_dense()));
  CHECK(same(weight_of<dense_fc>(same_shape_net(6), 3), seeded.weight_dense()));
  // The same model seed rebuilds the same net, bit for bit (biases included); another differs.
  auto b = same_shape_net(5);
  CHECK(a.to_archive().serialize() == b.to_archive().serialize());
  auto c = same_shape_net(6);
  CHECK_FALSE(same(weight_of<dense_fc>(c, 0), w0));
  CHECK(nn::Sequential<float>().seed() == nn::default_model_seed);
  CHECK(c.seed() == 6);
  // A layer whose weights were set before it was added keeps them.
  auto fc = std::make_unique<nn::Linear<float>>(16, 16);
  stco::tensor<float, 2> w(stco::dextents<2>(16, 16));
  for (index_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i) * 0.01f;
  fc->set_weight(w);
  nn::Sequential<float> d(9);
  d.add(std::move(fc));
  CHECK(same(weight_of<dense_fc>(d, 0), w));
}
