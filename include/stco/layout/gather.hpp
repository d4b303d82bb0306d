// stco/layout/gather.hpp — fills a sparse_matrix's values from a dense matrix at the entity's
// slots (padding slots stay zero). The common last step of prune and encode.
#pragma once

#include <memory>

#include "stco/core/error.hpp"
#include "stco/core/tensor_view.hpp"
#include "stco/layout/sparse_matrix.hpp"

namespace stco {

/// The values of `w` at the kept positions of `e`, as a sparse_matrix sharing `e`. Entries of `w`
/// outside the pattern are dropped (use `encode` to refuse them instead).
template <class T, class E>
sparse_matrix<T, typename E::layout_type> gather(matrix_view<const T> w,
                                                 std::shared_ptr<const E> e) {
  using L = typename E::layout_type;
  if (!e) throw argument_error(detail::message("stco::gather<", L::name(), ">: null index entity"));
  const matrix_shape s = e->logical_shape();
  if (w.shape() != s)
    throw shape_error(detail::message("stco::gather<", L::name(), ">: dense matrix ", w.shape(),
                                      " does not match the entity's shape ", s));
  sparse_matrix<T, L> out(std::move(e));
  T* v = out.values();
  L::for_each_slot(out.entity(), [&](index_t p, index_t r, index_t c) {
    if (r < s.rows && c < s.cols) v[p] = w(r, c);
  });
  return out;
}

}  // namespace stco
