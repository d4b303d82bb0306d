// GPU test support: the CPU test matrix repeated on the device. Each case uploads fresh random
// operands, runs forward (with the activation stash), dW, dX and db on the device, downloads the
// results and compares them with the double-precision dense reference (stco/kernel/reference,
// reference_epilogue.hpp).
#pragma once

#include <doctest/doctest.h>

#include <array>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <vector>

#include "../layout/layout_list.hpp"
#include "../support/reference_epilogue.hpp"
#include "stco/cuda.cuh"
#include "stco/kernel/reference/dense.hpp"

namespace stco_gpu_test {

using stco::index_t;
using namespace stco_test;
namespace sc = stco::cuda;

/// STCO_GPU_QUICK set: a reduced matrix of shapes and settings (for the sanitizers, which slow
/// every kernel down by orders of magnitude).
inline bool quick() {
  static const bool q = std::getenv("STCO_GPU_QUICK") != nullptr;
  return q;
}

/// The options every call of a test runs with (tests switch kernels through them).
inline sc::options& test_options() {
  static sc::options o;
  return o;
}

/// One non-blocking stream for the whole test binary, with test_options().
inline sc::stream test_stream() {
  static sc::owned_stream s;
  return s.get().with(test_options());
}

/// Sets test_options() for a scope and restores the defaults after it.
struct scoped_options {
  explicit scoped_options(const sc::options& o) { test_options() = o; }
  scoped_options(const scoped_options&) = delete;
  scoped_options& operator=(const scoped_options&) = delete;
  ~scoped_options() { test_options() = sc::options{}; }
};

/// The routes the last check_matmul / check_conv took (its last epilogue): forward, dX, dW.
inline sc::explanation& last_routes() {
  static sc::explanation r;
  return r;
}

template <class T, class E>
sc::basic_device_tensor<T, E> upload(const stco::basic_tensor<T, E>& h) {
  return sc::basic_device_tensor<T, E>::from_host(h, test_stream());
}

/// Relative tolerance for device results of value type T over sums of `terms` O(1) products:
/// float accumulation plus, for 16-bit outputs, one rounding to T.
template <class T>
double gpu_tolerance(index_t terms) {
  const double round = std::is_same_v<T, float>        ? 0.0
                       : std::is_same_v<T, stco::half> ? 1.0 / 1024
                                                       : 1.0 / 128;
  return round + 8e-6 * std::sqrt(static_cast<double>(terms) + 1.0);
}

/// One chain holding scale, bias, an activation and a residual (epis: reference_epilogue.hpp).
using fused_epi = epis<epi::scale_bias_relu_residual>;
using plain_and_fused = epis<epi::none, epi::scale_bias_relu_residual>;

/// The expression `Which` built around the device core expression.
template <epi Which, class Core, class B, class Res>
auto with_epilogue(const Core& core, const B& b, const Res& r) {
  if constexpr (Which == epi::none)
    return core;
  else if constexpr (Which == epi::bias_relu)
    return stco::relu(core + stco::bias(b));
  else if constexpr (Which == epi::bias_gelu_scale)
    return stco::gelu(core + stco::bias(b)) * 0.75;
  else
    return stco::relu(core * 1.5 + stco::bias(b)) + stco::residual(r);
}

/// Reference y, dZ and db for core output Z ([channels] bias, output position `pos`, channel of
/// each position given by ch_of).
struct epi_reference {
  std::vector<double> y, dz, db;
};
/// The device stash's activation inputs on the host (empty when the chain stashes nothing).
template <class T>
std::vector<float> stash_of(const stco::cuda::activation_stash<T>& st, stco::cuda::stream s) {
  std::vector<float> h(static_cast<std::size_t>(st.size()));
  s.synchronize();
  if (!h.empty())
    STCO_CUDA_CHECK(
        cudaMemcpy(h.data(), st.data(), h.size() * sizeof(float), cudaMemcpyDeviceToHost));
  return h;
}

/// `stash`: the kernel's stashed activation inputs (empty: none), taken at ReLU's kink, which is
/// `terms` float roundings wide (epi_ref).
template <class T, class ChOf>
epi_reference reference_epilogue(epi which, const std::vector<double>& Z,
                                 const stco::tensor<T, 1>& b, const std::vector<double>& Rt,
                                 const std::vector<double>& dY, ChOf&& ch_of,
                                 const std::vector<float>& stash = {}, index_t terms = 0) {
  epi_reference out{std::vector<double>(Z.size()), std::vector<double>(Z.size()),
                    std::vector<double>(static_cast<std::size_t>(b.size()), 0.0)};
  double scale = 1;
  for (double z : Z) scale = std::max(scale, std::fabs(z));
  const double kink = 4 * gpu_tolerance<float>(terms) * scale;
  for (std::size_t i = 0; i < Z.size(); ++i) {
    const index_t c = ch_of(static_cast<index_t>(i));
    const double side = stash.empty() ? 0.0 : static_cast<double>(stash[i]);
    const auto p = epi_ref(which, Z[i], stco::to_double(b[c]), Rt[i], dY[i],
                           stash.empty() ? nullptr : &side, kink);
    out.y[i] = p.y, out.dz[i] = p.dz, out.db[c] += p.db;
  }
  return out;
}

template <class T>
stco::tensor<T, 1> random_vector(index_t n) {
  const auto m = random_matrix<T>(1, n);
  stco::tensor<T, 1> t{stco::dextents<1>(n)};
  std::copy(m.begin(), m.end(), t.data());
  return t;
}
template <class T>
stco::tensor<T, 4> random_nhwc(index_t n, index_t h, index_t w, index_t c) {
  const auto m = random_matrix<T>(n * h * w, c);
  stco::tensor<T, 4> t(stco::dextents<4>(n, h, w, c));
  std::copy(m.begin(), m.end(), t.data());
  return t;
}

/// matmul forward, dW, dX and db of layout L at value type T on the device, for every epilogue.
template <class L, class T, class Epis = all_epis>
void check_matmul(index_t R, index_t K, index_t N, double sparsity, Epis epilogues = {}) {
  const auto s = test_stream();
  const auto W = stco::prune<L>(random_matrix<T>(R, K), sparsity);
  const auto X = random_matrix<T>(K, N);
  const auto b = random_vector<T>(R);
  const auto Rt = random_matrix<T>(R, N);
  const auto dY = random_matrix<T>(R, N);
  const auto Wd = sc::device_sparse_matrix<T, L>::from_host(W, s);
  const auto Xd = upload(X);
  const auto bd = upload(b);
  const auto Rd = upload(Rt);
  const auto dYd = upload(dY);

  const auto Wdense = to_doubles(stco::decode(W));
  const auto Xdbl = to_doubles(X);
  const auto Z = stco::reference::matmul(Wdense, Xdbl, R, K, N);
  for_each_epi(epilogues, [&](auto tag) {
    constexpr epi which = decltype(tag)::value;
    const std::string epilogue = epi_name(which);
    CAPTURE(epilogue);
    {
      const auto e = with_epilogue<which>(stco::matmul(Wd, Xd), bd, Rd);
      sc::device_tensor<T, 2> Yd(stco::dextents<2>(R, N), s);
      sc::activation_stash<T> stash;
      stco::eval(Yd, e, stash, s);
      const auto ref = reference_epilogue(
          which, Z, b, to_doubles(Rt), to_doubles(dY), [N](index_t i) { return i / N; },
          stash_of(stash, s), K);
      std::vector<double> dWref, dXref;
      stco::reference::matmul_grads(Wdense, Xdbl, ref.dz, R, K, N, dWref, dXref);
      zero_dropped(W.entity(), dWref);
      CHECK(max_rel_error(to_doubles(Yd.to_host(s)), ref.y) <= gpu_tolerance<T>(K));
      const auto g = stco::grad(e, dYd, stash, s);
      last_routes() = {sc::explain(e, s).forward, g.grad_x_route(), g.grad_w_route()};
      const auto dWd = g.wrt(Wd);
      CHECK(dWd.entity_ptr() == Wd.entity_ptr());
      const auto dW = dWd.to_host(s);
      CHECK(dW.entity_ptr() == W.entity_ptr());
      CHECK(max_rel_error(to_doubles(stco::decode(dW)), dWref) <= gpu_tolerance<T>(N));
      CHECK(max_rel_error(to_doubles(g.wrt(Xd).to_host(s)), dXref) <= gpu_tolerance<T>(R));
      if constexpr (which != epi::none)
        CHECK(max_rel_error(to_doubles(g.wrt(bd).to_host(s)), ref.db) <= gpu_tolerance<T>(N));
    }
  });
}

/// A convolution setting: X [batch, h, w, cin], kernel kh×kw, Cout, strides, pads, dilations,
/// groups.
struct conv_case {
  const char* name;
  index_t batch, h, w, cin, cout, kh, kw, sh, sw, ph, pw, dh, dw, groups;
  stco::conv params() const {
    stco::conv p;
    p.kernel(kh, kw).stride(sh, sw).pad(ph, pw).group(groups);
    p.dilation_h = dh;
    p.dilation_w = dw;
    return p;
  }
};

/// conv2d forward, dW, dX and db of layout L at value type T on the device, for `epilogues`.
template <class L, class T, class Epis = all_epis>
void check_conv(const conv_case& c, double sparsity, Epis epilogues = {}) {
  CAPTURE(std::string(c.name));
  const auto s = test_stream();
  const index_t Kg = c.kh * c.kw * (c.cin / c.groups);
  const auto W = stco::prune<L>(random_matrix<T>(c.cout, Kg), sparsity);
  const auto X = random_nhwc<T>(c.batch, c.h, c.w, c.cin);
  const auto g = stco::resolve_conv({c.batch, c.h, c.w, c.cin}, W.shape(), c.params());
  const index_t P = g.pixels(), Cout = c.cout;
  const auto b = random_vector<T>(Cout);
  const auto Rt = random_nhwc<T>(c.batch, g.out_h, g.out_w, Cout);
  const auto dY = random_nhwc<T>(c.batch, g.out_h, g.out_w, Cout);
  const auto Wd = sc::device_sparse_matrix<T, L>::from_host(W, s);
  const auto Xd = upload(X);
  const auto bd = upload(b);
  const auto Rd = upload(Rt);
  const auto dYd = upload(dY);

  const auto Wdense = to_doubles(stco::decode(W));
  const auto Xdbl = to_doubles(X);
  const auto Z = stco::reference::conv2d(Wdense, Xdbl, g);
  for_each_epi(epilogues, [&](auto tag) {
    constexpr epi which = decltype(tag)::value;
    const std::string epilogue = epi_name(which);
    CAPTURE(epilogue);
    {
      const auto e = with_epilogue<which>(stco::conv2d(Wd, Xd, c.params()), bd, Rd);
      sc::device_tensor<T, 4> Yd(stco::dextents<4>(c.batch, g.out_h, g.out_w, Cout), s);
      sc::activation_stash<T> stash;
      stco::eval(Yd, e, stash, s);
      const auto ref = reference_epilogue(
          which, Z, b, to_doubles(Rt), to_doubles(dY), [Cout](index_t i) { return i % Cout; },
          stash_of(stash, s), Kg);
      std::vector<double> dWref, dXref;
      stco::reference::conv2d_grads(Wdense, Xdbl, ref.dz, g, dWref, dXref);
      zero_dropped(W.entity(), dWref);
      CHECK(max_rel_error(to_doubles(Yd.to_host(s)), ref.y) <= gpu_tolerance<T>(Kg));
      const auto gr = stco::grad(e, dYd, stash, s);
      last_routes() = {sc::explain(e, s).forward, gr.grad_x_route(), gr.grad_w_route()};
      const auto dWd = gr.wrt(Wd);
      CHECK(dWd.entity_ptr() == Wd.entity_ptr());
      CHECK(max_rel_error(to_doubles(stco::decode(dWd.to_host(s))), dWref) <= gpu_tolerance<T>(P));
      CHECK(max_rel_error(to_doubles(gr.wrt(Xd).to_host(s)), dXref) <=
            gpu_tolerance<T>(Cout * c.kh * c.kw));
      if constexpr (which != epi::none)
        CHECK(max_rel_error(to_doubles(gr.wrt(bd).to_host(s)), ref.db) <= gpu_tolerance<T>(P));
    }
  });
}

/// Settings covering stride, padding, dilation, rectangular kernels, groups and depthwise, on
/// ragged extents.
inline const std::vector<conv_case>& all_conv_cases() {
  static const std::vector<conv_case> all{
      {"3x3 pad 1", 2, 9, 7, 16, 24, 3, 3, 1, 1, 1, 1, 1, 1, 1},
      {"3x3 stride 2, no pad, odd Cin", 1, 11, 10, 13, 20, 3, 3, 2, 2, 0, 0, 1, 1, 1},
      {"1x1", 3, 5, 6, 40, 33, 1, 1, 1, 1, 0, 0, 1, 1, 1},
      {"3x2 dilated 2, stride (1,2), pad (2,1)", 2, 8, 9, 12, 17, 3, 2, 1, 2, 2, 1, 2, 2, 1},
      {"5x5 stride 3, pad 2", 1, 13, 12, 8, 16, 5, 5, 3, 3, 2, 2, 1, 1, 1},
  };
  return all;
}
/// all_conv_cases(), or two of them with STCO_GPU_QUICK.
inline const std::vector<conv_case>& conv_cases() {
  static const std::vector<conv_case> few{all_conv_cases()[0], all_conv_cases()[3]};
  return quick() ? few : all_conv_cases();
}
inline const std::vector<conv_case>& grouped_conv_cases() {
  static const std::vector<conv_case> c{
      {"grouped 4, 3x3 pad 1", 2, 7, 8, 16, 24, 3, 3, 1, 1, 1, 1, 1, 1, 4},
      {"depthwise 3x3 stride 2 pad 1", 2, 9, 9, 24, 24, 3, 3, 2, 2, 1, 1, 1, 1, 24},
      {"depthwise x2 multiplier, dilated", 1, 10, 9, 8, 16, 3, 3, 1, 1, 2, 2, 2, 2, 8},
  };
  return c;
}

}  // namespace stco_gpu_test
