// stco/nn/cuda/affine.cuh — the fused device expressions behind Conv2d and Linear on the CUDA
// backend (forward as one kernel: core op + bias + optional ReLU; backward through stco::grad with
// the forward's device activation stash, dW at the kept addresses only), and the weight operations
// of pruning and mask updates on the device (decode, magnitude pruning, scores, the SR-STE shadow,
// the mask update carrying values and optimizer state onto the new device entity).
#pragma once

#include <cmath>
#include <memory>

#include "stco/layout/gather.hpp"
#include "stco/nn/cuda/backend.cuh"

namespace stco::nn {

namespace detail {
/// Calls f with core (+ bias(b) if b) (then relu if asked): four device expression types.
template <class T, class Core, class F>
void with_device_epilogue(const Core& core, const device_tensor<T, 1>* b, bool relu, F&& f) {
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

/// W decoded into the dense layout on the device: the same values, an index-free entity.
template <class T, class L>
stco::cuda::device_sparse_matrix<T, dense> as_dense_layout(
    const stco::cuda::device_sparse_matrix<T, L>& W) {
  const auto s = cuda_device::stream();
  const auto d = stco::cuda::decode(W, s);
  return stco::cuda::gather(d, stco::cuda::device_entity<dense>::build(W.shape(), {}, s), s);
}

template <class T>
void copy_dense_grad(const stco::cuda::device_sparse_matrix<T, dense>& dWd, index_t R, index_t K,
                     device_tensor<T, 2>& out) {
  ensure_shape(out, R, K);
  if (dWd.value_count() > 0)
    STCO_CUDA_CHECK(cudaMemcpyAsync(out.data(), dWd.values(),
                                    static_cast<std::size_t>(dWd.value_count()) * sizeof(T),
                                    cudaMemcpyDeviceToDevice, cuda_device::stream().get()));
}
}  // namespace detail

/// y = [relu](conv2d(W, x, p) [+ b]); the activation input goes to `stash` when relu.
template <class T, class L>
void conv2d_forward(cuda_device, const stco::cuda::device_sparse_matrix<T, L>& W,
                    const device_tensor<T, 4>& x, const conv& p, const device_tensor<T, 1>* b,
                    bool relu, device_tensor<T, 4>& y, stco::cuda::activation_stash<T>& stash) {
  detail::check_cuda_value<T>();
  detail::with_device_epilogue(stco::conv2d(W, x, p), b, relu, [&](const auto& e) {
    stco::eval(y, e, stash, cuda_device::stream());
  });
}

/// dW (at W's kept addresses, sharing its device entity), db and dx of the forward above; null
/// outputs are not computed.
template <class T, class L>
void conv2d_backward(cuda_device, const stco::cuda::device_sparse_matrix<T, L>& W,
                     const device_tensor<T, 4>& x, const conv& p, const device_tensor<T, 1>* b,
                     bool relu, const device_tensor<T, 4>& dy,
                     const stco::cuda::activation_stash<T>& stash,
                     stco::cuda::device_sparse_matrix<T, L>* dW, device_tensor<T, 1>* db,
                     device_tensor<T, 4>* dx) {
  detail::with_device_epilogue(stco::conv2d(W, x, p), b, relu, [&](const auto& e) {
    const auto g = stco::grad(e, dy, stash, cuda_device::stream());
    if (dW) g.wrt_into(W, *dW);
    if (db) g.wrt_into(*b, *db);
    if (dx) g.wrt_into(x, *dx);
  });
}

/// The dense [R, K] weight gradient (every position, kept or not), for mask updates that regrow.
template <class T, class L>
void conv2d_dense_weight_grad(cuda_device, const stco::cuda::device_sparse_matrix<T, L>& W,
                              const device_tensor<T, 4>& x, const conv& p,
                              const device_tensor<T, 1>* b, bool relu,
                              const device_tensor<T, 4>& dy,
                              const stco::cuda::activation_stash<T>& stash,
                              device_tensor<T, 2>& dW_dense) {
  const auto Wd = detail::as_dense_layout(W);
  auto dWd = Wd.zeros_like(cuda_device::stream());
  detail::with_device_epilogue(stco::conv2d(Wd, x, p), b, relu, [&](const auto& e) {
    stco::grad(e, dy, stash, cuda_device::stream()).wrt_into(Wd, dWd);
  });
  detail::copy_dense_grad(dWd, W.rows(), W.cols(), dW_dense);
}

/// yT [R, N] = [relu](W·xT [+ b]) for xT [K, N] (features × batch).
template <class T, class L>
void linear_forward(cuda_device, const stco::cuda::device_sparse_matrix<T, L>& W,
                    const device_tensor<T, 2>& xT, const device_tensor<T, 1>* b, bool relu,
                    device_tensor<T, 2>& yT, stco::cuda::activation_stash<T>& stash) {
  detail::check_cuda_value<T>();
  detail::with_device_epilogue(stco::matmul(W, xT), b, relu, [&](const auto& e) {
    stco::eval(yT, e, stash, cuda_device::stream());
  });
}

template <class T, class L>
void linear_backward(cuda_device, const stco::cuda::device_sparse_matrix<T, L>& W,
                     const device_tensor<T, 2>& xT, const device_tensor<T, 1>* b, bool relu,
                     const device_tensor<T, 2>& dyT, const stco::cuda::activation_stash<T>& stash,
                     stco::cuda::device_sparse_matrix<T, L>* dW, device_tensor<T, 1>* db,
                     device_tensor<T, 2>* dxT) {
  detail::with_device_epilogue(stco::matmul(W, xT), b, relu, [&](const auto& e) {
    const auto g = stco::grad(e, dyT, stash, cuda_device::stream());
    if (dW) g.wrt_into(W, *dW);
    if (db) g.wrt_into(*b, *db);
    if (dxT) g.wrt_into(xT, *dxT);
  });
}

template <class T, class L>
void linear_dense_weight_grad(cuda_device, const stco::cuda::device_sparse_matrix<T, L>& W,
                              const device_tensor<T, 2>& xT, const device_tensor<T, 1>* b,
                              bool relu, const device_tensor<T, 2>& dyT,
                              const stco::cuda::activation_stash<T>& stash,
                              device_tensor<T, 2>& dW_dense) {
  const auto Wd = detail::as_dense_layout(W);
  auto dWd = Wd.zeros_like(cuda_device::stream());
  detail::with_device_epilogue(stco::matmul(Wd, xT), b, relu, [&](const auto& e) {
    stco::grad(e, dyT, stash, cuda_device::stream()).wrt_into(Wd, dWd);
  });
  detail::copy_dense_grad(dWd, W.rows(), W.cols(), dW_dense);
}

// --- weights: pruning and mask updates on the device ---

/// The dense [R, K] device form of W (zeros off the pattern).
template <class T, class L>
device_tensor<T, 2> decode_weight(cuda_device, const stco::cuda::device_sparse_matrix<T, L>& W) {
  return device_tensor<T, 2>(stco::cuda::decode(W, cuda_device::stream()));
}
/// Host values w [R, K] at like's kept positions, over like's device entity.
template <class T, class L>
stco::cuda::device_sparse_matrix<T, L> gather_weight(
    cuda_device, const stco::tensor<T, 2>& w, const stco::cuda::device_sparse_matrix<T, L>& like) {
  const auto s = cuda_device::stream();
  auto h = stco::gather<T>(w.view(), like.entity().host(s));
  auto d = like.zeros_like(s);
  d.buffer().copy_from_host(h.values(), h.value_count(), s);
  s.synchronize();  // h is pageable and dies here
  return d;
}
/// Prunes a dense device [R, K] weight into L by magnitude, on the device.
template <class L, class T>
stco::cuda::device_sparse_matrix<T, L> prune_weight(cuda_device, layout_tag<L>,
                                                    const device_tensor<T, 2>& w, double s) {
  return stco::cuda::prune<L>(w, s, cuda_device::stream());
}
template <class T>
stco::cuda::device_tensor<double, 2> magnitude_scores(cuda_device, const device_tensor<T, 2>& w) {
  return stco::cuda::optim::magnitude_scores(w, cuda_device::stream());
}

namespace detail {
template <class T>
struct regrow_score_op {
  const T *w, *g;
  double lambda;
  double* out;
  __device__ void operator()(index_t i) const {
    out[i] = fabs(static_cast<double>(w[i])) + lambda * fabs(static_cast<double>(g[i]));
  }
};
template <class T>
struct sr_ste_op {
  const T *kept, *cur, *shadow, *grad;
  T decay, rate;
  T* out;
  __device__ void operator()(index_t i) const {
    out[i] = kept[i] != T(0) ? cur[i] : shadow[i] * decay - rate * grad[i];
  }
};
}  // namespace detail

/// |w| + λ·|g| (RigL-style regrowth scores), on the device.
template <class T>
stco::cuda::device_tensor<double, 2> magnitude_gradient_scores(cuda_device,
                                                               const device_tensor<T, 2>& w,
                                                               const device_tensor<T, 2>& g,
                                                               double lambda) {
  if (g.shape() != w.shape())
    throw shape_error(stco::detail::message("stco::nn::magnitude_gradient_scores (cuda): gradient ",
                                            g.shape(), " does not match the weight ", w.shape()));
  if (!(lambda >= 0) || !std::isfinite(lambda))
    throw argument_error(
        stco::detail::message("stco::nn::magnitude_gradient_scores (cuda): lambda ", lambda,
                              " must be non-negative and finite"));
  stco::cuda::device_tensor<double, 2> out(dextents<2>(w.extent(0), w.extent(1)),
                                           cuda_device::stream());
  detail::for_each_index(w.size(),
                         detail::regrow_score_op<T>{w.data(), g.data(), lambda, out.data()});
  return out;
}

/// SR-STE's shadow step on the device: cur at W's kept positions, shadow·decay − rate·grad
/// elsewhere. The kept positions come from W's entity (a ones matrix over it, decoded).
template <class T, class L>
device_tensor<T, 2> sr_ste_shadow(cuda_device, const stco::cuda::device_sparse_matrix<T, L>& W,
                                  const device_tensor<T, 2>& cur, const device_tensor<T, 2>& shadow,
                                  const device_tensor<T, 2>& grad, T decay, T rate) {
  const auto s = cuda_device::stream();
  auto ones = W.zeros_like(s);
  detail::for_each_index(ones.value_count(), detail::fill_op<T>{ones.values(), T(1)});
  const auto kept = stco::cuda::decode(ones, s);
  device_tensor<T, 2> next(cur.extents());
  detail::for_each_index(next.size(), detail::sr_ste_op<T>{kept.data(), cur.data(), shadow.data(),
                                                           grad.data(), decay, rate, next.data()});
  return next;
}

/// Re-selects W's mask from device scores at sparsity s on the device, carrying W and the
/// optimizer's state onto the new device entity (newly kept positions from `fill` when given).
template <class T, class L, class Opt>
void update_weight_mask(cuda_device, stco::cuda::device_sparse_matrix<T, L>& W,
                        const stco::cuda::device_tensor<double, 2>& scores, double s, Opt& o) {
  stco::cuda::optim::update_mask(W, scores, s, o.inner(), cuda_device::stream());
}
template <class T, class L, class Opt>
void update_weight_mask(cuda_device, stco::cuda::device_sparse_matrix<T, L>& W,
                        const stco::cuda::device_tensor<double, 2>& scores, double s, Opt& o,
                        const device_tensor<T, 2>& fill) {
  stco::cuda::optim::update_mask(W, scores, s, o.inner(), fill, cuda_device::stream());
}

}  // namespace stco::nn
