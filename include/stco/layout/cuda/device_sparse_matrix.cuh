// stco/layout/cuda/device_sparse_matrix.cuh — a structured sparse matrix in device memory: owned
// values plus a shared device index entity.
//
// The values array is the host's, slot for slot (same compressed order), so a transfer is one
// plain copy; the entity is uploaded once per host entity and shared (device_entity::of).
//
//     stco::cuda::owned_stream s;
//     auto Wd  = stco::cuda::device_sparse_matrix<float, stco::nm<2, 4>>::from_host(W, s);
//     auto dWd = Wd.zeros_like(s);                  // dWd.entity_ptr() == Wd.entity_ptr()
//     auto W2  = Wd.to_host(s);                      // W2.entity_ptr() == W.entity_ptr()
#pragma once

#include <memory>
#include <type_traits>

#include "stco/core/cuda/device_buffer.cuh"
#include "stco/core/error.hpp"
#include "stco/layout/cuda/device_entity.cuh"
#include "stco/layout/sparse_matrix.hpp"

namespace stco::cuda {

template <class T, class Layout>
class device_sparse_matrix {
  static_assert(is_layout_v<Layout>,
                "stco::cuda::device_sparse_matrix: Layout does not model the layout contract");
  static_assert(std::is_trivially_copyable_v<T>,
                "stco::cuda::device_sparse_matrix: T must be a value type");

 public:
  using value_type = T;
  using layout_type = Layout;
  using entity_type = device_entity<Layout>;
  using host_type = sparse_matrix<T, Layout>;

  /// Zero values over `e`, allocated on `s`.
  device_sparse_matrix(std::shared_ptr<const entity_type> e, stream s)
      : entity_(checked(std::move(e))), values_(entity_->compressed_shape().size(), s) {}
  /// Adopts device `values`, which must hold compressed_shape().size() elements.
  device_sparse_matrix(std::shared_ptr<const entity_type> e, device_buffer<T> values)
      : entity_(checked(std::move(e))), values_(std::move(values)) {
    if (values_.size() != entity_->compressed_shape().size())
      throw shape_error(stco::detail::message(
          "stco::cuda::device_sparse_matrix<", Layout::name(), ">: ", values_.size(),
          " values given, the entity stores ", entity_->compressed_shape().size()));
  }

  /// A device copy of `h` queued on `s`; its entity is h's device mirror (shared).
  static device_sparse_matrix from_host(const host_type& h, stream s) {
    device_sparse_matrix d(entity_type::of(h.entity_ptr(), s), s);
    d.values_.copy_from_host(h.values(), h.value_count(), s);
    return d;
  }
  /// A host copy over the host entity this mirrors (the original one when uploaded). Waits.
  host_type to_host(stream s) const {
    host_type h(entity_->host(s));
    copy_to_host(h, s);
    return h;
  }
  /// Copies the values into `h`, which must be over this matrix's host entity. Waits for `s`.
  void copy_to_host(host_type& h, stream s) const {
    if (h.entity_ptr() != entity_->host(s))
      throw shape_error(stco::detail::message(
          "stco::cuda::device_sparse_matrix<", Layout::name(),
          ">::copy_to_host: the host matrix is not over this matrix's host entity"));
    values_.copy_to_host(h.values(), h.value_count(), s);
    s.synchronize();
  }
  /// Replaces the values with h's, which must be over this matrix's host entity (queued on `s`).
  void copy_from_host(const host_type& h, stream s) {
    if (h.entity_ptr() != entity_->host(s))
      throw shape_error(stco::detail::message(
          "stco::cuda::device_sparse_matrix<", Layout::name(),
          ">::copy_from_host: the host matrix is not over this matrix's host entity"));
    values_.copy_from_host(h.values(), h.value_count(), s);
  }

  /// A zero matrix of value type U sharing this matrix's entity (gradients, optimizer state).
  template <class U = T>
  device_sparse_matrix<U, Layout> zeros_like(stream s) const {
    return device_sparse_matrix<U, Layout>(entity_, s);
  }

  const std::shared_ptr<const entity_type>& entity_ptr() const noexcept { return entity_; }
  const entity_type& entity() const noexcept { return *entity_; }

  matrix_shape shape() const noexcept { return entity_->logical_shape(); }
  index_t rows() const noexcept { return shape().rows; }
  index_t cols() const noexcept { return shape().cols; }
  matrix_shape compressed_shape() const noexcept { return entity_->compressed_shape(); }

  /// Device pointers to the compressed values.
  T* values() noexcept { return values_.data(); }
  const T* values() const noexcept { return values_.data(); }
  index_t value_count() const noexcept { return values_.size(); }
  device_buffer<T>& buffer() noexcept { return values_; }
  const device_buffer<T>& buffer() const noexcept { return values_; }

 private:
  static std::shared_ptr<const entity_type> checked(std::shared_ptr<const entity_type> e) {
    if (!e)
      throw argument_error(stco::detail::message("stco::cuda::device_sparse_matrix<",
                                                 Layout::name(), ">: null device entity"));
    return e;
  }

  std::shared_ptr<const entity_type> entity_;
  device_buffer<T> values_;
};

}  // namespace stco::cuda
