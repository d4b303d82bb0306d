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

template <class L, class T, class Chain>
struct fast_path<op::matmul_forward, L, T, Chain, gather_tc::detail::enable_tc<L, T>> {
  static constexpr bool available = true;
  static bool applicable(const gemm_call<T, L, Chain>& c) {
    return gather_tc::detail::gemm_fits(c.r, c.k, c.n);
  }
  static void run(const gemm_call<T, L, Chain>& c) {
    gather_tc::forward(*c.w, c.x, c.out, c.n, c.chain, c.stash, c.s);
  }
};
template <class L, class T, class Chain>
struct fast_path<op::matmul_grad_x, L, T, Chain, gather_tc::detail::enable_tc<L, T>> {
  static constexpr bool available = true;
  static bool applicable(const gemm_call<T, L, Chain>& c) {
    return gather_tc::detail::gemm_fits(c.r, c.k, c.n);
  }
  static void run(const gemm_call<T, L, Chain>& c) {
    gather_tc::grad_x(*c.w, c.dy, c.z, c.out, c.n, c.chain, c.s, c.memo);
  }
};
template <class L, class T, class Chain>
struct fast_path<op::matmul_grad_w, L, T, Chain, gather_tc::detail::enable_tc<L, T>> {
  static constexpr bool available = true;
  static bool applicable(const gemm_call<T, L, Chain>& c) {
    return gather_tc::detail::gemm_fits(c.r, c.k, c.n);
  }
  static void run(const gemm_call<T, L, Chain>& c) {
    gather_tc::grad_w(*c.w, c.x, c.dy, c.z, c.out, c.n, c.chain, c.s, c.memo);
  }
};
template <class L, class T, class Chain>
struct fast_path<op::conv2d_forward, L, T, Chain, gather_tc::detail::enable_tc<L, T>> {
  static constexpr bool available = true;
  static bool applicable(const conv_call<T, L, Chain>& c) {
    return gather_tc::conv_applicable<L>(c.g, false);
  }
  static void run(const conv_call<T, L, Chain>& c) {
    gather_tc::conv_forward(*c.w, c.x, c.out, c.g, c.chain, c.stash, c.s);
  }
};
template <class L, class T, class Chain>
struct fast_path<op::conv2d_grad_x, L, T, Chain, gather_tc::detail::enable_tc<L, T>> {
  static constexpr bool available = true;
  static bool applicable(const conv_call<T, L, Chain>& c) {
    return gather_tc::conv_applicable<L>(c.g, true);
  }
  static void run(const conv_call<T, L, Chain>& c) {
    gather_tc::conv_grad_x(*c.w, c.dy, c.z, c.out, c.g, c.chain, c.s);
  }
};
template <class L, class T, class Chain>
struct fast_path<op::conv2d_grad_w, L, T, Chain, gather_tc::detail::enable_tc<L, T>> {
  static constexpr bool available = true;
  static bool applicable(const conv_call<T, L, Chain>& c) {
    return gather_tc::conv_applicable<L>(c.g, false);
  }
  static void run(const conv_call<T, L, Chain>& c) {
    gather_tc::conv_grad_w(*c.w, c.x, c.dy, c.z, c.out, c.g, c.chain, c.s);
  }
};

}  // namespace stco::kernel::cuda
