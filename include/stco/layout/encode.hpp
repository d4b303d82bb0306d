// stco/layout/encode.hpp — encoding a dense matrix that already satisfies a layout's pattern.
#pragma once

#include <memory>
#include <vector>

#include "stco/core/error.hpp"
#include "stco/core/tensor.hpp"
#include "stco/core/value_traits.hpp"
#include "stco/layout/gather.hpp"

namespace stco {

/// Encodes `w` into `Layout` with the pattern of its nonzeros. Throws pattern_error naming the
/// first group or tile that the layout cannot hold (e.g. three nonzeros in a 2:4 group), and only
/// when no pattern of the layout holds them (tile_vector tries every choice of kept columns).
template <class Layout, class W>
auto encode(const W& w) {
  static_assert(is_layout_v<Layout>, "stco::encode: the first template argument must be a layout");
  auto v = detail::as_const_matrix(w);
  using T = typename decltype(v)::value_type;
  return gather<T>(
      v, detail::allocating(detail::message("stco::encode<", Layout::name(), ">: ", v.shape()),
                            [&] { return Layout::template infer<T>(v); }));
}

/// Encodes `w` into an existing pattern `e` (address carrying: a gradient or a re-encoded weight
/// keeps its entity). Throws pattern_error naming the first nonzero of `w` outside the pattern.
template <class W, class E>
auto encode(const W& w, std::shared_ptr<const E> e) {
  using Layout = typename E::layout_type;
  auto v = detail::as_const_matrix(w);
  using T = typename decltype(v)::value_type;
  if (!e)
    throw argument_error(detail::message("stco::encode<", Layout::name(), ">: null index entity"));
  const matrix_shape s = e->logical_shape();
  if (v.shape() != s)
    throw shape_error(detail::message("stco::encode<", Layout::name(), ">: dense matrix ",
                                      v.shape(), " does not match the entity's shape ", s));
  std::vector<unsigned char> covered(static_cast<std::size_t>(s.size()), 0);
  Layout::for_each_slot(*e, [&](index_t, index_t r, index_t c) {
    if (r < s.rows && c < s.cols) covered[r * s.cols + c] = 1;
  });
  for (index_t i = 0; i < s.size(); ++i)
    if (!covered[i] && is_nonzero(v[i])) {
      const index_t r = i / s.cols, c = i % s.cols;
      throw pattern_error(
          detail::message("stco::encode<", Layout::name(), ">: nonzero ", to_double(v[i]), " at (",
                          r, ", ", c, ") lies outside the pattern, in ", Layout::locate(*e, r, c)));
    }
  return gather<T>(v, std::move(e));
}

}  // namespace stco
