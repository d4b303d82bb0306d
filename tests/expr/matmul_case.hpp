// The matmul case of the expression tests: forward, dX, dW and db of one layout, value type and
// epilogue chain against double-precision dense math on fresh random data. Included by the test
// files that split the layout list between them (so the build can compile them in parallel).
#pragma once

#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

#include "../layout/layout_list.hpp"
#include "../support/reference_epilogue.hpp"
#include "stco/kernel/reference/dense.hpp"
#include "stco/stco.hpp"

namespace stco_test::matmul_case {

using stco::index_t;

template <class T, class L, class E>
void run_case(const stco::sparse_matrix<T, L>& W, const stco::tensor<T, 2>& X,
              const stco::tensor<T, 1>& b, const stco::tensor<T, 2>& Rt, epi which, const E& expr) {
  const index_t R = W.rows(), K = W.cols(), N = X.extent(1);
  const auto Wd = to_doubles(stco::decode(W));
  const auto Xd = to_doubles(X);
  const auto Z = stco::reference::matmul(Wd, Xd, R, K, N);
  auto dY = random_matrix<T>(R, N);
  const double tol = tolerance<T>(K);

  stco::tensor<T, 2> Y(stco::dextents<2>(R, N));
  stco::activation_stash<T> stash;
  stco::eval(Y, expr, stash);

  std::vector<double> Yref(Z.size()), dZ(Z.size()), dbref(static_cast<std::size_t>(R), 0.0);
  for (index_t r = 0; r < R; ++r)
    for (index_t n = 0; n < N; ++n) {
      const auto i = static_cast<std::size_t>(r * N + n);
      const double side = stash.empty() ? 0.0 : static_cast<double>(stash.data()[i]);
      const auto p = epi_ref(which, Z[i], stco::to_double(b[r]), stco::to_double(Rt[i]),
                             stco::to_double(dY[i]), stash.empty() ? nullptr : &side, 4 * tol);
      Yref[i] = p.y, dZ[i] = p.dz, dbref[r] += p.db;
    }
  CHECK(max_rel_error(to_doubles(Y), Yref) <= tol);

  std::vector<double> dWd, dXd;
  stco::reference::matmul_grads(Wd, Xd, dZ, R, K, N, dWd, dXd);
  zero_dropped(W.entity(), dWd);

  auto g = stco::grad(expr, dY, stash);
  const auto dW = g.wrt(W);
  CHECK(dW.entity_ptr() == W.entity_ptr());
  CHECK(max_rel_error(to_doubles(stco::decode(dW)), dWd) <= tolerance<T>(N));
  CHECK(max_rel_error(to_doubles(g.wrt(X)), dXd) <= tolerance<T>(R));
  if (which != epi::none) CHECK(max_rel_error(to_doubles(g.wrt(b)), dbref) <= tolerance<T>(N));
}

template <class L, class T>
void run_layout(index_t R, index_t K, index_t N, double sparsity) {
  auto W = stco::prune<L>(random_matrix<T>(R, K), sparsity);
  const auto X = random_matrix<T>(K, N);
  stco::tensor<T, 1> b{stco::dextents<1>(R)};
  for (index_t r = 0; r < R; ++r) b[r] = random_matrix<T>(1, 1)[0];
  const auto Rt = random_matrix<T>(R, N);
  for (epi which : all_epilogues) {
    const std::string epilogue = epi_name(which);
    CAPTURE(epilogue);
    const auto mm = stco::matmul(W, X);
    switch (which) {
      case epi::none:
        run_case(W, X, b, Rt, which, mm);
        break;
      case epi::bias_relu:
        run_case(W, X, b, Rt, which, stco::relu(mm + stco::bias(b)));
        break;
      case epi::bias_gelu_scale:
        run_case(W, X, b, Rt, which, stco::gelu(mm + stco::bias(b)) * 0.75);
        break;
      default:
        run_case(W, X, b, Rt, which, stco::relu(mm * 1.5 + stco::bias(b)) + stco::residual(Rt));
    }
  }
}

/// Every shape and sparsity of layout L, in float and double.
template <class L>
void run_shapes() {
  CAPTURE(L::name());
  const std::vector<std::array<index_t, 3>> shapes{
      {8, 16, 16}, {37, 70, 45}, {64, 130, 130}, {5, 9, 3}, {96, 256, 200}};
  for (const auto& s : shapes) {
    CAPTURE(s);
    for (double sp : sparsities<L>()) {
      if (sp >= 1.0) continue;
      CAPTURE(sp);
      run_layout<L, float>(s[0], s[1], s[2], sp);
      run_layout<L, double>(s[0], s[1], s[2], sp);
    }
  }
}

}  // namespace stco_test::matmul_case
