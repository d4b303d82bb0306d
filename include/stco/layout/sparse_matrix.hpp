// stco/layout/sparse_matrix.hpp — a matrix in a structured sparse layout: owned values plus a
// shared index entity.
#pragma once

#include <memory>
#include <type_traits>

#include "stco/core/error.hpp"
#include "stco/core/host_buffer.hpp"
#include "stco/core/tensor_view.hpp"
#include "stco/layout/layout_contract.hpp"

namespace stco {

/// Values of a [R, K] matrix stored in `Layout`, with the layout's index entity held by shared
/// pointer. Tensors of one pattern (a weight, its gradient, optimizer moments) share one entity:
/// `zeros_like` builds them, and `a.entity_ptr() == b.entity_ptr()` tells that they do.
template <class T, class Layout>
class sparse_matrix {
  static_assert(is_layout_v<Layout>,
                "stco::sparse_matrix: Layout does not model the layout contract "
                "(see stco/layout/layout_contract.hpp)");
  static_assert(std::is_trivially_copyable_v<T>, "stco::sparse_matrix: T must be a value type");

 public:
  using value_type = T;
  using layout_type = Layout;
  using entity_type = typename Layout::entity;

  /// Zero values over `e`.
  explicit sparse_matrix(std::shared_ptr<const entity_type> e)
      : entity_(checked(std::move(e))), values_(entity_->compressed_shape().size()) {}
  /// Adopts `values`, which must hold compressed_shape().size() elements.
  sparse_matrix(std::shared_ptr<const entity_type> e, host_buffer<T> values)
      : entity_(checked(std::move(e))), values_(std::move(values)) {
    if (values_.size() != entity_->compressed_shape().size())
      throw shape_error(detail::message("stco::sparse_matrix<", Layout::name(),
                                        ">: ", values_.size(), " values given, the entity stores ",
                                        entity_->compressed_shape(), " = ",
                                        entity_->compressed_shape().size()));
  }

  /// A zero matrix of value type U sharing this matrix's entity (gradients, optimizer state).
  template <class U = T>
  sparse_matrix<U, Layout> zeros_like() const {
    return sparse_matrix<U, Layout>(entity_);
  }

  const std::shared_ptr<const entity_type>& entity_ptr() const noexcept { return entity_; }
  const entity_type& entity() const noexcept { return *entity_; }

  /// Logical shape [R, K].
  matrix_shape shape() const noexcept { return entity_->logical_shape(); }
  index_t rows() const noexcept { return shape().rows; }
  index_t cols() const noexcept { return shape().cols; }
  /// Shape of the values array.
  matrix_shape compressed_shape() const { return entity_->compressed_shape(); }
  /// Kept positions inside the logical shape, and their share of R·K.
  index_t kept() const { return entity_->kept(); }
  double density() const { return entity_->density(); }

  T* values() noexcept { return values_.data(); }
  const T* values() const noexcept { return values_.data(); }
  index_t value_count() const noexcept { return values_.size(); }
  matrix_view<T> values_view() {
    return {values(), dextents<2>(compressed_shape().rows, compressed_shape().cols)};
  }
  matrix_view<const T> values_view() const {
    return {values(), dextents<2>(compressed_shape().rows, compressed_shape().cols)};
  }

  std::size_t value_bytes() const noexcept { return values_.bytes(); }
  std::size_t index_bytes() const { return entity_->index_bytes(); }
  /// Storage of values plus indices.
  std::size_t bytes() const { return value_bytes() + index_bytes(); }

 private:
  static std::shared_ptr<const entity_type> checked(std::shared_ptr<const entity_type> e) {
    if (!e)
      throw argument_error(
          detail::message("stco::sparse_matrix<", Layout::name(), ">: null index entity"));
    return e;
  }

  std::shared_ptr<const entity_type> entity_;
  host_buffer<T> values_;
};

}  // namespace stco
