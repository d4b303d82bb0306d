// stco/optim/adam.hpp — Adam (L2 weight decay) and AdamW (decoupled weight decay), PyTorch's
// torch.optim.Adam / AdamW without amsgrad, updating compressed values in place.
#pragma once

#include <cmath>
#include <memory>

#include "stco/core/error.hpp"
#include "stco/core/tensor.hpp"
#include "stco/layout/sparse_matrix.hpp"
#include "stco/optim/detail/param.hpp"
#include "stco/optim/detail/state_map.hpp"
#include "stco/optim/remap.hpp"

namespace stco::optim {

/// Adam with bias correction, as PyTorch's torch.optim.Adam (Decoupled = false) and AdamW
/// (Decoupled = true). Per value, with g its gradient and t the parameter's step count:
///
///     Adam:  g += weight_decay · w           AdamW:  w *= 1 − lr · weight_decay
///     m  = m + (1 − β1) · (g − m)
///     v  = β2 · v + (1 − β2) · g²
///     w -= lr / (1 − β1^t) · m / (√v / √(1 − β2^t) + eps)
///
/// Use the aliases `adam` and `adamw`. Parameters, state and sharing as for sgd: the moments are
/// tensors of state_value_t<T> kept per parameter object (for a sparse weight, sharing W's
/// entity), plus the step count. Where m is exactly 0 the last line is skipped: the update is 0
/// there anyway for eps > 0, and with eps = 0 it keeps padding slots (and values whose gradient
/// has always been 0) at their value instead of 0/0. The options are public and checked at every
/// step.
///
///     stco::optim::adamw opt{1e-3f};
///     opt.step(W, dW);
template <bool Decoupled>
class basic_adam {
 public:
  float lr;
  float beta1;
  float beta2;
  float eps;
  float weight_decay;

  /// argument_error unless lr > 0, 0 ≤ β1, β2 < 1, eps ≥ 0 and weight_decay ≥ 0 (all finite).
  /// weight_decay defaults to PyTorch's: 0 for Adam, 0.01 for AdamW.
  explicit basic_adam(float learning_rate = 1e-3f, float b1 = 0.9f, float b2 = 0.999f,
                      float epsilon = 1e-8f, float decay = Decoupled ? 1e-2f : 0.0f)
      : lr(learning_rate), beta1(b1), beta2(b2), eps(epsilon), weight_decay(decay) {
    check();
  }

  static constexpr const char* name() {
    return Decoupled ? "stco::optim::adamw" : "stco::optim::adam";
  }

  /// Throws argument_error naming the first invalid option.
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

  /// Updates W's compressed values from dW (over W's entity). shape_error if dW does not share
  /// W's entity or the moments are over another entity; W is unchanged on any throw.
  template <class T, class L>
  void step(sparse_matrix<T, L>& W, const sparse_matrix<T, L>& dW) {
    step_param(W, dW);
  }
  /// Updates a dense parameter (a bias) from its gradient of the same extents.
  template <class T, class Ext>
  void step(basic_tensor<T, Ext>& b, const basic_tensor<T, Ext>& db) {
    step_param(b, db);
  }

  /// Moves W's moments onto `new_entity` (same shape): kept-in-both positions keep theirs, newly
  /// kept ones start at 0; the step count carries on. Call before W itself is replaced
  /// (update_mask does). Strong guarantee. Does nothing but check the arguments when W has no
  /// state yet.
  template <class T, class L>
  void remap(const sparse_matrix<T, L>& W, std::shared_ptr<const typename L::entity> new_entity) {
    using P = sparse_matrix<T, L>;
    remap_plan<L>::check_target(W.entity_ptr().get(), new_entity.get());
    auto* st = states_.template find_checked<state<P>>(&W, name());
    if (!st) return;
    detail::param<P>::check_state(name(), st->m, W);
    const remap_plan<L> plan(W.entity_ptr(), std::move(new_entity));
    state<P> next{plan.apply(st->m), plan.apply(st->v), st->t};
    *st = std::move(next);
  }

