// stco/optim/mask_update.hpp — re-pruning during training (dynamic masks: SR-STE, regrowth). The
// only step of the address-carry flow that builds a new index entity: a new pattern is selected
// from scores, and the weight and its optimizer state are carried onto it together.
#pragma once

#include <cmath>
#include <memory>
#include <type_traits>
#include <utility>

#include "stco/core/error.hpp"
#include "stco/core/tensor.hpp"
#include "stco/core/value_traits.hpp"
#include "stco/layout/prune.hpp"
#include "stco/layout/sparse_matrix.hpp"
#include "stco/optim/remap.hpp"

namespace stco::optim {

/// |w| of a dense [R, K] matrix (tensor or view), the plain magnitude criterion.
template <class W>
tensor<double, 2> magnitude_scores(const W& w) {
  const auto v = stco::detail::as_const_matrix(w);
  tensor<double, 2> s(dextents<2>(v.extent(0), v.extent(1)));
  for (index_t i = 0; i < v.size(); ++i) s[i] = std::fabs(to_double(v[i]));
  return s;
}

/// |w| + λ·|g| of a dense weight and its dense gradient (same shape): magnitude with a gradient
/// term, so that pruned positions whose gradient is large can regrow. argument_error unless λ is
/// finite and ≥ 0; shape_error if the shapes differ.
template <class W, class G>
tensor<double, 2> magnitude_gradient_scores(const W& w, const G& grad, double lambda) {
  const auto v = stco::detail::as_const_matrix(w);
  const auto g = stco::detail::as_const_matrix(grad);
  if (g.shape() != v.shape())
    throw shape_error(stco::detail::message("stco::optim::magnitude_gradient_scores: gradient ",
                                            g.shape(), " does not match the weight ", v.shape()));
  if (!(lambda >= 0) || !std::isfinite(lambda))
    throw argument_error(stco::detail::message("stco::optim::magnitude_gradient_scores: lambda ",
                                               lambda, " must be non-negative and finite"));
  tensor<double, 2> s(dextents<2>(v.extent(0), v.extent(1)));
  for (index_t i = 0; i < v.size(); ++i)
    s[i] = std::fabs(to_double(v[i])) + lambda * std::fabs(to_double(g[i]));
  return s;
}

/// A new index entity for W's layout and shape keeping the highest `scores` ([R, K], any value
/// type; aggregated per unit of the layout as prune does) at `sparsity`. W is not changed.
/// shape_error if the scores' shape differs from W's, argument_error for a sparsity the layout
/// does not accept or a NaN score.
template <class T, class L, class S>
std::shared_ptr<const typename L::entity> reselect(const sparse_matrix<T, L>& W, const S& scores,
                                                   double sparsity) {
  const auto sc = stco::detail::as_const_matrix(scores);
  if (sc.shape() != W.shape())
    throw shape_error(stco::detail::message("stco::optim::reselect<", L::name(), ">: scores ",
                                            sc.shape(), " do not match the weight ", W.shape()));
  stco::detail::check_sparsity<L>(sparsity, "optim::reselect");
  tensor<double, 2> s(dextents<2>(sc.extent(0), sc.extent(1)));
  for (index_t i = 0; i < sc.size(); ++i) {
    s[i] = to_double(sc[i]);
    if (std::isnan(s[i]))
      throw argument_error(stco::detail::message("stco::optim::reselect<", L::name(),
                                                 ">: score at (", i / sc.extent(1), ", ",
                                                 i % sc.extent(1), ") is NaN"));
  }
  return L::select(s.view(), sparsity);
}

namespace detail {
template <class F, class = void>
struct is_matrix_like : std::false_type {};
template <class F>
struct is_matrix_like<
    F, std::void_t<decltype(stco::detail::as_const_matrix(std::declval<const F&>()))>>
    : std::true_type {};

/// Stands in for "no optimizer": nothing to remap.
struct no_state {
  template <class W, class E>
  void remap(const W&, const E&) noexcept {}
};

template <class T, class L, class S, class Opt, class Fill>
void update_mask(sparse_matrix<T, L>& W, const S& scores, double sparsity, Opt& opt,
                 const Fill* fill) {
  // Everything that can throw builds new objects; W and the optimizer change only at the end,
  // the optimizer by its own strong-guarantee remap, W by a move that cannot throw.
  static_assert(std::is_nothrow_move_assignable_v<sparse_matrix<T, L>>,
                "stco::optim::update_mask relies on a non-throwing move of sparse_matrix");
  auto e = reselect(W, scores, sparsity);
  sparse_matrix<T, L> next = fill ? remap(W, e, *fill) : remap(W, e);
  opt.remap(W, e);
  W = std::move(next);
}
}  // namespace detail

/// Re-prunes W: selects a new pattern from `scores` at `sparsity` (see reselect), carries W's
/// values onto it (positions kept in both patterns keep their values, newly kept ones start at 0)
/// and has `opt` carry W's state the same way (`opt.remap(W, new_entity)`: sgd, adam and adamw
/// provide it). Afterwards W, its new gradients and the state share the new entity. Strong
/// guarantee: on any throw W and the optimizer are unchanged.
///
///     auto scores = stco::optim::magnitude_gradient_scores(W_dense, dW_dense, 0.1);
///     stco::optim::update_mask(W, scores, 0.5, opt);
template <class T, class L, class S, class Opt,
          std::enable_if_t<!detail::is_matrix_like<Opt>::value, int> = 0>
void update_mask(sparse_matrix<T, L>& W, const S& scores, double sparsity, Opt& opt) {
  detail::update_mask(W, scores, sparsity, opt, static_cast<const tensor<T, 2>*>(nullptr));
}

/// As above, with newly kept positions taken from the dense [R, K] matrix `fill` (a tensor or
/// view; e.g. the dense weight SR-STE keeps) instead of 0. Their optimizer state starts at 0.
template <class T, class L, class S, class Opt, class F>
void update_mask(sparse_matrix<T, L>& W, const S& scores, double sparsity, Opt& opt,
                 const F& fill) {
  static_assert(detail::is_matrix_like<F>::value,
                "stco::optim::update_mask: fill must be a dense matrix (stco::tensor or view)");
  detail::update_mask(W, scores, sparsity, opt, &fill);
}

/// Re-prunes W without optimizer state (see above); newly kept positions start at 0.
template <class T, class L, class S>
void update_mask(sparse_matrix<T, L>& W, const S& scores, double sparsity) {
  detail::no_state none;
  update_mask(W, scores, sparsity, none);
}

/// Re-prunes W without optimizer state, newly kept positions taken from `fill`.
template <class T, class L, class S, class F,
          std::enable_if_t<detail::is_matrix_like<F>::value, int> = 0>
void update_mask(sparse_matrix<T, L>& W, const S& scores, double sparsity, const F& fill) {
  detail::no_state none;
  detail::update_mask(W, scores, sparsity, none, &fill);
}

}  // namespace stco::optim
