// stco/nn/cpu/affine.hpp — the fused expressions behind Conv2d and Linear on the CPU backend:
// forward as one kernel (core op + bias + optional ReLU), backward through stco::grad with the
// forward's activation stash, the weight gradient at the kept addresses only (address carrying)
// and, on request, the dense weight gradient a mask update scores with.
#pragma once

#include <algorithm>
#include <memory>

#include "stco/cpu.hpp"
#include "stco/layout/decode.hpp"
#include "stco/layout/dense.hpp"
#include "stco/layout/gather.hpp"
#include "stco/nn/backend.hpp"

namespace stco::nn {

namespace detail {
/// Calls f with the expression core (+ bias(b) if b) (then relu if asked): four expression types,
/// each one fused kernel.
template <class T, class Core, class F>
void with_epilogue(const Core& core, const stco::tensor<T, 1>* b, bool relu, F&& f) {
  if (b) {
    const auto e = core + stco::bias(*b);
    if (relu)
      f(stco::relu(e));
    else
      f(e);
  } else {
    if (relu)
      f(stco::relu(core));
    else
      f(core);
  }
}

/// W decoded into the dense layout: the same values, an index-free entity.
template <class T, class L>
sparse_matrix<T, dense> as_dense_layout(const sparse_matrix<T, L>& W) {
  const auto d = stco::decode(W);
  return stco::gather<T>(d.view(), std::make_shared<const dense_entity>(W.shape()));
}
}  // namespace detail

/// y = [relu](conv2d(W, x, p) [+ b]); the activation input goes to `stash` when relu.
template <class T, class L>
void conv2d_forward(cpu, const sparse_matrix<T, L>& W, const stco::tensor<T, 4>& x, const conv& p,
                    const stco::tensor<T, 1>* b, bool relu, stco::tensor<T, 4>& y,
                    activation_stash<T>& stash) {
  detail::with_epilogue(stco::conv2d(W, x, p), b, relu,
                        [&](const auto& e) { stco::eval(y, e, &stash); });
}

/// dW (at W's kept addresses, sharing its entity), db and dx of the forward above; null outputs
/// are not computed.
template <class T, class L>
void conv2d_backward(cpu, const sparse_matrix<T, L>& W, const stco::tensor<T, 4>& x, const conv& p,
                     const stco::tensor<T, 1>* b, bool relu, const stco::tensor<T, 4>& dy,
                     const activation_stash<T>& stash, sparse_matrix<T, L>* dW,
                     stco::tensor<T, 1>* db, stco::tensor<T, 4>* dx) {
  detail::with_epilogue(stco::conv2d(W, x, p), b, relu, [&](const auto& e) {
    const auto g = stco::grad(e, dy, relu ? &stash : nullptr);
    if (dW) g.wrt_into(W, *dW);
    if (db) g.wrt_into(b->view(), db->view());
    if (dx) g.wrt_into(x.view(), dx->view());
  });
}

/// The dense [R, K] weight gradient of the forward above, over every position (kept or not):
/// what a mask update scores regrowth with. Costs one dense weight-gradient product.
template <class T, class L>
void conv2d_dense_weight_grad(cpu, const sparse_matrix<T, L>& W, const stco::tensor<T, 4>& x,
                              const conv& p, const stco::tensor<T, 1>* b, bool relu,
                              const stco::tensor<T, 4>& dy, const activation_stash<T>& stash,
                              stco::tensor<T, 2>& dW_dense) {
  const auto Wd = detail::as_dense_layout(W);
  auto dWd = Wd.zeros_like();
  detail::with_epilogue(stco::conv2d(Wd, x, p), b, relu, [&](const auto& e) {
    stco::grad(e, dy, relu ? &stash : nullptr).wrt_into(Wd, dWd);
  });
  detail::ensure_shape(dW_dense, W.rows(), W.cols());
  std::copy(dWd.values(), dWd.values() + dWd.value_count(), dW_dense.data());
}

/// yT [R, N] = [relu](W·xT [+ b]) for xT [K, N] (features × batch).
template <class T, class L>
void linear_forward(cpu, const sparse_matrix<T, L>& W, const stco::tensor<T, 2>& xT,
                    const stco::tensor<T, 1>* b, bool relu, stco::tensor<T, 2>& yT,
                    activation_stash<T>& stash) {
  detail::with_epilogue(stco::matmul(W, xT), b, relu,
                        [&](const auto& e) { stco::eval(yT, e, &stash); });
}

template <class T, class L>
void linear_backward(cpu, const sparse_matrix<T, L>& W, const stco::tensor<T, 2>& xT,
                     const stco::tensor<T, 1>* b, bool relu, const stco::tensor<T, 2>& dyT,
                     const activation_stash<T>& stash, sparse_matrix<T, L>* dW,
                     stco::tensor<T, 1>* db, stco::tensor<T, 2>* dxT) {
  detail::with_epilogue(stco::matmul(W, xT), b, relu, [&](const auto& e) {
    const auto g = stco::grad(e, dyT, relu ? &stash : nullptr);
    if (dW) g.wrt_into(W, *dW);
    if (db) g.wrt_into(b->view(), db->view());
    if (dxT) g.wrt_into(xT.view(), dxT->view());
  });
}

template <class T, class L>
void linear_dense_weight_grad(cpu, const sparse_matrix<T, L>& W, const stco::tensor<T, 2>& xT,
                              const stco::tensor<T, 1>* b, bool relu, const stco::tensor<T, 2>& dyT,
                              const activation_stash<T>& stash, stco::tensor<T, 2>& dW_dense) {
  const auto Wd = detail::as_dense_layout(W);
  auto dWd = Wd.zeros_like();
  detail::with_epilogue(stco::matmul(Wd, xT), b, relu, [&](const auto& e) {
    stco::grad(e, dyT, relu ? &stash : nullptr).wrt_into(Wd, dWd);
  });
  detail::ensure_shape(dW_dense, W.rows(), W.cols());
  std::copy(dWd.values(), dWd.values() + dWd.value_count(), dW_dense.data());
}

}  // namespace stco::nn
