// Optimizers and mask updates on the device against stco::optim on the host: the same steps on
// the same values give the same weights and state (to float rounding), state shares the weight's
// device entity, and a mask update carries values and state as the host does.
#include "gpu_support.hpp"

#include "stco/optim.hpp"

#include "stco/optim/cuda/adam.cuh"
#include "stco/optim/cuda/mask_update.cuh"
#include "stco/optim/cuda/sgd.cuh"

namespace {
using namespace stco_gpu_test;

/// |a − b| ≤ 4 ulp-ish of the magnitudes, element-wise.
template <class A, class B>
void close_values(const A* a, const B* b, index_t n, double rel) {
  for (index_t i = 0; i < n; ++i) {
    const double x = stco::to_double(a[i]), y = stco::to_double(b[i]);
    INFO("at ", i, ": device ", x, ", host ", y);
    REQUIRE(std::fabs(x - y) <= rel * std::max(1.0, std::fabs(y)));
  }
}

template <class T>
double rounding() {
  return std::is_same_v<T, float> ? 4e-7 : std::is_same_v<T, stco::half> ? 1.0 / 1024 : 1.0 / 128;
}

template <class T, class L, class HostOpt, class DevOpt>
void run_steps(HostOpt& ho, DevOpt& dopt, double sparsity) {
  const auto s = test_stream();
  auto W = stco::prune<L>(random_matrix<T>(40, 52), sparsity);
  auto Wd = sc::device_sparse_matrix<T, L>::from_host(W, s);
  stco::tensor<T, 1> b = random_vector<T>(40);
  auto bd = upload(b);
  for (int step = 0; step < 5; ++step) {
    auto G = W.zeros_like();
    const auto g = random_matrix<T>(1, G.value_count());
    std::copy(g.begin(), g.end(), G.values());
    const auto db = random_vector<T>(40);
    auto Gd = Wd.zeros_like(s);
    Gd.copy_from_host(G, s);
    const auto dbd = upload(db);
    ho.step(W, G);
    ho.step(b, db);
    dopt.step(Wd, Gd, s);
    dopt.step(bd, dbd, s);
  }
  const auto Wback = Wd.to_host(s);
  close_values(Wback.values(), W.values(), W.value_count(), rounding<T>());
  const auto bback = bd.to_host(s);
  close_values(bback.data(), b.data(), b.size(), rounding<T>());
}
}  // namespace

TEST_CASE_TEMPLATE("device SGD matches host SGD (momentum, Nesterov, weight decay)", T, float,
                   stco::half, stco::bfloat16) {
  for (bool nesterov : {false, true}) {
    CAPTURE(nesterov);
    stco::optim::sgd ho(0.05f, 0.9f, 1e-2f, nesterov);
    sc::optim::sgd dopt(0.05f, 0.9f, 1e-2f, nesterov);
    run_steps<T, stco::nm<2, 4>>(ho, dopt, 0.5);
  }
  stco::optim::sgd plain_h(0.1f);
  sc::optim::sgd plain_d(0.1f);
  run_steps<T, stco::csr>(plain_h, plain_d, 0.7);
}

TEST_CASE_TEMPLATE("device Adam and AdamW match the host's", T, float, stco::bfloat16) {
  stco::optim::adam ah(1e-2f, 0.9f, 0.99f, 1e-8f, 1e-3f);
  sc::optim::adam ad(1e-2f, 0.9f, 0.99f, 1e-8f, 1e-3f);
  run_steps<T, stco::tile_wise<8>>(ah, ad, 0.5);
  stco::optim::adamw wh(1e-2f);
  sc::optim::adamw wd(1e-2f);
  run_steps<T, stco::block<4, 4>>(wh, wd, 0.5);
}

