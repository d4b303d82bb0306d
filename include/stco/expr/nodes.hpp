// stco/expr/nodes.hpp — the expression nodes: a core op (matmul, conv2d) and the epilogue ops
// written around it. Nodes hold pointers and views of their operands: build an expression and
// evaluate (or differentiate) it while the operands live.
//
//     Y = stco::relu(stco::matmul(W, X) + stco::bias(b));
//     Y = stco::conv2d(Wc, X, stco::conv{}.kernel(3).pad(1)) * 0.5f + stco::residual(R);
#pragma once

#include <array>
#include <type_traits>

#include "stco/core/tensor.hpp"
#include "stco/expr/conv_params.hpp"
#include "stco/expr/epilogue.hpp"
#include "stco/layout/sparse_matrix.hpp"

namespace stco {

/// W·X: W [R, K] in any layout, X dense [K, N]. Output [R, N].
template <class T, class L>
struct matmul_expr {
  using value_type = T;
  using layout_type = L;
  static constexpr bool is_stco_expression = true;
  static constexpr std::size_t out_rank = 2;
  const sparse_matrix<T, L>* w;
  matrix_view<const T> x;

  std::array<index_t, 2> out_shape() const { return {w->rows(), x.extent(1)}; }
  /// Output channel count (bias length).
  index_t channels() const { return w->rows(); }
};

/// conv2d(W, X, p): X NHWC [N, H, W, Cin], W [Cout, KH·KW·Cin/groups]. Output NHWC.
template <class T, class L>
struct conv2d_expr {
  using value_type = T;
  using layout_type = L;
  static constexpr bool is_stco_expression = true;
  static constexpr std::size_t out_rank = 4;
  const sparse_matrix<T, L>* w;
  tensor_view<const T, 4> x;
  conv_geometry geo;

  std::array<index_t, 4> out_shape() const { return geo.out_shape(); }
  index_t channels() const { return geo.out_c; }
};

/// Inner expression followed by one epilogue op.
template <class Inner, class Op>
struct epilogue_expr {
  using value_type = typename Inner::value_type;
  using layout_type = typename Inner::layout_type;
  static constexpr bool is_stco_expression = true;
  static constexpr std::size_t out_rank = Inner::out_rank;
  Inner inner;
  Op op;
  index_t arg_size = -1;  // elements of the op's tensor argument (bias, residual), -1 if none
  const void* arg = nullptr;

