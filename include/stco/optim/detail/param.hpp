// stco/optim/detail/param.hpp — what an optimizer needs to know about a parameter: its values as a
// flat array, how to build zero state like it, and whether a gradient or a state tensor fits it.
// Specialised for sparse_matrix (compressed values, pattern = index entity) and basic_tensor
// (dense parameters such as biases, pattern = extents), so each optimizer writes its update once.
#pragma once

#include <string>

#include "stco/core/error.hpp"
#include "stco/core/tensor.hpp"
#include "stco/core/value_traits.hpp"
#include "stco/layout/sparse_matrix.hpp"

namespace stco::optim {

/// The type optimizer state and arithmetic use for parameters of value type T: float for float,
/// half and bfloat16 (16-bit moments lose too much), double for double.
template <class T>
using state_value_t = typename value_traits<T>::accum_type;

namespace detail {

template <class P>
struct param;

template <class T, class L>
struct param<sparse_matrix<T, L>> {
  using type = sparse_matrix<T, L>;
  using value_type = T;
  template <class S>
  using state_tensor = sparse_matrix<S, L>;

  /// The values of p, or of a state tensor like it.
  template <class U>
  static U* data(sparse_matrix<U, L>& p) noexcept {
    return p.values();
  }
  template <class U>
  static const U* data(const sparse_matrix<U, L>& p) noexcept {
    return p.values();
  }
  static index_t size(const type& p) noexcept { return p.value_count(); }

  /// Zero state sharing p's index entity (address carrying: no index copy per state tensor).
  template <class S>
  static state_tensor<S> zeros_like(const type& p) {
    return p.template zeros_like<S>();
  }

  static std::string describe(const type& p) {
    return stco::detail::message("sparse_matrix<", value_traits<T>::name, ", ", L::name(), "> ",
                                 p.shape());
  }

  /// The gradient must be over W's entity object, not merely an equal pattern: the update walks
  /// both value arrays slot by slot, and sharing is what guarantees the slots line up.
  static void check_gradient(const char* op, const type& w, const type& g) {
    if (g.entity_ptr() != w.entity_ptr())
      throw shape_error(stco::detail::message(
          op, ": gradient does not share the weight's index entity (weight ", describe(w),
          ", gradient ", describe(g),
          "); build it over W.entity_ptr(), e.g. with W.zeros_like() or stco::gather"));
  }

  template <class S>
  static void check_state(const char* op, const state_tensor<S>& s, const type& w) {
    if (s.entity_ptr() != w.entity_ptr())
      throw shape_error(stco::detail::message(
          op, ": the optimizer's state for the weight ", describe(w), " was built over another ",
          "index entity (state ", s.shape(),
          "): the weight's mask changed without a remap; use "
          "stco::optim::update_mask, or the optimizer's remap(W, entity), or forget(W)"));
  }
};

template <class T, class Ext>
struct param<basic_tensor<T, Ext>> {
  using type = basic_tensor<T, Ext>;
  using value_type = T;
  template <class S>
  using state_tensor = basic_tensor<S, Ext>;

  template <class U>
  static U* data(basic_tensor<U, Ext>& p) noexcept {
    return p.data();
  }
  template <class U>
  static const U* data(const basic_tensor<U, Ext>& p) noexcept {
    return p.data();
  }
  static index_t size(const type& p) noexcept { return p.size(); }

  template <class S>
  static state_tensor<S> zeros_like(const type& p) {
    return state_tensor<S>(p.extents());
  }

  static std::string shape_of(const Ext& e) {
    std::string s = "[";
    for (std::size_t i = 0; i < Ext::rank(); ++i)
      s += (i ? ", " : "") + std::to_string(e.extent(i));
    return s + "]";
  }
  static std::string describe(const type& p) {
    return stco::detail::message("tensor<", value_traits<T>::name, "> ", shape_of(p.extents()));
  }

  static void check_gradient(const char* op, const type& w, const type& g) {
    if (g.extents() != w.extents())
      throw shape_error(stco::detail::message(op, ": gradient ", describe(g),
                                              " does not match the parameter ", describe(w)));
  }

  template <class S>
  static void check_state(const char* op, const state_tensor<S>& s, const type& w) {
    if (s.extents() != w.extents())
      throw shape_error(
          stco::detail::message(op, ": the optimizer's state for the parameter ", describe(w),
                                " has shape ", shape_of(s.extents()),
                                " (the tensor changed shape since its last step); call forget(b)"));
  }
};

}  // namespace detail
}  // namespace stco::optim
