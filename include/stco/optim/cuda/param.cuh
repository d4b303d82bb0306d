// stco/optim/cuda/param.cuh — what a device optimizer needs to know about a parameter: its values
// as a flat device array, zero state like it, and whether a gradient or a state tensor fits it.
// Specialised for device_sparse_matrix (compressed values over a device entity) and
// basic_device_tensor (dense parameters such as biases); mirrors stco/optim/detail/param.hpp.
#pragma once

#include <string>

#include "stco/core/cuda/device_tensor.cuh"
#include "stco/core/error.hpp"
#include "stco/core/value_traits.hpp"
#include "stco/layout/cuda/device_sparse_matrix.cuh"

namespace stco::cuda::optim {

/// Optimizer state and arithmetic type for device parameters of value type T (float for float,
/// half and bfloat16, as on the host).
template <class T>
using state_value_t = typename value_traits<T>::accum_type;

namespace detail {

template <class P>
struct param;

template <class T, class L>
struct param<device_sparse_matrix<T, L>> {
  using type = device_sparse_matrix<T, L>;
  template <class S>
  using state_tensor = device_sparse_matrix<S, L>;

  template <class U>
  static U* data(device_sparse_matrix<U, L>& p) noexcept {
    return p.values();
  }
  template <class U>
  static const U* data(const device_sparse_matrix<U, L>& p) noexcept {
    return p.values();
  }
  static index_t size(const type& p) noexcept { return p.value_count(); }
  template <class S>
  static state_tensor<S> zeros_like(const type& p, stream s) {
    return p.template zeros_like<S>(s);
  }
  static std::string describe(const type& p) {
    return stco::detail::message("device_sparse_matrix<", value_traits<T>::name, ", ", L::name(),
                                 "> ", p.shape());
  }
  static void check_gradient(const char* op, const type& w, const type& g) {
    if (g.entity_ptr() != w.entity_ptr())
      throw shape_error(stco::detail::message(
          op, ": gradient does not share the weight's device entity (weight ", describe(w),
          ", gradient ", describe(g), "); build it with W.zeros_like(s) or take grad().wrt(W)"));
  }
  template <class S>
  static void check_state(const char* op, const state_tensor<S>& st, const type& w) {
    if (st.entity_ptr() != w.entity_ptr())
      throw shape_error(stco::detail::message(
          op, ": the optimizer's state for the weight ", describe(w),
          " was built over another device entity: the weight's mask changed without a remap; "
          "use stco::cuda::optim::update_mask, or the optimizer's remap(W, entity, s), or "
          "forget(W)"));
  }
};

template <class T, class Ext>
struct param<basic_device_tensor<T, Ext>> {
  using type = basic_device_tensor<T, Ext>;
  template <class S>
  using state_tensor = basic_device_tensor<S, Ext>;

  template <class U>
  static U* data(basic_device_tensor<U, Ext>& p) noexcept {
    return p.data();
  }
  template <class U>
  static const U* data(const basic_device_tensor<U, Ext>& p) noexcept {
    return p.data();
  }
  static index_t size(const type& p) noexcept { return p.size(); }
  template <class S>
  static state_tensor<S> zeros_like(const type& p, stream s) {
    return state_tensor<S>(p.extents(), s);
  }
  static std::string shape_of(const Ext& e) {
    std::string t = "[";
    for (std::size_t i = 0; i < Ext::rank(); ++i)
      t += (i ? ", " : "") + std::to_string(e.extent(i));
    return t + "]";
  }
  static void check_gradient(const char* op, const type& w, const type& g) {
    if (g.extents() != w.extents())
      throw shape_error(stco::detail::message(op, ": gradient ", shape_of(g.extents()),
                                              " does not match the parameter ",
                                              shape_of(w.extents())));
  }
  template <class S>
  static void check_state(const char* op, const state_tensor<S>& st, const type& w) {
    if (st.extents() != w.extents())
      throw shape_error(stco::detail::message(op, ": the optimizer's state for the parameter ",
                                              shape_of(w.extents()), " has shape ",
                                              shape_of(st.extents()), "; call forget(b)"));
  }
};

}  // namespace detail
}  // namespace stco::cuda::optim
