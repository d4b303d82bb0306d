// stco/expr/cuda/explain.cuh — which kernels a device expression's calls take, and why.
//
//     auto W = stco::cuda::device_sparse_matrix<stco::half, stco::nm<2, 4>>::from_host(host_W, s);
//     std::cout << stco::cuda::explain(stco::relu(stco::matmul(W, X)), s);
//
// prints one line per call a training step makes (forward, dX, dW), e.g.
//
//     matmul forward: sparse_tc/sparse_gemm (wgmma.sp, BN 256)
//     matmul dX: sparse_tc/dense_transposed (wgmma, BN 256, dZ formed first); Wᵀ is not 2:4 ...
//     matmul dW: sparse_tc/compressed_grad_w (wgmma, BN 256, dZ formed first)
//
// The routes come from the same planner the calls use (kernel/cuda/planner.cuh), under the
// stream's options. explain(expr, s) assumes the outputs, dY and the stash are fresh allocations
// (as eval and grad make them); a gradient object's grad_x_route() / grad_w_route() give the routes
// for its own dY.
// Planning launches none of the calls' kernels; on first use it builds what the first call would
// (the weight's cached index maps, the device probe, per-stream data of N:M masks on 2:4).
#pragma once

#include <type_traits>

#include "stco/expr/cuda/grad.cuh"
#include "stco/expr/explanation.hpp"
#include "stco/kernel/cuda/planner.cuh"

namespace stco::cuda {

/// The routes of the three calls of one layer: forward, dX and dW (printable, stco::to_string).
using explanation = explanation_of<kernel::cuda::route>;
using stco::to_string;

/// The routes of the calls of device expression `e` on stream `s` (with its options).
template <class E, std::enable_if_t<is_device_expression_v<E>, int> = 0>
explanation explain(const E& e, stream s) {
  using F = flatten<E>;
  using Core = typename F::core_type;
  using V = typename E::value_type;
  using L = typename Core::layout_type;
  namespace kc = kernel::cuda;
  const Core& core = F::core(e);
  const auto chain = F::epilogue(e);
  using Ch = std::remove_const_t<decltype(chain)>;
  float* z = Ch::has_activation ? kc::stand_in<float>() : nullptr;
  V* out = kc::stand_in<V>();
  const V* dy = kc::stand_in<V>();
  explanation x;
  if constexpr (Core::out_rank == 2) {
    const auto sh = e.out_shape();
    using C = kc::gemm_call<V, L, Ch>;
    const C fwd{core.w, core.x, nullptr,     nullptr, out, z,
                chain,  sh[0],  core.x_rows, sh[1],   s,   nullptr};
    const C gx{core.w, nullptr, dy, z, out, nullptr, chain, sh[0], core.x_rows, sh[1], s, nullptr};
    const C gw{core.w, core.x, dy, z, out, nullptr, chain, sh[0], core.x_rows, sh[1], s, nullptr};
    x.forward = kc::plan<kc::op::matmul_forward, L, V, Ch>(fwd);
    x.grad_x = kc::plan<kc::op::matmul_grad_x, L, V, Ch>(gx);
    x.grad_w = kc::plan<kc::op::matmul_grad_w, L, V, Ch>(gw);
  } else {
    using C = kc::conv_call<V, L, Ch>;
    const C fwd{core.w, core.x, nullptr, nullptr, out, z, chain, core.geo, s, nullptr};
    const C gx{core.w, nullptr, dy, z, out, nullptr, chain, core.geo, s, nullptr};
    const C gw{core.w, core.x, dy, z, out, nullptr, chain, core.geo, s, nullptr};
    x.forward = kc::plan<kc::op::conv2d_forward, L, V, Ch>(fwd);
    x.grad_x = kc::plan<kc::op::conv2d_grad_x, L, V, Ch>(gx);
    x.grad_w = kc::plan<kc::op::conv2d_grad_w, L, V, Ch>(gw);
  }
  return x;
}

}  // namespace stco::cuda
