// Test support for stco::nn: random activations, a scalar probe loss L = Σ y ⊙ R over a layer's
// output (so dL/dy = R), and central finite differences in double.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "../support/random.hpp"
#include "stco/nn.hpp"

namespace nn_test {

using stco::index_t;
using tensor4 = stco::tensor<double, 4>;

inline tensor4 random4(index_t n, index_t h, index_t w, index_t c, double scale = 1.0) {
  std::uniform_real_distribution<double> u(-scale, scale);
  tensor4 t(stco::dextents<4>(n, h, w, c));
  for (auto& v : t) v = u(stco_test::rng());
  return t;
}

inline double dot(const tensor4& a, const tensor4& b) {
  double s = 0;
  for (index_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

/// |a − b| ≤ tol·max(1, |a|, |b|).
inline bool near(double a, double b, double tol) {
  return std::fabs(a - b) <= tol * std::max({1.0, std::fabs(a), std::fabs(b)});
}

/// Central difference of f with respect to the value behind get/set, compared with `analytic`.
/// Reports the first mismatch with `what`.
inline void check_fd(const std::function<double()>& f, double& value, double analytic,
                     const std::string& what, double h = 1e-6, double tol = 1e-6) {
  const double keep = value;
  value = keep + h;
  const double lp = f();
  value = keep - h;
  const double lm = f();
  value = keep;
  const double num = (lp - lm) / (2 * h);
  INFO(what << ": analytic " << analytic << ", finite difference " << num);
  CHECK(near(analytic, num, tol));
}

/// Checks dL/dx of `layer` for L = Σ forward(x) ⊙ R at every input value (at most `max_checks`,
/// spread over the input).
template <class Layer>
void check_input_grad(Layer& layer, tensor4& x, const tensor4& R, index_t max_checks = 200) {
  layer.forward(x);
  const tensor4 dx = layer.backward(R, true);
  REQUIRE(dx.size() == x.size());
  auto f = [&] { return dot(layer.forward(x), R); };
  const index_t stride = std::max<index_t>(1, x.size() / max_checks);
  for (index_t i = 0; i < x.size(); i += stride)
    check_fd(f, x[i], dx[i], layer.name() + ": dL/dx[" + std::to_string(i) + "]");
}

}  // namespace nn_test
