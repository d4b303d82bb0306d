// stco/expr/cuda/nodes.cuh — expressions over device operands. The core ops hold a device sparse
// matrix and a device tensor; the epilogue nodes, the epilogue ops and their chain are the host's
// (stco/expr/nodes.hpp, epilogue.hpp), so one expression type family serves both backends:
//
//     auto e = stco::relu(stco::matmul(Wd, Xd) + stco::bias(bd));   // device operands
//     stco::eval(Yd, e, stco::cuda::stream{s});                       // one fused CUDA kernel
#pragma once

#include <array>
#include <type_traits>

#include "stco/core/cuda/device_tensor.cuh"
#include "stco/expr/conv_params.hpp"
#include "stco/expr/epilogue.hpp"
#include "stco/expr/nodes.hpp"
#include "stco/layout/cuda/device_sparse_matrix.cuh"

namespace stco::cuda {

/// W·X on the device: W [R, K] in any layout, X a dense device [K, N] matrix.
template <class T, class L>
struct matmul_expr {
  using value_type = T;
  using layout_type = L;
  static constexpr bool is_stco_expression = true;
  static constexpr bool on_device = true;
  static constexpr std::size_t out_rank = 2;
  const device_sparse_matrix<T, L>* w;
  const T* x;
  index_t x_rows, x_cols;

  std::array<index_t, 2> out_shape() const { return {w->rows(), x_cols}; }
  index_t channels() const { return w->rows(); }
  index_t x_size() const { return x_rows * x_cols; }
};

/// conv2d on the device: X NHWC [N, H, W, Cin], W [Cout, KH·KW·Cin/groups]. Output NHWC.
template <class T, class L>
struct conv2d_expr {
  using value_type = T;
  using layout_type = L;
  static constexpr bool is_stco_expression = true;
  static constexpr bool on_device = true;
  static constexpr std::size_t out_rank = 4;
  const device_sparse_matrix<T, L>* w;
  const T* x;
  conv_geometry geo;

  std::array<index_t, 4> out_shape() const { return geo.out_shape(); }
  index_t channels() const { return geo.out_c; }
  index_t x_size() const { return geo.batch * geo.in_h * geo.in_w * geo.in_c; }
};

/// True when E is an expression whose operands live on the device.
template <class E>
inline constexpr bool is_device_expression_v =
    is_expression_v<E>&& is_device_core<typename flatten<std::decay_t<E>>::core_type>::value;

/// A device bias vector, added per output channel: `expr + stco::bias(bd)`.
template <class T>
struct device_bias {
  const T* data;
  index_t size;
};
/// A device tensor of the output's shape, added: `expr + stco::residual(Rd)`.
template <class T>
struct device_residual {
  const T* data;
  index_t size;
};

template <class E, class U, std::enable_if_t<is_device_expression_v<E>, int> = 0>
epilogue_expr<E, ops::bias<U>> operator+(const E& e, const device_bias<U>& b) {
  static_assert(std::is_same_v<U, typename E::value_type>,
                "stco: the bias has a different value type than the expression");
  if (b.size != e.channels())
    throw shape_error(stco::detail::message("stco::bias: ", b.size, " values for ", e.channels(),
                                            " output channels"));
  return {e, ops::bias<U>{b.data}, b.size, b.data};
}

template <class E, class U, std::enable_if_t<is_device_expression_v<E>, int> = 0>
epilogue_expr<E, ops::residual<U>> operator+(const E& e, const device_residual<U>& r) {
  static_assert(std::is_same_v<U, typename E::value_type>,
                "stco: the residual has a different value type than the expression");
  index_t n = 1;
  for (index_t d : e.out_shape()) n *= d;
  if (r.size != n)
    throw shape_error(
        stco::detail::message("stco::residual: ", r.size, " values for an output of ", n));
  return {e, ops::residual<U>{r.data}, r.size, r.data};
}

}  // namespace stco::cuda

namespace stco {

/// W·X with W and X on the device.
template <class T, class L, class XE>
cuda::matmul_expr<T, L> matmul(const cuda::device_sparse_matrix<T, L>& W,
                               const cuda::basic_device_tensor<T, XE>& X) {
  static_assert(XE::rank() == 2, "stco::matmul: X must be a rank-2 device tensor [K, N]");
  if (X.extent(0) != W.cols())
    throw shape_error(detail::message("stco::matmul<", L::name(), ">: W ", W.shape(), " times X ",
                                      X.shape(), ": W has ", W.cols(), " columns, X ", X.extent(0),
                                      " rows"));
  return {&W, X.data(), X.extent(0), X.extent(1)};
}

/// Convolution of device NHWC activations with a device weight, as an implicit GEMM.
template <class T, class L, class XE>
cuda::conv2d_expr<T, L> conv2d(const cuda::device_sparse_matrix<T, L>& W,
                               const cuda::basic_device_tensor<T, XE>& X, const conv& p) {
  static_assert(XE::rank() == 4, "stco::conv2d: X must be a rank-4 NHWC device tensor");
  return {&W, X.data(),
          resolve_conv({X.extent(0), X.extent(1), X.extent(2), X.extent(3)}, W.shape(), p)};
}

/// A device bias (rank 1, one value per output channel).
template <class T, class E>
cuda::device_bias<T> bias(const cuda::basic_device_tensor<T, E>& b) {
  static_assert(E::rank() == 1, "stco::bias: the bias must be a rank-1 tensor [channels]");
  return {b.data(), b.size()};
}
/// A device residual (the output's shape).
template <class T, class E>
cuda::device_residual<T> residual(const cuda::basic_device_tensor<T, E>& r) {
  return {r.data(), r.size()};
}

}  // namespace stco
