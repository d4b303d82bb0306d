// stco/nn/pruning.hpp — when and how a model's prunable layers are pruned during training.
//
//   one_shot(at, s)                   train dense until step `at`, then prune every prunable layer
//                                     by magnitude into its layout at sparsity s
//   gradual(begin, end, every, s0, s) raise the sparsity from s0 to s over steps [begin, end],
//                                     every `every` steps, on the cubic ramp of Zhu & Gupta (2017):
//                                     s_t = s + (s0 − s)·(1 − (t − begin)/(end − begin))³
//   .with_mask_updates(every, until, rule)
//                                     after pruning is complete, re-select each mask every `every`
//                                     steps until step `until` by `rule` (magnitude, regrowth by
//                                     gradient magnitude, or SR-STE-style decay), carrying values
//                                     and optimizer state onto the new index entity
//
// A layout's sparsity is clamped into what it accepts; a layout with one fixed sparsity (nm<N,M>)
// is pruned once, when the ramp first reaches it. Steps count optimizer steps from 0. Call
// before_backward(model, t) before the backward pass of step t (it asks for the dense weight
// gradient only when a mask update needing it runs at t) and after_step(model, t, opt) after the
// optimizer step.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include "stco/nn/sequential.hpp"

namespace stco::nn {

class pruning_schedule {
 public:
  /// No pruning (the model stays as built).
  pruning_schedule() = default;

  static pruning_schedule one_shot(index_t at_step, double sparsity) {
    check_sparsity(sparsity, "one_shot");
    if (at_step < 0)
      throw argument_error(
          stco::detail::message("stco::nn::pruning_schedule::one_shot: step ", at_step, " < 0"));
    pruning_schedule p;
    p.begin_ = p.end_ = at_step;
    p.every_ = 1;
    p.s0_ = p.s_ = sparsity;
    p.active_ = true;
    return p;
  }

  static pruning_schedule gradual(index_t begin, index_t end, index_t every, double s0, double s) {
    check_sparsity(s0, "gradual");
    check_sparsity(s, "gradual");
    if (begin < 0 || end < begin || every < 1 || s0 > s)
      throw argument_error(stco::detail::message(
          "stco::nn::pruning_schedule::gradual: steps [", begin, ", ", end, "] every ", every,
          ", sparsity ", s0, " → ", s, " (need 0 ≤ begin ≤ end, every ≥ 1, s0 ≤ s)"));
    pruning_schedule p;
    p.begin_ = begin, p.end_ = end, p.every_ = every, p.s0_ = s0, p.s_ = s;
    p.active_ = true;
    return p;
  }

  /// Adds periodic mask updates after the pruning phase: at steps end + every, end + 2·every, …
  /// up to `until`.
  pruning_schedule& with_mask_updates(index_t every, index_t until, mask_rule rule) {
    if (!active_ || every < 1)
      throw argument_error(
          stco::detail::message("stco::nn::pruning_schedule::with_mask_updates: every ", every,
                                " (need ≥ 1, and a pruning phase first)"));
    update_every_ = every;
    update_until_ = until;
    rule_ = rule;
    rule_.interval = every;
    return *this;
  }

  bool active() const noexcept { return active_; }
  double final_sparsity() const noexcept { return s_; }
  index_t pruning_begins() const noexcept { return begin_; }
  index_t pruning_ends() const noexcept { return end_; }
  const mask_rule& mask_update_rule() const noexcept { return rule_; }

  /// The ramp's target sparsity after step t (0 before the pruning phase).
  double target(index_t t) const {
    if (!active_ || t < begin_) return 0.0;
    if (t >= end_ || end_ == begin_) return s_;
    const double f = 1.0 - static_cast<double>(t - begin_) / static_cast<double>(end_ - begin_);
    return s_ + (s0_ - s_) * f * f * f;
  }
  /// Whether step t prunes (a ramp point) or updates masks.
  bool prunes_at(index_t t) const {
    return active_ && t >= begin_ && t <= end_ && ((t - begin_) % every_ == 0 || t == end_);
  }
  bool updates_mask_at(index_t t) const {
    return active_ && update_every_ > 0 && t > end_ && t <= update_until_ &&
           (t - end_) % update_every_ == 0;
  }

  template <class T, class B>
  void before_backward(Sequential<T, B>& model, index_t t) const {
    const bool want = updates_mask_at(t) && rule_.needs_dense_grad();
    for (auto& [i, p] : model.prunable_layers()) p->request_dense_grad(want && p->is_pruned());
  }

  /// Applies the schedule after optimizer step t; returns what it did ("" if nothing).
  template <class T, class B>
  std::string after_step(Sequential<T, B>& model, index_t t, typename B::optimizer& opt) const {
    std::string did;
    if (prunes_at(t)) {
      const double s = target(t);
      int n = 0;
      for (auto& [i, p] : model.prunable_layers()) {
        const double lo = p->min_sparsity(), hi = p->max_sparsity();
        if (lo == hi) {
          if (!p->is_pruned() && s + 1e-9 >= lo) p->prune(lo, opt), ++n;
        } else {
          const double want = std::clamp(s, lo, hi);
          if (!p->is_pruned() || want > p->sparsity() + 1e-9) p->prune(want, opt), ++n;
        }
      }
      if (n) did = stco::detail::message("pruned ", n, " layer(s) toward sparsity ", s);
    }
    if (updates_mask_at(t)) {
      int n = 0;
      for (auto& [i, p] : model.prunable_layers()) {
        if (!p->is_pruned()) continue;
        p->update_mask(rule_, std::clamp(s_, p->min_sparsity(), p->max_sparsity()), opt);
        p->request_dense_grad(false);
        ++n;
      }
      if (n) did = stco::detail::message("updated ", n, " mask(s) (", rule_.name(), ")");
    }
    return did;
  }

 private:
  static void check_sparsity(double s, const char* op) {
    if (!(s >= 0 && s < 1))
      throw argument_error(stco::detail::message("stco::nn::pruning_schedule::", op, ": sparsity ",
                                                 s, " outside [0, 1)"));
  }

  bool active_ = false;
  index_t begin_ = 0, end_ = 0, every_ = 1;
  double s0_ = 0, s_ = 0;
  index_t update_every_ = 0, update_until_ = -1;
  mask_rule rule_{};
};

}  // namespace stco::nn
