// Finite-difference checks, in double, of dL/dW (at W's kept values), dL/dX and dL/db for matmul
// and conv2d, for one layout of every family and epilogue chains with gelu, scale, residual and
// relu. L = Σ dY ⊙ Y for a random dY; central differences at a random sample of entries.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "../support/reference_epilogue.hpp"
#include "conv_support.hpp"
#include "stco/stco.hpp"

namespace {

using namespace stco_test;
using stco::index_t;

constexpr double step = 1e-5;  // central-difference step
constexpr double tol = 1e-7;   // relative to max(1, |gradient|)
constexpr int samples = 12;    // entries checked per operand

enum class chain { none, gelu_scale_residual, relu_scale_residual, bias_negative_scale };
const chain all_chains[] = {chain::none, chain::gelu_scale_residual, chain::relu_scale_residual,
                            chain::bias_negative_scale};
const char* chain_name(chain c) {
  switch (c) {
    case chain::none:
      return "z";
    case chain::gelu_scale_residual:
      return "gelu(z * 1.5 + b) * 0.75 + R";
    case chain::relu_scale_residual:
      return "relu(z + b) * 0.5 + R";
    default:
      return "(z + b) * -0.5";
  }
}

struct tally {
  int checked = 0, skipped = 0;
};

template <std::size_t Rank>
stco::tensor<double, Rank> random_like(const std::array<index_t, Rank>& s) {
  if constexpr (Rank == 2)
    return random_matrix<double>(s[0], s[1]);
  else
    return random_tensor4<double>(s[0], s[1], s[2], s[3]);
}

template <class A, class B>
double dot(const A& a, const B& b) {
  double s = 0;
  for (index_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

/// `count` distinct indices of [0, n), at random (all of them when n ≤ count).
std::vector<index_t> sample(index_t n, int count) {
  std::vector<index_t> all(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) all[static_cast<std::size_t>(i)] = i;
  std::shuffle(all.begin(), all.end(), rng());
  if (n > count) all.resize(static_cast<std::size_t>(count));
  return all;
}

/// Compares the central difference of L in `theta` (an operand entry the expression reads) with
/// `analytic`. With a ReLU, a point whose ±step moves some activation input across 0 is skipped:
/// L has a kink between the two evaluations. (An activation input is linear in every operand
/// entry, so one that keeps its sign at both ends stays on one side of the kink in between; a
/// margin around 0 instead would skip most bias entries of a conv, which move every pixel's
/// input of their channel.)
template <class E, class DY>
void check_point(const E& expr, const DY& dY, double& theta, double analytic, bool has_relu,
                 tally& t) {
  const double saved = theta;
  stco::activation_stash<double> plus, minus;
  theta = saved + step;
  const auto Yp = stco::evaluate(expr, &plus);
  theta = saved - step;
  const auto Ym = stco::evaluate(expr, &minus);
  theta = saved;
  if (has_relu)
    for (index_t i = 0; i < plus.size(); ++i) {
      const double a = plus.data()[i], b = minus.data()[i];
      if ((a > 0) != (b > 0) || a == 0 || b == 0) {
        ++t.skipped;
        return;
      }
    }
  const double fd = (dot(Yp, dY) - dot(Ym, dY)) / (2 * step);
  CAPTURE(fd);
  CAPTURE(analytic);
  CHECK(std::fabs(fd - analytic) <= tol * std::max(1.0, std::fabs(analytic)));
  ++t.checked;
}

/// All three gradients of `expr` (weight W, input X, bias b when the chain has one) at sampled
/// entries.
template <class E, class L, class XT>
void check_gradients(const E& expr, stco::sparse_matrix<double, L>& W, XT& X,
                     stco::tensor<double, 1>& b, chain c) {
  const bool has_relu = c == chain::relu_scale_residual;
  const bool has_bias = c != chain::none;
  const auto dY = random_like(expr.out_shape());
  stco::activation_stash<double> stash;
  const auto Y = stco::evaluate(expr, &stash);
  auto g = stco::grad(expr, dY, stash);
  const auto dW = stco::decode(g.wrt(W));
  const auto dX = g.wrt(X);

  tally t;
  {  // W at its kept values: perturb the stored value of a slot inside the logical shape
    std::vector<std::array<index_t, 3>> kept;  // slot, row, column
    L::for_each_slot(W.entity(), [&](index_t p, index_t r, index_t k) {
      if (r < W.rows() && k < W.cols()) kept.push_back({p, r, k});
    });
    REQUIRE(!kept.empty());
    for (index_t i : sample(static_cast<index_t>(kept.size()), samples)) {
      const auto [p, r, k] = kept[static_cast<std::size_t>(i)];
      CAPTURE(r);
      CAPTURE(k);
      check_point(expr, dY, W.values()[p], dW(r, k), has_relu, t);
    }
  }
  for (index_t i : sample(X.size(), samples)) {
    CAPTURE(i);
    check_point(expr, dY, X.data()[i], dX[i], has_relu, t);
  }
  if (has_bias) {
    const auto db = g.wrt(b);
    for (index_t i : sample(b.size(), samples / 2)) {
      CAPTURE(i);
      check_point(expr, dY, b.data()[i], db[i], has_relu, t);
    }
  }
  // Skips are rare (a ±step that carries an activation input across 0): most points are checked.
  CHECK(t.checked >= 2 * samples);
  CHECK(t.skipped <= t.checked / 4);
}

/// Builds the expression of chain `c` around `core` and checks it.
template <class Core, class L, class XT, class RT>
void check_chain(const Core& core, stco::sparse_matrix<double, L>& W, XT& X,
                 stco::tensor<double, 1>& b, const RT& Rt, chain c) {
  const std::string name = chain_name(c);
  CAPTURE(name);
  switch (c) {
    case chain::none:
      check_gradients(core, W, X, b, c);
      break;
    case chain::gelu_scale_residual:
      check_gradients(stco::gelu(core * 1.5 + stco::bias(b)) * 0.75 + stco::residual(Rt), W, X, b,
                      c);
      break;
    case chain::relu_scale_residual:
      check_gradients(stco::relu(core + stco::bias(b)) * 0.5 + stco::residual(Rt), W, X, b, c);
      break;
    default:
      check_gradients((core + stco::bias(b)) * -0.5, W, X, b, c);
  }
}

}  // namespace

#define STCO_FD_LAYOUTS                                                              \
  stco::nm<2, 4>, stco::block<4, 4>, stco::tile_wise<4>, stco::tile_vector<4, 2, 4>, \
      stco::channel, stco::csr, stco::dense

TEST_CASE_TEMPLATE("matmul gradients match central differences", L, STCO_FD_LAYOUTS) {
  CAPTURE(L::name());
  const index_t R = 10, K = 22, N = 7;  // ragged: K % 4 ≠ 0, R % 4 ≠ 0
  auto W = stco::prune<L>(random_matrix<double>(R, K), L::default_sparsity);
  auto X = random_matrix<double>(K, N);
  auto b = random_vector<double>(R);
  const auto Rt = random_matrix<double>(R, N);
  for (chain c : all_chains) check_chain(stco::matmul(W, X), W, X, b, Rt, c);
}

TEST_CASE_TEMPLATE("conv2d gradients match central differences", L, STCO_FD_LAYOUTS) {
  CAPTURE(L::name());
  // clang-format off
  const conv_setting settings[] = {
      // name                         N  H  W  Cin Cout kh kw sh sw ph pw dh dw g  explicit
      {"3x3 stride 1 pad 1",          2, 5, 4, 4,  6,   3, 3, 1, 1, 1, 1, 1, 1, 1, false},
      {"3x3 stride 2 groups 2",       1, 6, 5, 4,  6,   3, 3, 2, 2, 1, 1, 1, 1, 2, false},
      {"2x3 dilation (2, 1) pad (1, 0)", 2, 6, 5, 3, 5, 2, 3, 1, 1, 1, 0, 2, 1, 1, true},
  };
  // clang-format on
  for (const auto& s : settings) {
    const std::string setting = s.name;
    CAPTURE(setting);
    auto W = stco::prune<L>(random_matrix<double>(s.cout, s.k()), L::default_sparsity);
    auto X = random_tensor4<double>(s.batch, s.h, s.w, s.cin);
    auto b = random_vector<double>(s.cout);
    const auto o = expected_out_shape(s);
    const auto Rt = random_tensor4<double>(o[0], o[1], o[2], o[3]);
    for (chain c : all_chains) check_chain(stco::conv2d(W, X, s.params()), W, X, b, Rt, c);
  }
}
