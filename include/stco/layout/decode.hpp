// stco/layout/decode.hpp — back to dense: decode a sparse_matrix, or draw an entity's mask.
#pragma once

#include "stco/core/error.hpp"
#include "stco/core/tensor.hpp"
#include "stco/layout/sparse_matrix.hpp"

namespace stco {

/// Writes the dense form of `s` into `out` (zeros off the pattern). `out` must be [R, K]; on a
/// shape mismatch nothing is written.
template <class T, class L>
void decode_into(const sparse_matrix<T, L>& s, matrix_view<T> out) {
  const matrix_shape sh = s.shape();
  if (out.shape() != sh)
    throw shape_error(detail::message("stco::decode<", L::name(), ">: output ", out.shape(),
                                      " does not match the matrix ", sh));
  std::fill(out.begin(), out.end(), T{});
  const T* v = s.values();
  L::for_each_slot(s.entity(), [&](index_t p, index_t r, index_t c) {
    if (r < sh.rows && c < sh.cols) out(r, c) = v[p];
  });
}

/// The dense [R, K] form of `s`.
template <class T, class L>
tensor<T, 2> decode(const sparse_matrix<T, L>& s) {
  tensor<T, 2> out(dextents<2>(s.rows(), s.cols()));
  decode_into(s, out.view());
  return out;
}

/// 1 at the positions the entity keeps, 0 elsewhere ([R, K]).
template <class E>
tensor<unsigned char, 2> kept_mask(const E& e) {
  using L = typename E::layout_type;
  const matrix_shape sh = e.logical_shape();
  tensor<unsigned char, 2> m(dextents<2>(sh.rows, sh.cols));
  L::for_each_slot(e, [&](index_t, index_t r, index_t c) {
    if (r < sh.rows && c < sh.cols) m(r, c) = 1;
  });
  return m;
}

}  // namespace stco
