// stco/core/tensor_view.hpp — a non-owning, row-major, contiguous view of host memory.
#pragma once

#include <array>
#include <type_traits>

#include "stco/core/error.hpp"
#include "stco/core/extents.hpp"

namespace stco {

/// Non-owning row-major view: `data` points at extent(0)·…·extent(R−1) contiguous elements.
/// `T` may be const. Views of static extents convert to views of dynamic extents implicitly, the
/// other way explicitly (with a run-time check).
template <class T, class Ext>
class basic_tensor_view {
  static_assert(is_extents<Ext>::value, "stco::basic_tensor_view: Ext must be stco::extents<...>");

 public:
  using value_type = std::remove_cv_t<T>;
  using element_type = T;
  using extents_type = Ext;
  static constexpr std::size_t rank() { return Ext::rank(); }

  basic_tensor_view() = default;
  basic_tensor_view(T* data, const Ext& e) : data_(data), ext_(e) {}

  /// From a view of other (compatible) extents or of non-const elements.
  template <class U, class E2,
            std::enable_if_t<std::is_convertible_v<U (*)[], T (*)[]> && E2::rank() == Ext::rank(),
                             int> = 0>
  basic_tensor_view(const basic_tensor_view<U, E2>& o) : data_(o.data()), ext_(o.extents()) {}

  T* data() const noexcept { return data_; }
  const Ext& extents() const noexcept { return ext_; }
  index_t extent(std::size_t i) const noexcept { return ext_.extent(i); }
  index_t size() const noexcept { return ext_.size(); }
  bool empty() const noexcept { return size() == 0; }
  /// Rank-2 views: the matrix shape.
  matrix_shape shape() const { return to_shape(ext_); }

  template <class... Is>
  T& operator()(Is... is) const noexcept {
    static_assert(sizeof...(Is) == Ext::rank(), "stco::tensor_view: wrong number of indices");
    return data_[offset(std::array<index_t, sizeof...(Is)>{static_cast<index_t>(is)...})];
  }
  T& operator[](index_t linear) const noexcept { return data_[linear]; }
  T* begin() const noexcept { return data_; }
  T* end() const noexcept { return data_ + size(); }

 private:
  index_t offset(const std::array<index_t, Ext::rank()>& idx) const noexcept {
    index_t off = 0;
    for (std::size_t i = 0; i < Ext::rank(); ++i) off = off * ext_.extent(i) + idx[i];
    return off;
  }

  T* data_ = nullptr;
  Ext ext_{};
};

/// A view with all-dynamic extents of rank R.
template <class T, std::size_t R>
using tensor_view = basic_tensor_view<T, dextents<R>>;
/// A dynamic rank-2 view, the form layouts and kernels take.
template <class T>
using matrix_view = tensor_view<T, 2>;

/// Views `n` elements at `data` as a rows × cols matrix.
template <class T>
matrix_view<T> make_matrix_view(T* data, index_t rows, index_t cols) {
  return matrix_view<T>(data, dextents<2>(rows, cols));
}

}  // namespace stco
