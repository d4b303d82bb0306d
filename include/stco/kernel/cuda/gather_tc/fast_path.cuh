// stco/kernel/cuda/gather_tc/fast_path.cuh — the tile tensor-core kernels as fast paths of the CUDA
// dispatch (stco/kernel/cuda/dispatch.cuh): every op (matmul and conv2d forward, dX, dW) for
// tile_wise, tile_vector, block, channel and dense weights in half or bfloat16. Include it from
// the dispatch's glue header; calls it does not take (float, other layouts, grouped convs, more
// than 64 taps for dense / channel / block dX, block dX with Cin % BC ≠ 0) run the portable
// kernels.
#pragma once

#include <type_traits>

#include "stco/kernel/cuda/dispatch.cuh"
#include "stco/kernel/cuda/gather_tc/ops.cuh"

namespace stco::kernel::cuda {

namespace gather_tc::detail {
template <class L, class T>
using enable_tc = std::enable_if_t<supported_v<L, T>>;
/// Sizes the 32-bit kernels index: every extent and product below 2^31.
inline bool gemm_fits(index_t r, index_t k, index_t n) {
  const index_t lim = index_t{1} << 31;
  return r < lim && k < lim && n < lim && r * n < lim && k * n < lim && r * k < lim;
}
}  // namespace gather_tc::detail

namespace gather_tc::detail {
inline constexpr const char* too_large =
    "portable: a size reaches 2^31, beyond the 32-bit tensor-core kernels";
template <class L>
const char* conv_declined(const conv_geometry& g, bool grad_x) {
  if (g.groups != 1)
    return "portable: grouped convolution (the tensor-core kernels take groups = 1)";
  if (g.kh * g.kw > conv_max_taps)
    return "portable: more filter taps than the tensor-core kernels take (64)";
  if constexpr (layout_traits<L>::kind == layout_kind::block)
    if (grad_x && !layout_traits<L>::conv_grad_x_ok(g.in_c))
      return "portable: block dX needs Cin to split into whole block columns of at least 16";
  return too_large;
}
}  // namespace gather_tc::detail

template <class L, class T, class Chain>
struct fast_path<op::matmul_forward, L, T, Chain, gather_tc::detail::enable_tc<L, T>> {
  static constexpr bool available = true;
  static route plan(const gemm_call<T, L, Chain>& c) {
    if (!gather_tc::detail::gemm_fits(c.r, c.k, c.n))
      return portable_route(op::matmul_forward, gather_tc::detail::too_large);
    return gather_tc::plan_forward<Chain>(*c.w, c.x, c.out, c.n, c.stash, c.s);
  }
  static void run(const gemm_call<T, L, Chain>& c, const route& r) {
    gather_tc::forward(r, *c.w, c.x, c.out, c.n, c.chain, c.stash, c.s);
  }
};
template <class L, class T, class Chain>
struct fast_path<op::matmul_grad_x, L, T, Chain, gather_tc::detail::enable_tc<L, T>> {
  static constexpr bool available = true;
  static route plan(const gemm_call<T, L, Chain>& c) {
    if (!gather_tc::detail::gemm_fits(c.r, c.k, c.n))
      return portable_route(op::matmul_grad_x, gather_tc::detail::too_large);
    return gather_tc::plan_grad_x<Chain>(*c.w, c.dy, c.z, c.out, c.n, c.s);
  }
  static void run(const gemm_call<T, L, Chain>& c, const route& r) {
    gather_tc::grad_x(r, *c.w, c.dy, c.z, c.out, c.n, c.chain, c.s, c.memo);
  }
};
template <class L, class T, class Chain>
struct fast_path<op::matmul_grad_w, L, T, Chain, gather_tc::detail::enable_tc<L, T>> {
  static constexpr bool available = true;
  static route plan(const gemm_call<T, L, Chain>& c) {
    if (!gather_tc::detail::gemm_fits(c.r, c.k, c.n))
      return portable_route(op::matmul_grad_w, gather_tc::detail::too_large);
    return gather_tc::plan_grad_w<Chain>(*c.w, c.x, c.dy, c.z, c.out, c.n, c.s);
  }
  static void run(const gemm_call<T, L, Chain>& c, const route& r) {
    gather_tc::grad_w(r, *c.w, c.x, c.dy, c.z, c.out, c.n, c.chain, c.s, c.memo);
  }
};
template <op O, class L, class T, class Chain>
struct gather_tc_conv_plan {
  static constexpr bool available = true;
  static route plan(const conv_call<T, L, Chain>& c) {
    constexpr bool grad_x = O == op::conv2d_grad_x;
    if (!gather_tc::conv_applicable<L>(c.g, grad_x))
      return portable_route(O, gather_tc::detail::conv_declined<L>(c.g, grad_x));
    return gather_tc::plan_conv<Chain>(O, *c.w, c.s);
  }
};
template <class L, class T, class Chain>
struct fast_path<op::conv2d_forward, L, T, Chain, gather_tc::detail::enable_tc<L, T>>
    : gather_tc_conv_plan<op::conv2d_forward, L, T, Chain> {
  static void run(const conv_call<T, L, Chain>& c, const route& r) {
    gather_tc::conv_forward(r, *c.w, c.x, c.out, c.g, c.chain, c.stash, c.s);
  }
};
template <class L, class T, class Chain>
struct fast_path<op::conv2d_grad_x, L, T, Chain, gather_tc::detail::enable_tc<L, T>>
    : gather_tc_conv_plan<op::conv2d_grad_x, L, T, Chain> {
  static void run(const conv_call<T, L, Chain>& c, const route& r) {
    gather_tc::conv_grad_x(r, *c.w, c.dy, c.z, c.out, c.g, c.chain, c.s);
  }
};
template <class L, class T, class Chain>
struct fast_path<op::conv2d_grad_w, L, T, Chain, gather_tc::detail::enable_tc<L, T>>
    : gather_tc_conv_plan<op::conv2d_grad_w, L, T, Chain> {
  static void run(const conv_call<T, L, Chain>& c, const route& r) {
    gather_tc::conv_grad_w(r, *c.w, c.x, c.dy, c.z, c.out, c.g, c.chain, c.s);
  }
};

}  // namespace stco::kernel::cuda
