// stco/layout/prune.hpp — magnitude pruning (or pruning by caller-given scores) into any layout.
#pragma once

#include <cmath>

#include "stco/core/error.hpp"
#include "stco/core/tensor.hpp"
#include "stco/core/value_traits.hpp"
#include "stco/layout/gather.hpp"

namespace stco {

namespace detail {
template <class Layout>
void check_sparsity(double s, const char* op) {
  constexpr double eps = 1e-9;
  if (!(s >= Layout::min_sparsity - eps && s <= Layout::max_sparsity + eps)) {
    if (Layout::min_sparsity == Layout::max_sparsity)
      throw argument_error(message("stco::", op, "<", Layout::name(), ">: the sparsity of ",
                                   Layout::name(), " is fixed at ", Layout::min_sparsity, "; got ",
                                   s));
    throw argument_error(message("stco::", op, "<", Layout::name(), ">: sparsity ", s, " outside [",
                                 Layout::min_sparsity, ", ", Layout::max_sparsity, "]"));
  }
}

/// |x| (or x itself for scores) as double, refusing NaN with the position in the message.
template <class Layout, class T, bool Abs>
tensor<double, 2> score_matrix(matrix_view<const T> x, const char* what) {
  tensor<double, 2> s(dextents<2>(x.extent(0), x.extent(1)));
  for (index_t i = 0; i < x.size(); ++i) {
    const double d = to_double(x[i]);
    if (std::isnan(d))
      throw argument_error(message("stco::prune<", Layout::name(), ">: ", what, " at (",
                                   i / x.extent(1), ", ", i % x.extent(1), ") is NaN"));
    s[i] = Abs ? std::fabs(d) : d;
  }
  return s;
}
}  // namespace detail

/// Prunes the dense matrix `w` ([R, K], a tensor or view) into `Layout` by magnitude: within each
/// unit of the layout (group, tile, block, row, the whole matrix) the largest-|w| entries are kept,
/// ties going to the lower index. `sparsity` is the share of entries removed (fixed for nm/dense).
///
///     auto W = stco::prune<stco::nm<2, 4>>(W_dense);
///     auto B = stco::prune<stco::block<4, 4>>(W_dense, 0.75);
template <class Layout, class W>
auto prune(const W& w, double sparsity = Layout::default_sparsity) {
  static_assert(is_layout_v<Layout>, "stco::prune: the first template argument must be a layout");
  auto v = detail::as_const_matrix(w);
  using T = typename decltype(v)::value_type;
  detail::check_sparsity<Layout>(sparsity, "prune");
  const auto s = detail::score_matrix<Layout, T, true>(v, "weight");
  return gather<T>(
      v, detail::allocating(detail::message("stco::prune<", Layout::name(), ">: ", v.shape()),
                            [&] { return Layout::select(s.view(), sparsity); }));
}

/// Prunes `w` keeping the entries with the largest `scores` (same shape as w; e.g. |w|·|grad|),
/// aggregated per unit of the layout as the magnitudes are. Values come from `w`.
template <class Layout, class W, class S>
auto prune(const W& w, const S& scores, double sparsity = Layout::default_sparsity) {
  static_assert(is_layout_v<Layout>, "stco::prune: the first template argument must be a layout");
  auto v = detail::as_const_matrix(w);
  auto sc = detail::as_const_matrix(scores);
  using T = typename decltype(v)::value_type;
  using U = typename decltype(sc)::value_type;
  if (sc.shape() != v.shape())
    throw shape_error(detail::message("stco::prune<", Layout::name(), ">: scores ", sc.shape(),
                                      " do not match the weight ", v.shape()));
  detail::check_sparsity<Layout>(sparsity, "prune");
  const auto s = detail::score_matrix<Layout, U, false>(sc, "score");
  return gather<T>(
      v, detail::allocating(detail::message("stco::prune<", Layout::name(), ">: ", v.shape()),
                            [&] { return Layout::select(s.view(), sparsity); }));
}

}  // namespace stco
