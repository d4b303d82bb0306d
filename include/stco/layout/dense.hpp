// stco/layout/dense.hpp — the dense layout: every position stored, no index.
#pragma once

#include <memory>
#include <string>

#include "stco/core/error.hpp"
#include "stco/core/extents.hpp"
#include "stco/core/tensor_view.hpp"
#include "stco/layout/index_entity.hpp"
#include "stco/layout/layout_contract.hpp"

namespace stco {

struct dense;

/// The entity of a dense matrix: its shape, nothing else.
class dense_entity final : public index_entity {
 public:
  using layout_type = dense;
  /// index_error if the shape has a negative extent or more than 2^63 - 1 positions.
  explicit dense_entity(matrix_shape logical) : index_entity(logical, "dense") {}
  matrix_shape compressed_shape() const override { return logical_shape(); }
  std::size_t index_bytes() const override { return 0; }
  index_t kept() const override { return logical_shape().size(); }
};

/// No sparsity: values are the row-major [R, K] matrix. Sparsity is fixed at 0.
struct dense {
  using entity = dense_entity;
  static std::string name() { return "dense"; }
  static constexpr double default_sparsity = 0.0, min_sparsity = 0.0, max_sparsity = 0.0;

  static constexpr matrix_shape compressed_shape(matrix_shape logical, double = 0.0) {
    return logical;
  }

  static std::shared_ptr<const entity> select(matrix_view<const double> scores, double) {
    return std::make_shared<const entity>(scores.shape());
  }
  template <class T>
  static std::shared_ptr<const entity> infer(matrix_view<const T> w) {
    return std::make_shared<const entity>(w.shape());
  }
  template <class F>
  static void for_each_slot(const entity& e, F&& f) {
    const matrix_shape s = e.logical_shape();
    for (index_t r = 0; s.cols > 0 && r < s.rows; ++r)  // no walk over the rows of a [R, 0]
      for (index_t c = 0; c < s.cols; ++c) f(r * s.cols + c, r, c);
  }
  static std::string locate(const entity&, index_t row, index_t col) {
    return detail::message("position (", row, ", ", col, ")");
  }
  static void validate(const entity&) {}
};

template <index_t R, index_t K>
struct compressed_extents<dense, extents<R, K>> {
  using type = extents<R, K>;
};

}  // namespace stco
