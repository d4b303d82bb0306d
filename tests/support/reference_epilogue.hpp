// Test support: the epilogue chains the CPU and GPU tests run, written out independently in double
// (forward and derivatives), tolerances, comparisons and the reference dW at kept addresses. It
// includes only stco/layouts.hpp, so CUDA translation units (which do not compile the CPU
// kernels that stco/stco.hpp pulls in) share it with the CPU tests.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <type_traits>
#include <vector>

#include "random.hpp"
#include "stco/layouts.hpp"

namespace stco_test {

/// Which epilogue a case runs.
enum class epi { none, bias_relu, bias_gelu_scale, scale_bias_relu_residual };
inline const char* epi_name(epi e) {
  switch (e) {
    case epi::none:
      return "none";
    case epi::bias_relu:
      return "relu(z + b)";
    case epi::bias_gelu_scale:
      return "gelu(z + b) * 0.75";
    default:
      return "relu(z * 1.5 + b) + R";
  }
}
inline const epi all_epilogues[] = {epi::none, epi::bias_relu, epi::bias_gelu_scale,
                                    epi::scale_bias_relu_residual};

/// A compile-time list of epilogues: each is its own chain type, so its own kernels; a case
/// that names a list compiles only those chains, not every chain for every layout.
template <epi... Es>
struct epis {};
using all_epis =
    epis<epi::none, epi::bias_relu, epi::bias_gelu_scale, epi::scale_bias_relu_residual>;

/// Calls f(std::integral_constant<epi, E>) for every E of the list.
template <epi... Es, class F>
void for_each_epi(epis<Es...>, F&& f) {
  (f(std::integral_constant<epi, Es>{}), ...);
}

inline double gelu_ref(double z) {
  const double c = std::sqrt(2.0 / 3.141592653589793);
  return 0.5 * z * (1.0 + std::tanh(c * (z + 0.044715 * z * z * z)));
}
inline double gelu_grad_ref(double z) {
  const double c = std::sqrt(2.0 / 3.141592653589793);
  const double t = std::tanh(c * (z + 0.044715 * z * z * z));
  return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * c * (1.0 + 3 * 0.044715 * z * z);
}

/// y, dL/dz and dL/d(bias) for core output z, channel bias b, residual r, upstream dy.
struct epi_point {
  double y, dz, db;
};
/// At ReLU's kink both one-sided derivatives are right: where the activation input a is within
/// `kink` of 0 and `side` (the kernel's stashed a) is given, the reference takes the kernel's side,
/// so a float rounding across 0 fails nothing.
inline epi_point epi_ref(epi e, double z, double b, double r, double dy,
                         const double* side = nullptr, double kink = 0) {
  const auto on = [&](double a) { return side && std::fabs(a) <= kink ? *side > 0 : a > 0; };
  switch (e) {
    case epi::none:
      return {z, dy, 0};
    case epi::bias_relu: {
      const double a = z + b;
      const double d = on(a) ? dy : 0;
      return {a > 0 ? a : 0, d, d};
    }
    case epi::bias_gelu_scale: {
      const double a = z + b;
      const double d = dy * 0.75 * gelu_grad_ref(a);
      return {0.75 * gelu_ref(a), d, d};
    }
    default: {
      const double a = z * 1.5 + b;
      const double d = on(a) ? dy : 0;
      return {(a > 0 ? a : 0) + r, d * 1.5, d};
    }
  }
}

/// Tolerance of value type T for sums of `terms` products of O(1) numbers.
template <class T>
double tolerance(stco::index_t terms) {
  const double eps = std::is_same_v<T, double> ? 1e-15 : std::is_same_v<T, float> ? 1e-6 : 1e-2;
  return 8 * eps * std::sqrt(static_cast<double>(terms) + 1.0) +
         (std::is_same_v<T, double> ? 1e-12 : 0);
}

template <class V>
std::vector<double> to_doubles(const V& v) {
  std::vector<double> d;
  d.reserve(static_cast<std::size_t>(v.size()));
  for (auto x : v) d.push_back(stco::to_double(x));
  return d;
}

/// max |a − b| / max(1, max |b|), with the position of the worst element.
inline double max_rel_error(const std::vector<double>& a, const std::vector<double>& b,
                            std::size_t* at = nullptr) {
  double scale = 1, worst = 0;
  for (double x : b) scale = std::max(scale, std::fabs(x));
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = std::fabs(a[i] - b[i]);
    if (!(d <= worst)) {
      worst = d;
      if (at) *at = i;
    }
  }
  return worst / scale;
}

/// Zeroes the positions of a dense [R, K] gradient that the entity does not keep (the reference
/// dW at the kept addresses).
template <class E>
void zero_dropped(const E& entity, std::vector<double>& dW) {
  const auto mask = stco::kept_mask(entity);
  for (stco::index_t i = 0; i < mask.size(); ++i)
    if (!mask[i]) dW[static_cast<std::size_t>(i)] = 0;
}

}  // namespace stco_test
