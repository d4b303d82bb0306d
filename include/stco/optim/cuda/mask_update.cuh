// stco/optim/cuda/mask_update.cuh — re-pruning during training on the device: a new device entity
// selected from dense device scores (stco::cuda::select), the weight and its optimizer state
// carried onto it together. The only step of the address-carry flow that builds a new entity.
//
//     auto scores = stco::cuda::optim::magnitude_scores(W_dense_d, s);
//     stco::cuda::optim::update_mask(Wd, scores, 0.5, opt, s);
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

#include "stco/core/cuda/device_tensor.cuh"
#include "stco/layout/cuda/prune.cuh"
#include "stco/optim/cuda/remap.cuh"

namespace stco::cuda::optim {

namespace detail {
template <class U>
struct magnitude {
  static constexpr int threads = 256;
  struct params {
    const U* x;
    index_t n;
    double* out;
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t i = b.block_x() * threads + b.thread();
    if (i >= p.n) return;
    const double d = to_double(p.x[i]);
    p.out[i] = d < 0 ? -d : d;
  }
};

/// Stands in for "no optimizer".
struct no_state {
  template <class W, class E>
  void remap(const W&, const E&, stream) noexcept {}
};
}  // namespace detail

/// |w| of a dense device [R, K] matrix, as doubles (the plain magnitude criterion).
template <class U, class E>
device_tensor<double, 2> magnitude_scores(const basic_device_tensor<U, E>& w, stream s) {
  static_assert(E::rank() == 2, "stco::cuda::optim::magnitude_scores: w must be rank 2");
  device_tensor<double, 2> out(dextents<2>(w.extent(0), w.extent(1)), s);
  kernel::cuda::launch<detail::magnitude<U>>({ceil_div(w.size(), 256), 1}, s,
                                             {w.data(), w.size(), out.data()});
  return out;
}

/// Re-prunes W on the device: a new entity from `scores` ([R, K], device) at `sparsity`, W's
/// values and `opt`'s state carried onto it (positions kept in both keep theirs, newly kept start
/// at 0, or at `fill` — a dense device [R, K] matrix — when given). Strong guarantee: on a throw
/// W and the optimizer are unchanged.
template <class T, class L, class S, class SE, class Opt>
void update_mask(device_sparse_matrix<T, L>& W, const basic_device_tensor<S, SE>& scores,
                 double sparsity, Opt& opt, stream s) {
  static_assert(std::is_nothrow_move_assignable_v<device_sparse_matrix<T, L>>,
                "stco::cuda::optim::update_mask relies on a non-throwing move");
  if (scores.shape() != W.shape())
    throw shape_error(stco::detail::message("stco::cuda::optim::update_mask<", L::name(),
                                            ">: scores ", scores.shape(),
                                            " do not match the weight ", W.shape()));
  auto e = select<L>(scores, sparsity, s);
  device_sparse_matrix<T, L> next = remap(W, e, s);
  opt.remap(W, e, s);
  W = std::move(next);
}
template <class T, class L, class S, class SE, class Opt, class F, class FE>
void update_mask(device_sparse_matrix<T, L>& W, const basic_device_tensor<S, SE>& scores,
                 double sparsity, Opt& opt, const basic_device_tensor<F, FE>& fill, stream s) {
  if (scores.shape() != W.shape())
    throw shape_error(stco::detail::message("stco::cuda::optim::update_mask<", L::name(),
                                            ">: scores ", scores.shape(),
                                            " do not match the weight ", W.shape()));
  auto e = select<L>(scores, sparsity, s);
  device_sparse_matrix<T, L> next = remap_plan<L>(W.entity_ptr(), e, s).apply(W, fill, s);
  opt.remap(W, e, s);
  W = std::move(next);
}
/// Without optimizer state.
template <class T, class L, class S, class SE>
void update_mask(device_sparse_matrix<T, L>& W, const basic_device_tensor<S, SE>& scores,
                 double sparsity, stream s) {
  detail::no_state none;
  update_mask(W, scores, sparsity, none, s);
}

}  // namespace stco::cuda::optim
