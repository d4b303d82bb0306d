// stco/optim/cuda/adam.cuh — Adam and AdamW on device values, the semantics of
// stco::optim::basic_adam (torch.optim.Adam / AdamW without amsgrad) on a stream.
//
//     stco::cuda::optim::adamw opt{1e-3f};
//     opt.step(Wd, dWd, s);
#pragma once

#include <cmath>
#include <memory>

#include "stco/core/error.hpp"
#include "stco/kernel/cuda/launch.cuh"
#include "stco/optim/cuda/param.cuh"
#include "stco/optim/cuda/remap.cuh"
#include "stco/optim/cuda/updates.cuh"
#include "stco/optim/detail/state_map.hpp"

namespace stco::cuda::optim {

/// Per value: (Adam) g += wd·w or (AdamW) w *= 1 − lr·wd; m += (1 − β1)(g − m);
/// v = β2·v + (1 − β2)·g²; w -= lr/(1 − β1^t) · m / (√v/√(1 − β2^t) + eps), skipped where m = 0.
/// Moments are device tensors of state_value_t<T> per parameter (sharing a sparse weight's device
/// entity), plus the step count.
template <bool Decoupled>
class basic_adam {
 public:
  float lr;
  float beta1;
  float beta2;
  float eps;
  float weight_decay;

  explicit basic_adam(float learning_rate = 1e-3f, float b1 = 0.9f, float b2 = 0.999f,
                      float epsilon = 1e-8f, float decay = Decoupled ? 1e-2f : 0.0f)
      : lr(learning_rate), beta1(b1), beta2(b2), eps(epsilon), weight_decay(decay) {
    check();
  }

  static constexpr const char* name() {
    return Decoupled ? "stco::cuda::optim::adamw" : "stco::cuda::optim::adam";
  }

  void check() const {
    if (!(lr > 0) || !std::isfinite(lr))
      throw argument_error(
          stco::detail::message(name(), ": learning rate ", lr, " must be positive and finite"));
    if (!(beta1 >= 0 && beta1 < 1))
      throw argument_error(stco::detail::message(name(), ": beta1 ", beta1, " outside [0, 1)"));
    if (!(beta2 >= 0 && beta2 < 1))
      throw argument_error(stco::detail::message(name(), ": beta2 ", beta2, " outside [0, 1)"));
    if (!(eps >= 0) || !std::isfinite(eps))
      throw argument_error(
          stco::detail::message(name(), ": eps ", eps, " must be non-negative and finite"));
    if (!(weight_decay >= 0) || !std::isfinite(weight_decay))
      throw argument_error(stco::detail::message(name(), ": weight decay ", weight_decay,
                                                 " must be non-negative and finite"));
  }

  template <class T, class L>
  void step(device_sparse_matrix<T, L>& W, const device_sparse_matrix<T, L>& dW, stream s) {
    step_param(W, dW, s);
  }
  template <class T, class Ext>
  void step(basic_device_tensor<T, Ext>& b, const basic_device_tensor<T, Ext>& db, stream s) {
    step_param(b, db, s);
  }

  /// Moves W's moments onto `new_entity`; the step count carries on.
  template <class T, class L>
  void remap(const device_sparse_matrix<T, L>& W,
             std::shared_ptr<const device_entity<L>> new_entity, stream s) {
    using P = device_sparse_matrix<T, L>;
    remap_plan<L>::check_target(W.entity_ptr().get(), new_entity.get());
    auto* st = states_.template find_checked<state<P>>(&W, name());
    if (!st) return;
    detail::param<P>::check_state(name(), st->m, W);
    const remap_plan<L> plan(W.entity_ptr(), std::move(new_entity), s);
    state<P> next{plan.apply(st->m, s), plan.apply(st->v, s), st->t};
    *st = std::move(next);
  }

  template <class P>
  const auto* first_moment_of(const P& param) const {
    const auto* st = states_.template find<state<P>>(&param);
    return st ? &st->m : nullptr;
  }
  template <class P>
  const auto* second_moment_of(const P& param) const {
    const auto* st = states_.template find<state<P>>(&param);
    return st ? &st->v : nullptr;
  }
  template <class P>
  index_t step_count(const P& param) const {
    const auto* st = states_.template find<state<P>>(&param);
    return st ? st->t : 0;
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
    using tensor_type =
        typename detail::param<P>::template state_tensor<state_value_t<typename P::value_type>>;
    tensor_type m, v;
    index_t t = 0;
  };

  template <class P>
  void step_param(P& w, const P& g, stream s) {
    using traits = detail::param<P>;
    using T = typename P::value_type;
    using S = state_value_t<T>;
    kernel::cuda::check_device_value_type<T>();
    check();
    traits::check_gradient(name(), w, g);
    auto* st = states_.template find_checked<state<P>>(&w, name());
    if (st) {
      traits::check_state(name(), st->m, w);
    } else {
      st = &states_.insert(
          &w, std::make_shared<state<P>>(state<P>{traits::template zeros_like<S>(w, s),
                                                  traits::template zeros_like<S>(w, s), 0}));
    }
    ++st->t;
    const double rate = lr, b1 = beta1, b2 = beta2;
    const double t = static_cast<double>(st->t);
    using body = detail::adam_update<T, Decoupled>;
    const index_t n = traits::size(w);
    const typename body::params p{traits::data(w),
                                  traits::data(g),
                                  traits::data(st->m),
                                  traits::data(st->v),
                                  n,
                                  static_cast<float>(rate / (1.0 - std::pow(b1, t))),
                                  static_cast<float>(std::sqrt(1.0 - std::pow(b2, t))),
                                  static_cast<float>(1.0 - rate * weight_decay),
                                  weight_decay,
                                  static_cast<float>(1.0 - b1),
                                  static_cast<float>(1.0 - b2),
                                  static_cast<float>(b2),
                                  eps};
    kernel::cuda::launch<body>({ceil_div(n, body::threads), 1}, s, p);
  }

  stco::optim::detail::state_map states_;
};

using adam = basic_adam<false>;
using adamw = basic_adam<true>;

}  // namespace stco::cuda::optim
