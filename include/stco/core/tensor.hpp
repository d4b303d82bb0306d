// stco/core/tensor.hpp — an owning, row-major host tensor.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <type_traits>

#include "stco/core/extents.hpp"
#include "stco/core/host_buffer.hpp"
#include "stco/core/tensor_view.hpp"

namespace stco {

/// Owning row-major host tensor with zero-initialised, 64-byte-aligned storage.
///
///     stco::tensor<float, 2> Y({R, N});             // dynamic extents
///     stco::tensor<float, 1> b({R});                // or b(R): a vector
///     stco::basic_tensor<float, stco::extents<64, 128>> W;  // static extents
template <class T, class Ext>
class basic_tensor {
  static_assert(is_extents<Ext>::value, "stco::basic_tensor: Ext must be stco::extents<...>");

 public:
  using value_type = T;
  using extents_type = Ext;
  static constexpr std::size_t rank() { return Ext::rank(); }

  basic_tensor() : basic_tensor(Ext{}) {}
  explicit basic_tensor(const Ext& e) : ext_(e), buf_(e.size()) {}
  /// From a braced list of integers: all the extents, or only the dynamic ones. Without it
  /// `tensor<float, 1> b({R})` is ambiguous ({R} converts to Ext, and through Ext to a tensor for
  /// the copy and move constructors); a list of mixed integer types still converts to Ext.
  template <class I, std::size_t N,
            std::enable_if_t<
                std::is_integral_v<I> && (N == Ext::rank() || N == Ext::rank_dynamic()), int> = 0>
  explicit basic_tensor(const I (&e)[N]) : basic_tensor(Ext(to_index_array(e))) {}
  /// Takes ownership of `values`, which must hold exactly e.size() elements.
  basic_tensor(const Ext& e, host_buffer<T> values) : ext_(e), buf_(std::move(values)) {
    if (buf_.size() != ext_.size())
      throw shape_error(detail::message("stco::tensor: ", buf_.size(),
                                        " values for extents of size ", ext_.size()));
  }
  /// Deep copy of a view.
  template <class U, class E2>
  explicit basic_tensor(const basic_tensor_view<U, E2>& v) : ext_(v.extents()), buf_(ext_.size()) {
    static_assert(std::is_same_v<std::remove_cv_t<U>, T>, "stco::tensor: element types differ");
    std::copy(v.begin(), v.end(), buf_.begin());
  }

  T* data() noexcept { return buf_.data(); }
  const T* data() const noexcept { return buf_.data(); }
  const Ext& extents() const noexcept { return ext_; }
  index_t extent(std::size_t i) const noexcept { return ext_.extent(i); }
  index_t size() const noexcept { return ext_.size(); }
  matrix_shape shape() const { return to_shape(ext_); }

  basic_tensor_view<T, Ext> view() noexcept { return {data(), ext_}; }
  basic_tensor_view<const T, Ext> view() const noexcept { return {data(), ext_}; }
  operator basic_tensor_view<T, Ext>() noexcept { return view(); }
  operator basic_tensor_view<const T, Ext>() const noexcept { return view(); }
  template <class E2,
            std::enable_if_t<!std::is_same_v<E2, Ext> && E2::rank() == Ext::rank(), int> = 0>
  operator basic_tensor_view<T, E2>() noexcept {
    return view();
  }
  template <class E2,
            std::enable_if_t<!std::is_same_v<E2, Ext> && E2::rank() == Ext::rank(), int> = 0>
  operator basic_tensor_view<const T, E2>() const noexcept {
    return view();
  }

  template <class... Is>
  T& operator()(Is... is) noexcept {
    return view()(is...);
  }
  template <class... Is>
  const T& operator()(Is... is) const noexcept {
    return view()(is...);
  }
  T& operator[](index_t i) noexcept { return buf_[i]; }
  const T& operator[](index_t i) const noexcept { return buf_[i]; }
  T* begin() noexcept { return data(); }
  T* end() noexcept { return data() + size(); }
  const T* begin() const noexcept { return data(); }
  const T* end() const noexcept { return data() + size(); }

  void fill(const T& v) { std::fill(begin(), end(), v); }

  /// Evaluates an stco expression into this tensor: one fused kernel (see stco/expr/eval.hpp).
  template <class E, std::enable_if_t<E::is_stco_expression, int> = 0>
  basic_tensor& operator=(const E& e) {
    assign_expression(*this, e);
    return *this;
  }

 private:
  template <class I, std::size_t N>
  static std::array<index_t, N> to_index_array(const I (&e)[N]) {
    std::array<index_t, N> a{};
    for (std::size_t i = 0; i < N; ++i) a[i] = static_cast<index_t>(e[i]);
    return a;
  }

  Ext ext_;
  host_buffer<T> buf_;
};

/// An owning tensor of rank R with dynamic extents.
template <class T, std::size_t R>
using tensor = basic_tensor<T, dextents<R>>;

namespace detail {
/// The const rank-2 view of a tensor or view (used by functions that take "any matrix").
template <class T, class E>
matrix_view<const T> as_const_matrix(const basic_tensor<T, E>& t) {
  return t.view();
}
template <class T, class E>
matrix_view<const std::remove_cv_t<T>> as_const_matrix(const basic_tensor_view<T, E>& v) {
  return v;
}
}  // namespace detail

}  // namespace stco
