// End to end: a two-layer sparse MLP (nm<2,4> then tile_wise<8>, bias and ReLU) learns a fixed
// random dense teacher network from fresh random inputs, with the library's forward, gradients and
// Adam. Fixed seed: the loss must fall well below what the best constant prediction achieves.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "stco/stco.hpp"

namespace {

using stco::index_t;

constexpr index_t D = 32;   // inputs
constexpr index_t Ht = 16;  // teacher hidden units
constexpr index_t H = 128;  // student hidden units (layer 1 nm<2,4>)
constexpr index_t O = 16;   // outputs (layer 2 tile_wise<8>: two tiles)
constexpr index_t batch = 64;
constexpr index_t eval_batch = 512;
constexpr int steps = 3000;

using gen_t = std::mt19937_64;

/// rows × cols, uniform in [-a, a].
stco::tensor<float, 2> uniform(gen_t& gen, index_t rows, index_t cols, double a) {
  std::uniform_real_distribution<double> u(-a, a);
  stco::tensor<float, 2> t(stco::dextents<2>(rows, cols));
  for (auto& x : t) x = static_cast<float>(u(gen));
  return t;
}
stco::tensor<float, 1> uniform_vector(gen_t& gen, index_t n, double a) {
  const auto m = uniform(gen, 1, n, a);
  stco::tensor<float, 1> t{stco::dextents<1>(n)};
  std::copy(m.begin(), m.end(), t.data());
  return t;
}

/// The teacher: y = T2·relu(T1·x + c1) + c2, dense, in double.
struct teacher {
  stco::tensor<float, 2> T1, T2;
  stco::tensor<float, 1> c1, c2;
  explicit teacher(gen_t& gen)
      : T1(uniform(gen, Ht, D, std::sqrt(6.0 / D))),
        T2(uniform(gen, O, Ht, std::sqrt(6.0 / Ht))),
        c1(uniform_vector(gen, Ht, 0.5)),
        c2(uniform_vector(gen, O, 0.5)) {}
  stco::tensor<float, 2> operator()(const stco::tensor<float, 2>& X) const {
    const index_t n = X.extent(1);
    stco::tensor<float, 2> Y(stco::dextents<2>(O, n));
    for (index_t j = 0; j < n; ++j) {
      double h[Ht];
      for (index_t i = 0; i < Ht; ++i) {
        double s = c1[i];
        for (index_t k = 0; k < D; ++k) s += double{T1(i, k)} * X(k, j);
        h[i] = s > 0 ? s : 0;
      }
      for (index_t o = 0; o < O; ++o) {
        double s = c2[o];
        for (index_t i = 0; i < Ht; ++i) s += double{T2(o, i)} * h[i];
        Y(o, j) = static_cast<float>(s);
      }
    }
    return Y;
  }
};

/// Mean squared error over all outputs.
double mse(const stco::tensor<float, 2>& Y, const stco::tensor<float, 2>& T) {
  double s = 0;
  for (index_t i = 0; i < Y.size(); ++i) s += (double{Y[i]} - T[i]) * (double{Y[i]} - T[i]);
  return s / static_cast<double>(Y.size());
}

struct student {
  stco::sparse_matrix<float, stco::nm<2, 4>> W1;
  stco::sparse_matrix<float, stco::tile_wise<8>> W2;
  stco::tensor<float, 1> b1, b2;
  explicit student(gen_t& gen)
      : W1(stco::prune<stco::nm<2, 4>>(uniform(gen, H, D, std::sqrt(6.0 / D)))),
        W2(stco::prune<stco::tile_wise<8>>(uniform(gen, O, H, std::sqrt(6.0 / H)), 0.5)),
        b1(uniform_vector(gen, H, 0.1)),
        b2(uniform_vector(gen, O, 0.1)) {}

