// The conv2d case of the expression tests: forward (every epilogue chain), dW at the kept
// addresses, dX and db of one layout, value type and setting, against double-precision loops on
// fresh random data, with the output extents computed here independently. Included by the test
// files that split the layout list between them (so the build can compile them in parallel).
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "../layout/layout_list.hpp"
#include "../support/reference_epilogue.hpp"
#include "conv_support.hpp"
#include "stco/kernel/reference/dense.hpp"
#include "stco/stco.hpp"

namespace stco_test::conv_case {

using stco::index_t;

// clang-format off
const conv_setting settings[] = {
    // name                       N  H   W  Cin Cout kh kw sh sw ph pw dh dw  g  explicit kernel
    {"3x3 stride 1 pad 1",        2, 7,  6, 8,  16,  3, 3, 1, 1, 1, 1, 1, 1, 1, false},
    {"3x3 stride 2 pad 0",        2, 9,  8, 8,  12,  3, 3, 2, 2, 0, 0, 1, 1, 1, false},
    {"3x3 dilation 2 pad 2",      1, 8,  7, 8,  16,  3, 3, 1, 1, 2, 2, 2, 2, 1, false},
    {"1x3 stride (1, 2) pad (0, 1)", 2, 5, 9, 8, 8,  1, 3, 1, 2, 0, 1, 1, 1, 1, true},
    {"1x1",                       2, 5,  5, 16, 20,  1, 1, 1, 1, 0, 0, 1, 1, 1, false},
    {"groups 2",                  2, 6,  6, 8,  12,  3, 3, 1, 1, 1, 1, 1, 1, 2, false},
    {"depthwise",                 2, 6,  7, 8,  8,   3, 3, 1, 1, 1, 1, 1, 1, 8, false},
    {"ragged: Cin 3, Cout 13, batch 3", 3, 7, 5, 3, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, false},
    {"ragged: batch 1, stride 2", 1, 9, 11, 3, 10,   3, 3, 2, 2, 1, 1, 1, 1, 1, false},
};
// clang-format on

/// Everything one case compares: the reference outputs and gradients for one epilogue.
template <class T, class L, class E>
void run_case(const conv_setting& s, const stco::sparse_matrix<T, L>& W,
              const stco::tensor<T, 4>& X, const stco::tensor<T, 1>& b,
              const stco::tensor<T, 4>& Rt, epi which, const E& expr) {
  const auto geo = reference_geometry(s);
  const auto out = expected_out_shape(s);
  REQUIRE(expr.out_shape() == out);
  const index_t Cout = s.cout, P = out[0] * out[1] * out[2];

  const auto Wd = to_doubles(stco::decode(W));
  const auto Xd = to_doubles(X);
  const auto Z = stco::reference::conv2d(Wd, Xd, geo);
  const auto dY = random_tensor4<T>(out[0], out[1], out[2], out[3]);
  const double tol = tolerance<T>(s.k());

  stco::tensor<T, 4> Y(stco::dextents<4>(out[0], out[1], out[2], out[3]));
  stco::activation_stash<T> stash;
  stco::eval(Y, expr, stash);

  // At ReLU's kink both one-sided derivatives are right: within a few rounding errors of the
  // accumulation (float for half and bfloat16) the reference takes the kernel's side (its stashed
  // activation input), so a rounding across 0 fails nothing.
  const double kink = 4 * tolerance<stco::acc_t<T>>(s.k());
  std::vector<double> Yref(Z.size()), dZ(Z.size()), dbref(static_cast<std::size_t>(Cout), 0.0);
  for (std::size_t i = 0; i < Z.size(); ++i) {
    const auto at = static_cast<index_t>(i);
    const auto co = at % Cout;
    const double side = stash.empty() ? 0.0 : static_cast<double>(stash.data()[i]);
    const auto p = epi_ref(which, Z[i], stco::to_double(b[co]), stco::to_double(Rt[at]),
                           stco::to_double(dY[at]), stash.empty() ? nullptr : &side, kink);
    Yref[i] = p.y, dZ[i] = p.dz, dbref[static_cast<std::size_t>(co)] += p.db;
  }
  CHECK(max_rel_error(to_doubles(Y), Yref) <= tol);

  std::vector<double> dWd, dXd;
  stco::reference::conv2d_grads(Wd, Xd, dZ, geo, dWd, dXd);
  zero_dropped(W.entity(), dWd);

  auto g = stco::grad(expr, dY, stash);
  const auto dW = g.wrt(W);
  CHECK(dW.entity_ptr() == W.entity_ptr());
  CHECK(max_rel_error(to_doubles(stco::decode(dW)), dWd) <= tolerance<T>(P));
  const auto dX = g.wrt(X);
  REQUIRE(shape_of(dX) == shape_of(X));
  CHECK(max_rel_error(to_doubles(dX), dXd) <= tolerance<T>(Cout * s.kh * s.kw));
  if (which != epi::none) CHECK(max_rel_error(to_doubles(g.wrt(b)), dbref) <= tolerance<T>(P));
}

template <class L, class T>
void run_layout(const conv_setting& s, double sparsity) {
  auto W = stco::prune<L>(random_matrix<T>(s.cout, s.k()), sparsity);
  const auto X = random_tensor4<T>(s.batch, s.h, s.w, s.cin);
  const auto b = random_vector<T>(s.cout);
  const auto out = expected_out_shape(s);
  const auto Rt = random_tensor4<T>(out[0], out[1], out[2], out[3]);
  for (epi which : all_epilogues) {
    const std::string epilogue = epi_name(which);
    CAPTURE(epilogue);
    const auto cv = stco::conv2d(W, X, s.params());
    switch (which) {
      case epi::none:
        run_case(s, W, X, b, Rt, which, cv);
        break;
      case epi::bias_relu:
        run_case(s, W, X, b, Rt, which, stco::relu(cv + stco::bias(b)));
        break;
      case epi::bias_gelu_scale:
        run_case(s, W, X, b, Rt, which, stco::gelu(cv + stco::bias(b)) * 0.75);
        break;
      default:
        run_case(s, W, X, b, Rt, which, stco::relu(cv * 1.5 + stco::bias(b)) + stco::residual(Rt));
    }
  }
}

/// Every setting and sparsity of layout L, in float and double.
template <class L>
void run_settings() {
  CAPTURE(L::name());
  for (const auto& s : settings) {
    const std::string setting = s.name;
    CAPTURE(setting);
    for (double sp : sparsities<L>()) {
      if (sp >= 1.0) continue;
      CAPTURE(sp);
      run_layout<L, float>(s, sp);
      run_layout<L, double>(s, sp);
    }
  }
}

}  // namespace stco_test::conv_case
