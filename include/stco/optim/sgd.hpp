// stco/optim/sgd.hpp — stochastic gradient descent with momentum, weight decay and Nesterov
// momentum (PyTorch's torch.optim.SGD with dampening 0), updating compressed values in place.
#pragma once

#include <cmath>
#include <memory>
#include <type_traits>

#include "stco/core/error.hpp"
#include "stco/core/tensor.hpp"
#include "stco/layout/sparse_matrix.hpp"
#include "stco/optim/detail/param.hpp"
#include "stco/optim/detail/state_map.hpp"
#include "stco/optim/remap.hpp"

namespace stco::optim {

/// SGD as PyTorch's torch.optim.SGD with dampening 0. Per value, with g its gradient:
///
///     g   += weight_decay · w
///     buf  = momentum · buf + g          (buf = g on a parameter's first step)
///     g    = nesterov ? g + momentum · buf : buf
///     w   -= lr · g
///
/// `step(W, dW)` updates a sparse weight's compressed values in place; dW must share W's index
/// entity (the weight gradient of an expression does). `step(b, db)` updates a dense parameter
/// (a bias). Arithmetic and the momentum buffer use state_value_t<T> (float for half and
/// bfloat16). The buffer is kept per parameter object, by address; for a sparse weight it is a
/// sparse_matrix sharing W's entity. A weight whose mask changes must go through update_mask (or
/// this optimizer's remap) so that the buffer follows it. Padding slots stay zero: their weight
/// and gradient are zero, so is every term of the update.
///
/// The options are public and may change between steps (a learning-rate schedule); every step
/// checks them. Not thread-safe: one step at a time per optimizer.
///
///     stco::optim::sgd opt{0.01f, 0.9f};
///     opt.step(W, dW);
///     opt.step(b, db);
class sgd {
 public:
  float lr;
  float momentum;
  float weight_decay;
  bool nesterov;

  /// argument_error unless lr > 0, momentum ≥ 0, weight_decay ≥ 0 (all finite) and, with
  /// nesterov, momentum > 0.
  explicit sgd(float learning_rate, float momentum_factor = 0, float decay = 0,
               bool use_nesterov = false)
      : lr(learning_rate), momentum(momentum_factor), weight_decay(decay), nesterov(use_nesterov) {
    check();
  }

  /// Throws argument_error naming the first invalid option.
  void check() const {
    constexpr const char* op = "stco::optim::sgd";
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

  /// Updates W's compressed values from dW (over W's entity). shape_error if dW does not share
  /// W's entity or the momentum buffer is over another entity; W is unchanged on any throw.
  template <class T, class L>
  void step(sparse_matrix<T, L>& W, const sparse_matrix<T, L>& dW) {
    step_param(W, dW);
  }
  /// Updates a dense parameter (a bias) from its gradient of the same extents.
  template <class T, class Ext>
  void step(basic_tensor<T, Ext>& b, const basic_tensor<T, Ext>& db) {
    step_param(b, db);
  }

  /// Moves W's momentum buffer onto `new_entity` (same shape): kept-in-both positions keep their
  /// buffer, newly kept ones start at 0. Call before W itself is replaced (update_mask does).
  /// Strong guarantee. Does nothing but check the arguments when W has no buffer yet.
  template <class T, class L>
  void remap(const sparse_matrix<T, L>& W, std::shared_ptr<const typename L::entity> new_entity) {
    using P = sparse_matrix<T, L>;
    remap_plan<L>::check_target(W.entity_ptr().get(), new_entity.get());
    auto* st = states_.find_checked<state<P>>(&W, "stco::optim::sgd::remap");
    if (!st) return;
    detail::param<P>::check_state("stco::optim::sgd::remap", st->buf, W);
    const remap_plan<L> plan(W.entity_ptr(), std::move(new_entity));
    state<P> next{plan.apply(st->buf)};
    *st = std::move(next);
  }

  /// W's momentum buffer (sharing W's entity), or nullptr before W's first step with momentum.
  template <class T, class L>
  const sparse_matrix<state_value_t<T>, L>* momentum_of(const sparse_matrix<T, L>& W) const {
    const auto* st = states_.find<state<sparse_matrix<T, L>>>(&W);
    return st ? &st->buf : nullptr;
  }
  /// b's momentum buffer, or nullptr.
  template <class T, class Ext>
  const basic_tensor<state_value_t<T>, Ext>* momentum_of(const basic_tensor<T, Ext>& b) const {
    const auto* st = states_.find<state<basic_tensor<T, Ext>>>(&b);
    return st ? &st->buf : nullptr;
  }

  /// Drops the state of one parameter (before destroying it, or to restart its momentum).
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
    typename detail::param<P>::template state_tensor<state_value_t<typename P::value_type>> buf;
  };

  template <class P>
  void step_param(P& w, const P& g) {
    using traits = detail::param<P>;
    using T = typename P::value_type;
    using S = state_value_t<T>;
    constexpr const char* op = "stco::optim::sgd::step";
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
            &w, std::make_shared<state<P>>(state<P>{traits::template zeros_like<S>(w)}));
        fresh = true;
      }
      buf = traits::data(st->buf);
    }
    // Nothing below throws: W changes only once every check has passed.
    update(traits::data(w), traits::data(g), buf, traits::size(w), fresh);
  }

  template <class T, class S>
  void update(T* w, const T* g, S* buf, index_t n, bool fresh) const noexcept {
    const S rate = static_cast<S>(lr), mu = static_cast<S>(momentum),
            wd = static_cast<S>(weight_decay);
    for (index_t i = 0; i < n; ++i) {
      S wi = static_cast<S>(w[i]);
      S gi = static_cast<S>(g[i]);
      if (wd != 0) gi += wd * wi;
      if (buf) {
        buf[i] = fresh ? gi : mu * buf[i] + gi;
        gi = nesterov ? gi + mu * buf[i] : buf[i];
      }
      wi -= rate * gi;
      w[i] = static_cast<T>(wi);
    }
  }

  detail::state_map states_;
};

}  // namespace stco::optim