  stco::tensor<float, 2> predict(const stco::tensor<float, 2>& X) const {
    stco::tensor<float, 2> H1(stco::dextents<2>(H, X.extent(1)));
    H1 = stco::relu(stco::matmul(W1, X) + stco::bias(b1));
    return stco::evaluate(stco::matmul(W2, H1) + stco::bias(b2));
  }
};

}  // namespace

TEST_CASE("a two-layer sparse MLP learns a dense teacher") {
  gen_t gen(20260311);
  const teacher t(gen);
  student s(gen);
  const auto entity1 = s.W1.entity_ptr();
  const auto entity2 = s.W2.entity_ptr();

  const auto X_eval = uniform(gen, D, eval_batch, 1.0);
  const auto T_eval = t(X_eval);
  // The loss of the best constant prediction (each output's mean): a student that learned nothing
  // about x cannot beat it.
  double constant_loss = 0;
  for (index_t o = 0; o < O; ++o) {
    double m = 0, v = 0;
    for (index_t j = 0; j < eval_batch; ++j) m += T_eval(o, j);
    m /= eval_batch;
    for (index_t j = 0; j < eval_batch; ++j) v += (T_eval(o, j) - m) * (T_eval(o, j) - m);
    constant_loss += v / eval_batch;
  }
  constant_loss /= O;
  const double initial_loss = mse(s.predict(X_eval), T_eval);
  MESSAGE("initial loss " << initial_loss << ", best constant " << constant_loss);

  stco::optim::adam opt{3e-3f};
  auto dW1 = s.W1.zeros_like();
  auto dW2 = s.W2.zeros_like();
  stco::tensor<float, 2> H1(stco::dextents<2>(H, batch)), Y(stco::dextents<2>(O, batch));
  stco::tensor<float, 2> dY(stco::dextents<2>(O, batch));
  for (int step = 0; step < steps; ++step) {
    if (step == steps * 2 / 3) opt.lr = 1e-3f;  // a cool-down
    const auto X = uniform(gen, D, batch, 1.0);
    const auto T = t(X);
    const auto layer1 = stco::relu(stco::matmul(s.W1, X) + stco::bias(s.b1));
    const auto layer2 = stco::matmul(s.W2, H1) + stco::bias(s.b2);
    stco::activation_stash<float> stash;
    stco::eval(H1, layer1, stash);
    stco::eval(Y, layer2);
    for (index_t i = 0; i < Y.size(); ++i)  // d mse / dY
      dY[i] = static_cast<float>(2.0 * (double{Y[i]} - T[i]) / static_cast<double>(Y.size()));

    const auto g2 = stco::grad(layer2, dY);
    g2.wrt_into(s.W2, dW2);
    const auto dH1 = g2.wrt(H1);
    const auto db2 = g2.wrt(s.b2);
    const auto g1 = stco::grad(layer1, dH1, stash);
    g1.wrt_into(s.W1, dW1);
    const auto db1 = g1.wrt(s.b1);

    opt.step(s.W1, dW1);
    opt.step(s.b1, db1);
    opt.step(s.W2, dW2);
    opt.step(s.b2, db2);
  }
  const double final_loss = mse(s.predict(X_eval), T_eval);
  MESSAGE("final loss " << final_loss << " after " << steps << " steps");
  // Measured with this seed: initial 1.48, best constant 0.485, final 0.038 (0.08 of the constant).
  // Broken gradients stay near the constant: dW1 or dH1 negated 0.44-0.47, dW2 negated 0.47, dY
  // negated diverges; even a correct layer 2 over frozen random layer-1 features only reaches
  // 0.18 (0.38 of the constant). 0.15 leaves the correct code a 2x margin and lets none of those
  // in.
  CHECK(final_loss < 0.15 * constant_loss);
  CHECK(final_loss < 0.05 * initial_loss);
  // Training moved values only: the patterns are the ones pruned at the start.
  CHECK(s.W1.entity_ptr() == entity1);
  CHECK(s.W2.entity_ptr() == entity2);
}
