// stco/optim/cuda/sgd.cuh — SGD with momentum, weight decay and Nesterov on device values, the
// semantics of stco::optim::sgd (torch.optim.SGD with dampening 0) on a stream.
//
//     stco::cuda::optim::sgd opt{0.01f, 0.9f};
//     opt.step(Wd, dWd, s);        // Wd's compressed values in place; momentum shares its entity
//     opt.step(bd, dbd, s);
#pragma once

#include <cmath>
#include <memory>

#include "stco/core/error.hpp"
#include "stco/kernel/cuda/launch.cuh"
#include "stco/kernel/cuda/values.cuh"
#include "stco/optim/cuda/param.cuh"
#include "stco/optim/cuda/remap.cuh"
#include "stco/optim/cuda/updates.cuh"
#include "stco/optim/detail/state_map.hpp"

namespace stco::cuda::optim {

/// Per value, with g its gradient: g += weight_decay·w; buf = momentum·buf + g (buf = g on the
/// first step); g = nesterov ? g + momentum·buf : buf; w -= lr·g. The momentum buffer is a device
/// tensor of state_value_t<T> kept per parameter object; for a sparse weight it shares W's device
/// entity. Options are public and checked at every step; one step at a time per optimizer.
class sgd {
 public:
  float lr;
  float momentum;
  float weight_decay;
  bool nesterov;

  explicit sgd(float learning_rate, float momentum_factor = 0, float decay = 0,
               bool use_nesterov = false)
      : lr(learning_rate), momentum(momentum_factor), weight_decay(decay), nesterov(use_nesterov) {
    check();
  }

  /// argument_error naming the first invalid option.
  void check() const {
    constexpr const char* op = "stco::cuda::optim::sgd";
    if (!(lr > 0) || !std::isfinite(lr))
      throw argument_error(
          stco::detail::message(op, ": learning rate ", lr, " must be positive and finite"));
    if (!(momentum >= 0) || !std::isfinite(momentum))
      throw argument_error(
          stco::detail::message(op, ": momentum ", momentum, " must be non-negative and finite"));
    if (!(weight_decay >= 0) || !std::isfinite(weight_decay))
      throw argument_error(stco::detail::message(op, ": weight decay ", weight_decay,
                                                 " must be non-negative and finite"));
    if (nesterov && momentum == 0)
      throw argument_error(stco::detail::message(op, ": Nesterov momentum needs momentum > 0"));
  }

  /// Updates W's values from dW (which must share W's device entity), queued on `s`. shape_error
  /// if dW does not share W's entity or the buffer is over another one; W unchanged on a throw.
  template <class T, class L>
  void step(device_sparse_matrix<T, L>& W, const device_sparse_matrix<T, L>& dW, stream s) {
    step_param(W, dW, s);
  }
  /// Updates a dense device parameter (a bias) from its gradient of the same extents.
  template <class T, class Ext>
  void step(basic_device_tensor<T, Ext>& b, const basic_device_tensor<T, Ext>& db, stream s) {
    step_param(b, db, s);
  }

  /// Moves W's momentum buffer onto `new_entity` (same shape): kept-in-both positions keep their
  /// buffer, newly kept ones start at 0. Call before W itself is replaced (update_mask does).
  template <class T, class L>
  void remap(const device_sparse_matrix<T, L>& W,
             std::shared_ptr<const device_entity<L>> new_entity, stream s) {
    using P = device_sparse_matrix<T, L>;
    remap_plan<L>::check_target(W.entity_ptr().get(), new_entity.get());
    auto* st = states_.find_checked<state<P>>(&W, "stco::cuda::optim::sgd::remap");
    if (!st) return;
    detail::param<P>::check_state("stco::cuda::optim::sgd::remap", st->buf, W);
    const remap_plan<L> plan(W.entity_ptr(), std::move(new_entity), s);
    state<P> next{plan.apply(st->buf, s)};
    *st = std::move(next);
  }

  /// W's momentum buffer (sharing W's device entity), or nullptr before its first step.
  template <class T, class L>
  const device_sparse_matrix<state_value_t<T>, L>* momentum_of(
      const device_sparse_matrix<T, L>& W) const {
    const auto* st = states_.find<state<device_sparse_matrix<T, L>>>(&W);
    return st ? &st->buf : nullptr;
  }
  template <class T, class Ext>
  const basic_device_tensor<state_value_t<T>, Ext>* momentum_of(
      const basic_device_tensor<T, Ext>& b) const {
    const auto* st = states_.find<state<basic_device_tensor<T, Ext>>>(&b);
    return st ? &st->buf : nullptr;
  }

  template <class P>
  void forget(const P& param) noexcept {
    states_.erase(&param);
  }
  void clear() noexcept { states_.clear(); }
  std::size_t state_count() const noexcept { return states_.size(); }

 private:
  template <class P>
  struct state {
    typename detail::param<P>::template state_tensor<state_value_t<typename P::value_type>> buf;
  };

  template <class P>
  void step_param(P& w, const P& g, stream s) {
    using traits = detail::param<P>;
    using T = typename P::value_type;
    using S = state_value_t<T>;
    constexpr const char* op = "stco::cuda::optim::sgd::step";
    kernel::cuda::check_device_value_type<T>();
    check();
    traits::check_gradient(op, w, g);
    S* buf = nullptr;
    bool fresh = false;
    if (momentum != 0) {
      auto* st = states_.find_checked<state<P>>(&w, op);
      if (st) {
        traits::check_state(op, st->buf, w);
      } else {
        st = &states_.insert(
            &w, std::make_shared<state<P>>(state<P>{traits::template zeros_like<S>(w, s)}));
        fresh = true;
      }
      buf = traits::data(st->buf);
    }
    using body = detail::sgd_update<T>;
    const index_t n = traits::size(w);
    kernel::cuda::launch<body>(
        {ceil_div(n, body::threads), 1}, s,
        {traits::data(w), traits::data(g), buf, n, lr, momentum, weight_decay, nesterov, fresh});
  }

  stco::optim::detail::state_map states_;
};

}  // namespace stco::cuda::optim