TEST_CASE("device optimizer state shares the weight's device entity; refusals") {
  const auto s = test_stream();
  auto Wd = sc::device_sparse_matrix<float, stco::csr>::from_host(
      stco::prune<stco::csr>(random_matrix<float>(10, 12), 0.5), s);
  auto Gd = Wd.zeros_like(s);
  sc::optim::adam opt(1e-3f);
  opt.step(Wd, Gd, s);
  CHECK(opt.first_moment_of(Wd)->entity_ptr() == Wd.entity_ptr());
  CHECK(opt.second_moment_of(Wd)->entity_ptr() == Wd.entity_ptr());
  CHECK(opt.step_count(Wd) == 1);
  auto other = sc::device_sparse_matrix<float, stco::csr>::from_host(
      stco::prune<stco::csr>(random_matrix<float>(10, 12), 0.5), s);
  CHECK_THROWS_WITH_AS(opt.step(Wd, other, s),
                       doctest::Contains("gradient does not share the weight's device entity"),
                       stco::shape_error);
  CHECK_THROWS_AS(sc::optim::sgd(-1.0f), stco::argument_error);
  CHECK_THROWS_AS(sc::optim::sgd(0.1f, 0.0f, 0.0f, true), stco::argument_error);
}

TEST_CASE_TEMPLATE("device mask update carries values and state as the host does", L,
                   stco::nm<2, 4>, stco::tile_wise<4>, stco::block<2, 2>, stco::csr, stco::channel,
                   stco::tile_vector<4, 2, 4>) {
  CAPTURE(L::name());
  const auto s = test_stream();
  const double sp = L::min_sparsity == L::max_sparsity ? L::min_sparsity : 0.75;
  auto W = stco::prune<L>(random_matrix<float>(24, 36), sp);
  auto Wd = sc::device_sparse_matrix<float, L>::from_host(W, s);
  stco::optim::sgd ho(0.1f, 0.9f);
  sc::optim::sgd dopt(0.1f, 0.9f);
  auto G = W.zeros_like();
  const auto g = random_matrix<float>(1, G.value_count());
  std::copy(g.begin(), g.end(), G.values());
  auto Gd = Wd.zeros_like(s);
  Gd.copy_from_host(G, s);
  ho.step(W, G);
  dopt.step(Wd, Gd, s);
  // New scores: the magnitude of a fresh dense matrix.
  const auto D = random_matrix<float>(24, 36);
  const auto Dd = upload(D);
  stco::optim::update_mask(W, stco::optim::magnitude_scores(D), sp, ho);
  sc::optim::update_mask(Wd, sc::optim::magnitude_scores(Dd, s), sp, dopt, s);
  const auto back = Wd.to_host(s);
  const auto mh = stco::kept_mask(W.entity()), md = stco::kept_mask(back.entity());
  for (index_t i = 0; i < mh.size(); ++i) REQUIRE(mh[i] == md[i]);
  const auto Wh = stco::decode(W), Wb = stco::decode(back);
  close_values(Wb.data(), Wh.data(), Wh.size(), 4e-7);
  const auto* mom = dopt.momentum_of(Wd);
  REQUIRE(mom != nullptr);
  CHECK(mom->entity_ptr() == Wd.entity_ptr());
  const auto mom_h = stco::decode(*ho.momentum_of(W));
  const auto mom_d = stco::decode(mom->to_host(s));
  close_values(mom_d.data(), mom_h.data(), mom_h.size(), 4e-7);
  // Again, newly kept positions taken from a dense fill matrix; scores given as doubles.
  const auto S2 = stco::optim::magnitude_scores(random_matrix<float>(24, 36));
  const auto F = random_matrix<float>(24, 36);
  stco::optim::update_mask(W, S2, sp, ho, F);
  sc::optim::update_mask(Wd, upload(S2), sp, dopt, upload(F), s);
  const auto W2 = stco::decode(W), W2d = stco::decode(Wd.to_host(s));
  close_values(W2d.data(), W2.data(), W2.size(), 4e-7);
  CHECK(dopt.momentum_of(Wd)->entity_ptr() == Wd.entity_ptr());
}
