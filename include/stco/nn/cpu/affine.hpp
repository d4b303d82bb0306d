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
#include "stco/layout/prune.hpp"
#include "stco/nn/backend.hpp"
#include "stco/optim/mask_update.hpp"

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

// --- the weights' memory (what affine_layer asks of a backend) ---

/// Host tensors and matrices, as they are.
template <class T, class L>
sparse_matrix<T, L> upload(cpu, sparse_matrix<T, L> h) {
  return h;
}
template <class T, class Ext>
basic_tensor<T, Ext> upload(cpu, basic_tensor<T, Ext> h) {
  return h;
}
template <class T, class L>
const sparse_matrix<T, L>& host_copy(cpu, const sparse_matrix<T, L>& W) {
  return W;
}
template <class T, class Ext>
const basic_tensor<T, Ext>& host_copy(cpu, const basic_tensor<T, Ext>& t) {
  return t;
}
template <class T, class Ext>
basic_tensor<T, Ext> host_tensor(cpu, basic_tensor<T, Ext> t) {
  return t;
}
template <class T, class Ext>
basic_tensor<T, Ext> copy_tensor(cpu, const basic_tensor<T, Ext>& t) {
  return t;
}
/// A zero matrix sharing W's entity.
template <class T, class L>
sparse_matrix<T, L> zeros_like(cpu, const sparse_matrix<T, L>& W) {
  return W.zeros_like();
}
template <class T, class L>
void set_zero(cpu, sparse_matrix<T, L>& W) {
  std::fill(W.values(), W.values() + W.value_count(), T(0));
}
template <class T, class Ext>
void set_zero(cpu, basic_tensor<T, Ext>& t) {
  t.fill(T(0));
}
template <class T, class Ext>
void fill_values(cpu, basic_tensor<T, Ext>& t, T v) {
  t.fill(v);
}
template <class T, class L>
double weight_density(cpu, const sparse_matrix<T, L>& W) {
  return W.density();
}
template <class T, class L>
std::size_t weight_bytes(cpu, const sparse_matrix<T, L>& W) {
  return W.bytes();
}
/// The dense [R, K] form of W (zeros off the pattern).
template <class T, class L>
stco::tensor<T, 2> decode_weight(cpu, const sparse_matrix<T, L>& W) {
  return stco::decode(W);
}
/// The host values w [R, K] at like's kept positions, over like's entity.
template <class T, class L>
sparse_matrix<T, L> gather_weight(cpu, const stco::tensor<T, 2>& w,
                                  const sparse_matrix<T, L>& like) {
  return stco::gather<T>(w.view(), like.entity_ptr());
}
/// Prunes a dense [R, K] weight into L by magnitude.
template <class L, class T>
sparse_matrix<T, L> prune_weight(cpu, layout_tag<L>, const stco::tensor<T, 2>& w, double s) {
  return stco::prune<L>(w, s);
}
template <class T>
stco::tensor<double, 2> magnitude_scores(cpu, const stco::tensor<T, 2>& w) {
  return optim::magnitude_scores(w);
}
template <class T>
stco::tensor<double, 2> magnitude_gradient_scores(cpu, const stco::tensor<T, 2>& w,
                                                  const stco::tensor<T, 2>& g, double lambda) {
  return optim::magnitude_gradient_scores(w, g, lambda);
}
/// SR-STE's shadow step: cur at W's kept positions, shadow·decay − rate·grad elsewhere.
template <class T, class L>
stco::tensor<T, 2> sr_ste_shadow(cpu, const sparse_matrix<T, L>& W, const stco::tensor<T, 2>& cur,
                                 const stco::tensor<T, 2>& shadow, const stco::tensor<T, 2>& grad,
                                 T decay, T rate) {
  const auto kept = stco::kept_mask(W.entity());
  stco::tensor<T, 2> next(dextents<2>(cur.extent(0), cur.extent(1)));
  for (index_t i = 0; i < next.size(); ++i)
    next[i] = kept[i] ? cur[i] : shadow[i] * decay - rate * grad[i];
  return next;
}
/// Re-selects W's mask from scores at sparsity s, carrying W and o's state (newly kept positions
/// from `fill` when given).
template <class T, class L, class Opt>
void update_weight_mask(cpu, sparse_matrix<T, L>& W, const stco::tensor<double, 2>& scores,
                        double s, Opt& o) {
  optim::update_mask(W, scores, s, o);
}
template <class T, class L, class Opt>
void update_weight_mask(cpu, sparse_matrix<T, L>& W, const stco::tensor<double, 2>& scores,
                        double s, Opt& o, const stco::tensor<T, 2>& fill) {
  optim::update_mask(W, scores, s, o, fill);
}

}  // namespace stco::nn
