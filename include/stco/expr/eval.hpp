// stco/expr/eval.hpp — evaluating an expression: assignment dispatches, at compile time, on the
// core op, the layout, the value type and the epilogue chain, and runs one fused kernel.
//
//     Y = stco::relu(stco::matmul(W, X) + stco::bias(b));     // tensor assignment
//     stco::eval(Y, expr, stash);                               // also keep the activation input
//     auto Y2 = stco::evaluate(expr);                           // a new tensor of inferred shape
#pragma once

#include <array>
#include <type_traits>

#include "stco/core/tensor.hpp"
#include "stco/expr/activation_stash.hpp"
#include "stco/expr/nodes.hpp"
#include "stco/kernel/cpu/conv2d.hpp"
#include "stco/kernel/cpu/matmul.hpp"

namespace stco {

namespace detail {

template <class Core>
struct core_traits;
template <class T, class L>
struct core_traits<matmul_expr<T, L>> {
  static constexpr const char* name = "matmul";
};
template <class T, class L>
struct core_traits<conv2d_expr<T, L>> {
  static constexpr const char* name = "conv2d";
};

template <class T>
inline constexpr bool cpu_value_type_v = std::is_same_v<T, float> || std::is_same_v<T, double> ||
                                         std::is_same_v<T, half> || std::is_same_v<T, bfloat16>;

template <std::size_t R>
std::string shape_text(const std::array<index_t, R>& s) {
  std::string t = "[";
  for (std::size_t i = 0; i < R; ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

template <class Y, class E>
void check_output(const Y& y, const E& e, const char* op) {
  constexpr std::size_t R = E::out_rank;
  static_assert(Y::rank() == R, "stco: the output tensor's rank differs from the expression's");
  std::array<index_t, R> have{};
  for (std::size_t i = 0; i < R; ++i) have[i] = y.extent(i);
  if (have != e.out_shape())
    throw shape_error(message("stco::", op, ": output ", shape_text(have),
                              " does not match the expression's shape ",
                              shape_text(e.out_shape())));
}

/// True when [a, a + na) and [b, b + nb) overlap (in bytes).
inline bool overlaps(const void* a, std::size_t na, const void* b, std::size_t nb) {
  auto pa = reinterpret_cast<std::uintptr_t>(a), pb = reinterpret_cast<std::uintptr_t>(b);
  return na && nb && pa < pb + nb && pb < pa + na;
}

}  // namespace detail

/// Evaluates `e` into `y` (its shape must match; on a mismatch y is left unchanged). With a
/// stash, the activation's input is kept for grad().
template <class T, class Ext, class E, std::enable_if_t<is_expression_v<E>, int> = 0>
void eval(basic_tensor_view<T, Ext> y, const E& e,
          activation_stash<typename E::value_type>* stash = nullptr) {
  using F = flatten<E>;
  using Core = typename F::core_type;
  using V = typename E::value_type;
  static_assert(!is_device_core<Core>::value,
                "stco::eval: the expression's operands live on the device; evaluate it into a "
                "stco::cuda::device_tensor with stco::eval(Y, expr, stco::cuda::stream{s})");
  static_assert(std::is_same_v<std::remove_const_t<T>, V>,
                "stco::eval: the output tensor's value type differs from the expression's");
  static_assert(detail::cpu_value_type_v<V>,
                "stco::eval: CPU kernels support float, double, half and bfloat16 values");
  const Core& core = F::core(e);
  const auto chain = F::epilogue(e);
  detail::check_output(y, e, detail::core_traits<Core>::name);
  if (detail::overlaps(y.data(), y.size() * sizeof(V), core.x.data(), core.x.size() * sizeof(V)) ||
      detail::overlaps(y.data(), y.size() * sizeof(V), core.w->values(),
                       core.w->value_count() * sizeof(V)))
    throw argument_error(detail::message("stco::", detail::core_traits<Core>::name,
                                         ": the output overlaps an operand (W or X)"));
  acc_t<V>* z = stash && decltype(chain)::has_activation ? stash->prepare(y.size()) : nullptr;
  if constexpr (Core::out_rank == 2)
    kernel::cpu::matmul_forward(*core.w, core.x, y.data(), chain, z);
  else
    kernel::cpu::conv2d_forward(*core.w, core.x.data(), core.geo, y.data(), chain, z);
}

template <class T, class Ext, class E, std::enable_if_t<is_expression_v<E>, int> = 0>
void eval(basic_tensor<T, Ext>& y, const E& e,
          activation_stash<typename E::value_type>* stash = nullptr) {
  eval(y.view(), e, stash);
}
template <class T, class Ext, class E, std::enable_if_t<is_expression_v<E>, int> = 0>
void eval(basic_tensor<T, Ext>& y, const E& e, activation_stash<typename E::value_type>& stash) {
  eval(y.view(), e, &stash);
}

/// Called by basic_tensor::operator=(expression).
template <class T, class Ext, class E>
void assign_expression(basic_tensor<T, Ext>& y, const E& e) {
  eval(y.view(), e);
}

/// A new tensor holding `e`, its shape inferred from the operands.
template <class E, std::enable_if_t<is_expression_v<E>, int> = 0>
auto evaluate(const E& e, activation_stash<typename E::value_type>* stash = nullptr) {
  const auto s = e.out_shape();
  tensor<typename E::value_type, E::out_rank> y = [&] {
    if constexpr (E::out_rank == 2)
      return tensor<typename E::value_type, 2>(dextents<2>(s[0], s[1]));
    else
      return tensor<typename E::value_type, 4>(dextents<4>(s[0], s[1], s[2], s[3]));
  }();
  eval(y.view(), e, stash);
  return y;
}

}  // namespace stco
