// Support for the tests of stco::nn's CUDA backend (test_nn.cu, test_nn_affine.cu): random float
// data with exact double copies, transfers, comparison against the CPU layers in double.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "stco/nn/cuda.cuh"

namespace nn_gpu_test {
namespace nn = stco::nn;
using stco::index_t;
using D = nn::cuda_device;

inline std::mt19937_64& rng() {
  static std::mt19937_64 g(20261123);
  return g;
}

/// Random float values (so that the double copy is exact) in [-scale, scale].
template <class Ext>
stco::basic_tensor<float, Ext> random_f(const Ext& e, double scale = 1.0) {
  std::uniform_real_distribution<double> u(-scale, scale);
  stco::basic_tensor<float, Ext> t(e);
  for (auto& v : t) v = static_cast<float>(u(rng()));
  return t;
}
template <class Ext>
stco::basic_tensor<double, Ext> to_double(const stco::basic_tensor<float, Ext>& f) {
  stco::basic_tensor<double, Ext> d(f.extents());
  for (index_t i = 0; i < f.size(); ++i) d[i] = static_cast<double>(f[i]);
  return d;
}
template <class Ext>
nn::device_tensor<float, Ext::rank()> up(const stco::basic_tensor<float, Ext>& h) {
  return nn::upload(D{}, h);
}
template <std::size_t R>
stco::tensor<float, R> down(const nn::device_tensor<float, R>& d) {
  return d.to_host(D::stream());
}

/// Device values against the double reference: |dev − ref| ≤ tol·max(1, max |ref|).
template <class A, class B>
void check_close(const A& dev, const B& ref, double tol, const std::string& what) {
  REQUIRE(dev.size() == ref.size());
  double scale = 1.0;
  for (index_t i = 0; i < ref.size(); ++i) scale = std::max(scale, std::fabs(double(ref[i])));
  double worst = 0;
  index_t at = 0;
  for (index_t i = 0; i < ref.size(); ++i) {
    const double e = std::fabs(double(dev[i]) - double(ref[i]));
    if (!(e <= worst)) worst = e, at = i;
  }
  INFO(what << ": worst error " << worst << " at " << at << " (device " << double(dev[at])
            << ", reference " << double(ref[at]) << "), scale " << scale);
  CHECK(worst <= tol * scale);
}

/// The same weights, bias and pattern on a device float layer and a host double layer.
template <class DevLayer, class HostLayer>
void same_parameters(DevLayer& dev, HostLayer& host, double sparsity) {
  using L = typename DevLayer::layout_type;
  const auto w =
      random_f(stco::dextents<2>(host.weight_shape().rows, host.weight_shape().cols), 0.5);
  dev.set_weight(w);
  host.set_weight(to_double(w));
  if constexpr (!std::is_same_v<L, stco::dense>) {
    D::optimizer dopt = nn::cuda_sgd(0.1f);
    nn::optimizer hopt = stco::optim::sgd(0.1f);
    const double s = std::clamp(sparsity, L::min_sparsity, L::max_sparsity);
    dev.prune(s, dopt);
    host.prune(s, hopt);
    REQUIRE(dev.is_pruned());
    // the same pattern: the decoded weights agree exactly (float values, exact in double)
    check_close(dev.weight_dense(), host.weight_dense(), 0.0, "pruned weight " + dev.name());
  }
  if (host.has_bias()) {
    const auto b = random_f(stco::dextents<1>(host.bias().size()), 0.5);
    dev.bias() = up(b);
    host.bias() = to_double(b);
  }
}

/// Forward and backward of an affine layer on both backends: y, dx, dW (dense form: zeros off the
/// pattern), db.
template <class DevLayer, class HostLayer>
void compare_affine(DevLayer& dev, HostLayer& host, const nn::shape4& in, double sparsity,
                    bool relu) {
  if (relu) dev.fuse_relu(), host.fuse_relu();
  same_parameters(dev, host, sparsity);
  const auto xf = random_f(stco::dextents<4>(in[0], in[1], in[2], in[3]));
  const auto xh = to_double(xf);
  const auto xd = up(xf);
  const auto& yd = dev.forward(xd);
  const auto& yh = host.forward(xh);
  const std::string name = dev.name();
  check_close(down(yd), yh, 1e-5, "y of " + name);
  const auto dyf =
      random_f(stco::dextents<4>(yh.extent(0), yh.extent(1), yh.extent(2), yh.extent(3)));
  const auto dyd = up(dyf);
  const auto dyh = to_double(dyf);
  const auto& dxd = dev.backward(dyd, true);
  const auto& dxh = host.backward(dyh, true);
  check_close(down(dxd), dxh, 1e-5, "dx of " + name);
  const auto dWd = dev.weight_grad_dense();
  const auto dWh = host.weight_grad_dense();
  check_close(dWd, dWh, 1e-5, "dW of " + name);
  const auto Wd = dev.weight_dense();
  for (index_t i = 0; i < Wd.size(); ++i)
    if (Wd[i] == 0.0f) {
      INFO(name << ": dW at pruned position " << i);
      REQUIRE(dWd[i] == 0.0f);
    }
  if (host.has_bias()) check_close(down(dev.bias_grad()), host.bias_grad(), 1e-5, "db of " + name);
  // need_dx = false leaves the parameter gradients alone and returns an empty tensor
  const auto& none = dev.backward(dyd, false);
  CHECK(none.size() == 0);
  check_close(dev.weight_grad_dense(), dWh, 1e-5, "dW (no dx) of " + name);
}

/// A layer without parameters (or BatchNorm2d) on both backends: y and dx.
template <class DevLayer, class HostLayer>
void compare_plain(DevLayer& dev, HostLayer& host, const nn::shape4& in, double tol) {
  const auto xf = random_f(stco::dextents<4>(in[0], in[1], in[2], in[3]), 2.0);
  const auto xh = to_double(xf);
  const auto xd = up(xf);
  const auto& yh = host.forward(xh);
  const auto& yd = dev.forward(xd);
  check_close(down(yd), yh, tol, "y of " + dev.name());
  const auto dyf =
      random_f(stco::dextents<4>(yh.extent(0), yh.extent(1), yh.extent(2), yh.extent(3)));
  const auto dyh = to_double(dyf);
  const auto dyd = up(dyf);
  check_close(down(dev.backward(dyd, true)), host.backward(dyh, true), tol, "dx of " + dev.name());
}

}  // namespace nn_gpu_test