  /// W's first moment m (sharing W's entity), or nullptr before W's first step.
  template <class T, class L>
  const sparse_matrix<state_value_t<T>, L>* first_moment_of(const sparse_matrix<T, L>& W) const {
    const auto* st = find(W);
    return st ? &st->m : nullptr;
  }
  /// W's second moment v (sharing W's entity), or nullptr before W's first step.
  template <class T, class L>
  const sparse_matrix<state_value_t<T>, L>* second_moment_of(const sparse_matrix<T, L>& W) const {
    const auto* st = find(W);
    return st ? &st->v : nullptr;
  }
  template <class T, class Ext>
  const basic_tensor<state_value_t<T>, Ext>* first_moment_of(const basic_tensor<T, Ext>& b) const {
    const auto* st = find(b);
    return st ? &st->m : nullptr;
  }
  template <class T, class Ext>
  const basic_tensor<state_value_t<T>, Ext>* second_moment_of(const basic_tensor<T, Ext>& b) const {
    const auto* st = find(b);
    return st ? &st->v : nullptr;
  }
  /// Steps taken on `param` (0 before its first).
  template <class P>
  index_t step_count(const P& param) const {
    const auto* st = find(param);
    return st ? st->t : 0;
  }

  /// Drops the state of one parameter (before destroying it, or to restart its moments).
  template <class P>
  void forget(const P& param) noexcept {
    states_.erase(&param);
  }
  /// Drops all state.
  void clear() noexcept { states_.clear(); }
  /// Parameters with state.
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
  const state<P>* find(const P& param) const {
    return states_.template find<state<P>>(&param);
  }

  template <class P>
  void step_param(P& w, const P& g) {
    using traits = detail::param<P>;
    using S = state_value_t<typename P::value_type>;
    check();
    traits::check_gradient(name(), w, g);
    auto* st = states_.template find_checked<state<P>>(&w, name());
    if (st) {
      traits::check_state(name(), st->m, w);
    } else {
      st = &states_.insert(
          &w, std::make_shared<state<P>>(state<P>{traits::template zeros_like<S>(w),
                                                  traits::template zeros_like<S>(w), 0}));
    }
    // Nothing below throws: W and the state change only once every check has passed.
    ++st->t;
    update(traits::data(w), traits::data(g), traits::data(st->m), traits::data(st->v),
           traits::size(w), st->t);
  }

  template <class T, class S>
  void update(T* w, const T* g, S* m, S* v, index_t n, index_t t) const noexcept {
    // Scalars in double, as PyTorch computes them in Python, then rounded to S once.
    const double rate = lr, b1 = beta1, b2 = beta2;
    const S step_size = static_cast<S>(rate / (1.0 - std::pow(b1, static_cast<double>(t))));
    const S bc2_sqrt = static_cast<S>(std::sqrt(1.0 - std::pow(b2, static_cast<double>(t))));
    const S decay = static_cast<S>(1.0 - rate * weight_decay);
    const S wd = static_cast<S>(weight_decay), one_minus_b1 = static_cast<S>(1.0 - b1),
            one_minus_b2 = static_cast<S>(1.0 - b2), beta2_s = static_cast<S>(b2),
            eps_s = static_cast<S>(eps);
    for (index_t i = 0; i < n; ++i) {
      S wi = static_cast<S>(w[i]);
      S gi = static_cast<S>(g[i]);
      if constexpr (Decoupled) {
        if (wd != 0) wi *= decay;
      } else {
        if (wd != 0) gi += wd * wi;
      }
      m[i] += one_minus_b1 * (gi - m[i]);
      v[i] = beta2_s * v[i] + one_minus_b2 * gi * gi;
      if (m[i] != 0) wi -= step_size * m[i] / (std::sqrt(v[i]) / bc2_sqrt + eps_s);
      w[i] = static_cast<T>(wi);
    }
  }

  detail::state_map states_;
};

/// Adam with L2 weight decay added to the gradient (torch.optim.Adam).
using adam = basic_adam<false>;
/// Adam with decoupled weight decay (torch.optim.AdamW).
using adamw = basic_adam<true>;

}  // namespace stco::optim