  auto out_shape() const { return inner.out_shape(); }
  index_t channels() const { return inner.channels(); }
};

/// True for core ops whose operands live in device memory (declared by stco/cuda.cuh with
/// `static constexpr bool on_device = true`): host evaluation refuses them at compile time.
template <class Core, class = void>
struct is_device_core : std::false_type {};
template <class Core>
struct is_device_core<Core, std::enable_if_t<Core::on_device>> : std::true_type {};

template <class E, class = void>
struct is_expression : std::false_type {};
template <class E>
struct is_expression<E, std::enable_if_t<E::is_stco_expression>> : std::true_type {};
template <class E>
inline constexpr bool is_expression_v = is_expression<std::decay_t<E>>::value;

/// A bias vector, to be added per output channel: `expr + stco::bias(b)`.
template <class T>
struct bias_arg {
  const T* data;
  index_t size;
};
/// A tensor of the output's shape, to be added: `expr + stco::residual(R)`.
template <class T>
struct residual_arg {
  const T* data;
  index_t size;
};

template <class T, class E>
bias_arg<T> bias(const basic_tensor<T, E>& b) {
  static_assert(E::rank() == 1, "stco::bias: the bias must be a rank-1 tensor [channels]");
  return {b.data(), b.size()};
}
template <class T, class E>
bias_arg<std::remove_const_t<T>> bias(const basic_tensor_view<T, E>& b) {
  static_assert(E::rank() == 1, "stco::bias: the bias must be a rank-1 view [channels]");
  return {b.data(), b.size()};
}
template <class T, class E>
residual_arg<T> residual(const basic_tensor<T, E>& r) {
  return {r.data(), r.size()};
}
template <class T, class E>
residual_arg<std::remove_const_t<T>> residual(const basic_tensor_view<T, E>& r) {
  return {r.data(), r.size()};
}

namespace detail {
/// The rank of a tensor or view type (0 for anything else), for matmul's operand check.
template <class X, class = void>
struct operand_rank : std::integral_constant<std::size_t, 0> {};
template <class X>
struct operand_rank<X, std::void_t<decltype(X::rank())>>
    : std::integral_constant<std::size_t, X::rank()> {};
}  // namespace detail

/// The product W·X of a sparse (or dense-layout) weight and a dense [K, N] matrix.
template <class T, class L, class X>
matmul_expr<T, L> matmul(const sparse_matrix<T, L>& W, const X& x) {
  static_assert(detail::operand_rank<X>::value == 2,
                "stco::matmul: X must be a rank-2 tensor or view [K, N]");
  // Only a rank-2 X reaches the conversion, so a wrong rank reports the assertion alone.
  if constexpr (detail::operand_rank<X>::value == 2) {
    auto xv = detail::as_const_matrix(x);
    static_assert(std::is_same_v<typename decltype(xv)::value_type, T>,
                  "stco::matmul: W and X have different value types; convert one of them");
    if (xv.extent(0) != W.cols())
      throw shape_error(detail::message("stco::matmul<", L::name(), ">: W ", W.shape(), " times X ",
                                        xv.shape(), ": W has ", W.cols(), " columns, X ",
                                        xv.extent(0), " rows"));
    return {&W, xv};
  } else {
    return {&W, {}};
  }
}

/// Convolution of NHWC activations with W [Cout, KH·KW·Cin/groups], as an implicit GEMM.
template <class T, class L, class XT, class XE>
conv2d_expr<T, L> conv2d(const sparse_matrix<T, L>& W, const basic_tensor<XT, XE>& x,
                         const conv& p) {
  static_assert(XE::rank() == 4, "stco::conv2d: X must be a rank-4 NHWC tensor");
  static_assert(std::is_same_v<XT, T>,
                "stco::conv2d: W and X have different value types; convert one of them");
  tensor_view<const T, 4> xv(x.data(),
                             dextents<4>(x.extent(0), x.extent(1), x.extent(2), x.extent(3)));
  return {&W, xv,
          resolve_conv({xv.extent(0), xv.extent(1), xv.extent(2), xv.extent(3)}, W.shape(), p)};
}
template <class T, class L, class XT, class XE>
conv2d_expr<T, L> conv2d(const sparse_matrix<T, L>& W, const basic_tensor_view<XT, XE>& x,
                         const conv& p) {
  static_assert(XE::rank() == 4, "stco::conv2d: X must be a rank-4 NHWC view");
  static_assert(std::is_same_v<std::remove_const_t<XT>, T>,
                "stco::conv2d: W and X have different value types; convert one of them");
  tensor_view<const T, 4> xv(x.data(),
                             dextents<4>(x.extent(0), x.extent(1), x.extent(2), x.extent(3)));
  return {&W, xv,
          resolve_conv({xv.extent(0), xv.extent(1), xv.extent(2), xv.extent(3)}, W.shape(), p)};
}

template <class E, class U, std::enable_if_t<is_expression_v<E>, int> = 0>
epilogue_expr<E, ops::bias<U>> operator+(const E& e, const bias_arg<U>& b) {
  static_assert(std::is_same_v<U, typename E::value_type>,
                "stco: the bias has a different value type than the expression");
  if (b.size != e.channels())
    throw shape_error(
        detail::message("stco::bias: ", b.size, " values for ", e.channels(), " output channels"));
  return {e, ops::bias<U>{b.data}, b.size, b.data};
}

template <class E, class U, std::enable_if_t<is_expression_v<E>, int> = 0>
epilogue_expr<E, ops::residual<U>> operator+(const E& e, const residual_arg<U>& r) {
  static_assert(std::is_same_v<U, typename E::value_type>,
                "stco: the residual has a different value type than the expression");
  index_t n = 1;
  for (index_t d : e.out_shape()) n *= d;
  if (r.size != n)
    throw shape_error(detail::message("stco::residual: ", r.size, " values for an output of ", n));
  return {e, ops::residual<U>{r.data}, r.size, r.data};
}

template <class E, std::enable_if_t<is_expression_v<E>, int> = 0>
epilogue_expr<E, ops::scale> operator*(const E& e, double a) {
  return {e, ops::scale{a}};
}
template <class E, std::enable_if_t<is_expression_v<E>, int> = 0>
epilogue_expr<E, ops::scale> operator*(double a, const E& e) {
  return {e, ops::scale{a}};
}
/// e · a, fused.
template <class E, std::enable_if_t<is_expression_v<E>, int> = 0>
epilogue_expr<E, ops::scale> scale(const E& e, double a) {
  return {e, ops::scale{a}};
}
/// max(e, 0), fused.
template <class E, std::enable_if_t<is_expression_v<E>, int> = 0>
epilogue_expr<E, ops::relu> relu(const E& e) {
  return {e, ops::relu{}};
}
/// GELU (tanh form) of e, fused.
template <class E, std::enable_if_t<is_expression_v<E>, int> = 0>
epilogue_expr<E, ops::gelu> gelu(const E& e) {
  return {e, ops::gelu{}};
}

/// The core op of an expression and its epilogue chain, in application order.
template <class E>
struct flatten {
  using core_type = E;
  using chain_type = chain<>;
  static const E& core(const E& e) { return e; }
  static chain_type epilogue(const E&) { return {}; }
};
template <class Inner, class Op>
struct flatten<epilogue_expr<Inner, Op>> {
  using inner = flatten<Inner>;
  using core_type = typename inner::core_type;
  template <class Ch>
  struct append;
  template <class... Ops>
  struct append<chain<Ops...>> {
    using type = chain<Ops..., Op>;
  };
  using chain_type = typename append<typename inner::chain_type>::type;
  static const core_type& core(const epilogue_expr<Inner, Op>& e) { return inner::core(e.inner); }
  static chain_type epilogue(const epilogue_expr<Inner, Op>& e) {
    return {detail::append_op(inner::epilogue(e.inner).ops, e.op)};
  }
};

}  // namespace stco
