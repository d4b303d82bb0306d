// stco/expr/cuda/eval.cuh — evaluating a device expression on a stream: the same compile-time
// dispatch as on the host (core op, layout, value type, epilogue chain), then one fused CUDA
// kernel (kernel/cuda/matmul.cuh, conv2d.cuh).
//
//     stco::eval(Yd, stco::relu(stco::matmul(Wd, Xd) + stco::bias(bd)), stco::cuda::stream{s});
//     stco::eval(Yd, expr, stash, s);                  // also keep the activation input
//     auto Yd2 = stco::cuda::evaluate(expr, s);       // a new device tensor of inferred shape
#pragma once

#include <cuda_runtime.h>

#include <array>
#include <cstdint>
#include <string>
#include <type_traits>

#include "stco/core/cuda/check.cuh"
#include "stco/core/cuda/device_tensor.cuh"
#include "stco/expr/cuda/activation_stash.cuh"
#include "stco/expr/cuda/nodes.cuh"
#include "stco/kernel/cuda/conv2d.cuh"
#include "stco/kernel/cuda/matmul.cuh"

namespace stco::cuda {

namespace detail {

template <class Core>
struct core_name;
template <class T, class L>
struct core_name<matmul_expr<T, L>> {
  static constexpr const char* value = "matmul";
};
template <class T, class L>
struct core_name<conv2d_expr<T, L>> {
  static constexpr const char* value = "conv2d";
};

template <std::size_t R>
std::string shape_text(const std::array<index_t, R>& s) {
  std::string t = "[";
  for (std::size_t i = 0; i < R; ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

/// True when [a, a + na) and [b, b + nb) overlap (in bytes).
inline bool overlaps(const void* a, std::size_t na, const void* b, std::size_t nb) {
  auto pa = reinterpret_cast<std::uintptr_t>(a), pb = reinterpret_cast<std::uintptr_t>(b);
  return na && nb && pa < pb + nb && pb < pa + na;
}

/// shape_error unless y has the expression's output shape.
template <class Y, class E>
void check_output(const Y& y, const E& e, const char* op) {
  constexpr std::size_t R = E::out_rank;
  static_assert(Y::rank() == R,
                "stco::eval: the output tensor's rank differs from the expression's");
  std::array<index_t, R> have{};
  for (std::size_t i = 0; i < R; ++i) have[i] = y.extent(i);
  if (have != e.out_shape())
    throw shape_error(stco::detail::message("stco::cuda::", op, ": output ", shape_text(have),
                                            " does not match the expression's shape ",
                                            shape_text(e.out_shape())));
}

/// argument_error unless `p` (if not null) is device memory of the current device.
inline void check_device_pointer(const void* p, const char* what, const char* op) {
  if (p == nullptr) return;
  cudaPointerAttributes a{};
  STCO_CUDA_CHECK(cudaPointerGetAttributes(&a, p));
  if (a.type != cudaMemoryTypeDevice && a.type != cudaMemoryTypeManaged)
    throw argument_error(stco::detail::message(
        "stco::cuda::", op, ": ", what,
        " is not device memory (a host tensor in a device expression?); upload it with "
        "stco::cuda::device_tensor<...>::from_host"));
  int dev = 0;
  STCO_CUDA_CHECK(cudaGetDevice(&dev));
  if (a.type == cudaMemoryTypeDevice && a.device != dev)
    throw argument_error(stco::detail::message("stco::cuda::", op, ": ", what, " lives on device ",
                                               a.device, ", the current device is ", dev));
}

/// Checks the tensors the epilogue ops read (bias, residual).
template <class X>
void check_epilogue_args(const X&, const char*) {}
template <class Inner, class Op>
void check_epilogue_args(const epilogue_expr<Inner, Op>& e, const char* op) {
  check_device_pointer(e.arg, Op::is_bias ? "the bias" : "the residual", op);
  check_epilogue_args(e.inner, op);
}

/// Evaluates e into y (device memory, e.out_shape() elements) on s.
template <class Y, class E>
void eval_into(Y& y, const E& e, activation_stash<typename E::value_type>* stash, stream s) {
  using F = flatten<E>;
  using Core = typename F::core_type;
  using V = typename E::value_type;
  static_assert(std::is_same_v<typename Y::value_type, V>,
                "stco::eval: the output tensor's value type differs from the expression's");
  kernel::cuda::check_device_value_type<V>();
  const char* op = core_name<Core>::value;
  const Core& core = F::core(e);
  const auto chain = F::epilogue(e);
  check_output(y, e, op);
  const std::size_t ybytes = static_cast<std::size_t>(y.size()) * sizeof(V);
  if (overlaps(y.data(), ybytes, core.x, core.x_size() * sizeof(V)) ||
      overlaps(y.data(), ybytes, core.w->values(), core.w->value_count() * sizeof(V)))
    throw argument_error(
        stco::detail::message("stco::cuda::", op, ": the output overlaps an operand (W or X)"));
  check_device_pointer(core.x, "X", op);
  check_epilogue_args(e, op);
  float* z = stash && decltype(chain)::has_activation ? stash->prepare(y.size(), s) : nullptr;
  using L = typename Core::layout_type;
  using Ch = std::remove_const_t<decltype(chain)>;
  if constexpr (Core::out_rank == 2) {
    const auto sh = e.out_shape();
    kernel::cuda::matmul_forward(kernel::cuda::gemm_call<V, L, Ch>{core.w, core.x, nullptr, nullptr,
                                                                   y.data(), z, chain, sh[0],
                                                                   core.x_rows, sh[1], s, nullptr});
  } else {
    kernel::cuda::conv2d_forward(kernel::cuda::conv_call<V, L, Ch>{
        core.w, core.x, nullptr, nullptr, y.data(), z, chain, core.geo, s, nullptr});
  }
}

template <class E>
auto new_output(const E& e, stream s) {
  const auto sh = e.out_shape();
  using V = typename E::value_type;
  if constexpr (E::out_rank == 2)
    return device_tensor<V, 2>(dextents<2>(sh[0], sh[1]), s);
  else
    return device_tensor<V, 4>(dextents<4>(sh[0], sh[1], sh[2], sh[3]), s);
}

}  // namespace detail

/// A new device tensor holding `e`, its shape inferred from the operands (queued on `s`).
template <class E, std::enable_if_t<is_device_expression_v<E>, int> = 0>
auto evaluate(const E& e, stream s, activation_stash<typename E::value_type>* stash = nullptr) {
  auto y = detail::new_output(e, s);
  detail::eval_into(y, e, stash, s);
  return y;
}

}  // namespace stco::cuda

namespace stco {

/// Evaluates the device expression `e` into `y` on stream `s` (shapes must match; on any error
/// nothing is queued and y is unchanged).
template <class T, class Ext, class E, std::enable_if_t<cuda::is_device_expression_v<E>, int> = 0>
void eval(cuda::basic_device_tensor<T, Ext>& y, const E& e, cuda::stream s) {
  cuda::detail::eval_into(y, e, nullptr, s);
}
/// As above, keeping the activation's input in `stash` for grad().
template <class T, class Ext, class E, std::enable_if_t<cuda::is_device_expression_v<E>, int> = 0>
void eval(cuda::basic_device_tensor<T, Ext>& y, const E& e,
          cuda::activation_stash<typename E::value_type>& stash, cuda::stream s) {
  cuda::detail::eval_into(y, e, &stash, s);
}

}  // namespace stco
