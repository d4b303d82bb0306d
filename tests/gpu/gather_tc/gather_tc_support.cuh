// Test support for the tile tensor-core kernels: the epilogues' y, activation input and dZ in
// double in the form the kernels' stash gives them (the epilogue list, names and GELU reference
// from tests/support/reference_epilogue.hpp), chains over device pointers, device copies of host
// data, poisoned outputs, and the checks against the double-precision reference.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../../support/random.hpp"
#include "../../support/reference_epilogue.hpp"
#include "stco/core/cuda/device_buffer.cuh"
#include "stco/expr/epilogue.hpp"
#include "stco/kernel/reference/dense.hpp"
#include "stco/layout/cuda/layouts.cuh"
#include "stco/layouts.hpp"

namespace gather_tc_test {

using stco::index_t;

using stco_test::all_epis;
using stco_test::epi;
using stco_test::epi_name;
using stco_test::epis;
using stco_test::for_each_epi;
using stco_test::gelu_grad_ref;
using stco_test::gelu_ref;

/// y of the epilogue at core output z, channel bias b, residual r.
inline double y_ref(epi e, double z, double b, double r) {
  return stco_test::epi_ref(e, z, b, r, 0).y;
}

inline stco::detail::op_list<> op_list() { return {}; }
template <class Op, class... Rest>
stco::detail::op_list<Op, Rest...> op_list(const Op& op, const Rest&... rest) {
  return {op, op_list(rest...)};
}
/// A chain from its ops, in application order.
template <class... Ops>
stco::chain<Ops...> make_chain(const Ops&... ops) {
  return stco::chain<Ops...>{op_list(ops...)};
}

/// Calls f(chain) with the chain of E, over device bias b [channels] and residual res.
template <epi E, class V, class F>
void with_chain(const V* b, const V* res, F&& f) {
  namespace ops = stco::ops;
  if constexpr (E == epi::none) {
    (void)b, (void)res;
    f(make_chain());
  } else if constexpr (E == epi::bias_relu) {
    (void)res;
    f(make_chain(ops::bias<V>{b}, ops::relu{}));
  } else if constexpr (E == epi::bias_gelu_scale) {
    (void)res;
    f(make_chain(ops::bias<V>{b}, ops::gelu{}, ops::scale{0.75}));
  } else {
    f(make_chain(ops::scale{1.5}, ops::bias<V>{b}, ops::relu{}, ops::residual<V>{res}));
  }
}

/// The activation input of the chain at core output z (0 when the chain has no activation).
inline double act_ref(epi e, double z, double b) {
  switch (e) {
    case epi::none:
      return 0;
    case epi::scale_bias_relu_residual:
      return 1.5 * z + b;
    default:
      return z + b;
  }
}
/// dL/dz from dL/dy and the activation input a (as the kernels get it from the stash).
inline double dz_ref(epi e, double a, double dy) {
  switch (e) {
    case epi::none:
      return dy;
    case epi::bias_relu:
      return a > 0 ? dy : 0;
    case epi::bias_gelu_scale:
      return dy * 0.75 * gelu_grad_ref(a);
    default:
      return a > 0 ? 1.5 * dy : 0;
  }
}

template <class T>
stco::cuda::device_buffer<T> upload(const std::vector<T>& h, stco::cuda::stream s) {
  stco::cuda::device_buffer<T> d(static_cast<index_t>(h.size()), s);
  d.copy_from_host(h.data(), static_cast<index_t>(h.size()), s);
  return d;
}
template <class T>
std::vector<T> download(const stco::cuda::device_buffer<T>& d, stco::cuda::stream s) {
  std::vector<T> h(static_cast<std::size_t>(d.size()));
  d.copy_to_host(h.data(), d.size(), s);
  s.synchronize();
  return h;
}
/// Fills a device buffer with NaN bits, so an element the kernel misses shows.
template <class T>
void poison(stco::cuda::device_buffer<T>& d, stco::cuda::stream s) {
  STCO_CUDA_CHECK(cudaMemsetAsync(d.data(), 0xff, d.bytes(), s.get()));
}

template <class V>
std::vector<V> random_values(index_t n) {
  const auto m = stco_test::random_matrix<V>(1, n);
  return std::vector<V>(m.begin(), m.end());
}
template <class V>
std::vector<double> doubles(const std::vector<V>& v) {
  std::vector<double> d;
  d.reserve(v.size());
  for (const V& x : v) d.push_back(stco::to_double(x));
  return d;
}

/// Error allowed relative to max |reference|: 16-bit outputs of fp32 sums of 16-bit products.
template <class V>
double tol() {
  return std::is_same_v<V, stco::bfloat16> ? 2e-2 : 4e-3;
}

/// Checks that `got` holds no NaN (every element written) and matches `ref` within tol<V>(), with
/// the worst position in the message.
inline void check_close(const std::vector<double>& got, const std::vector<double>& ref, double t,
                        const std::string& what) {
  REQUIRE(got.size() == ref.size());
  std::size_t bad = got.size();
  for (std::size_t i = 0; i < got.size(); ++i)
    if (std::isnan(got[i])) {
      bad = i;
      break;
    }
  INFO(what, ": first unwritten (NaN) element ", bad);
  CHECK(bad == got.size());
  // max |got − ref| / max(1, max |ref|), NaN counting as the worst.
  double scale = 1, err = 0;
  std::size_t at = 0;
  for (double x : ref) scale = std::max(scale, std::fabs(x));
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double d = std::fabs(got[i] - ref[i]);
    if (!(d <= err)) err = d, at = i;
  }
  err /= scale;
  INFO(what, ": worst at ", at, " got ", (at < got.size() ? got[at] : 0.0), " want ",
       (at < ref.size() ? ref[at] : 0.0));
  CHECK(err <= t);
}

}  // namespace gather_tc_test
