// stco/kernel/cuda/dispatch.cuh — what a CUDA call is, and where a kernel family plugs in. The
// drivers (matmul.cuh, conv2d.cuh) ask the planner (planner.cuh) for the call's route; the planner
// asks the family's fast_path specialization, which either plans one of its kernels or declines
// with a reason, and the portable kernels run what no family takes.
//
// A family specializes fast_path<Op, L, T, Chain> for the combinations it handles, e.g. nm<2,4>
// half:
//
//   template <class Chain>
//   struct fast_path<op::matmul_forward, nm<2, 4>, half, Chain> {
//     static constexpr bool available = true;
//     static route plan(const gemm_call<half, nm<2, 4>, Chain>& c);   // no launch, no side effect
//     static void run(const gemm_call<half, nm<2, 4>, Chain>& c, const route& r);   // runs r
//   };
//
// plan() must decide everything run() does: run() follows the route and never falls back on its
// own, so the route printed by stco::cuda::explain is the kernel that runs. A call carries raw
// device pointers, sizes, the epilogue chain (trivially copyable, usable in device code) and the
// stream with its options; `w` gives the device entity, whose derived<Map>() cache is where a
// kernel keeps its index maps (built once per entity, shared by every call on it).
#pragma once

#include <cstdint>
#include <type_traits>

#include "stco/core/cuda/stream.cuh"
#include "stco/expr/conv_params.hpp"
#include "stco/kernel/cuda/dz_memo.cuh"
#include "stco/kernel/cuda/route.cuh"
#include "stco/layout/cuda/device_sparse_matrix.cuh"

namespace stco::kernel::cuda {

/// One GEMM-shaped call: forward   out = Y [R, N] = chain(W·X), stash ← activation input;
///                       grad_x    out = dX [K, N] = Wᵀ·dZ;
///                       grad_w    out = dW values  = (dZ·Xᵀ) at W's kept slots (others 0).
/// dZ = dY ⊙ chain'(z) is formed inside the kernels from dy and z (z null: no activation).
template <class T, class L, class Chain>
struct gemm_call {
  const stco::cuda::device_sparse_matrix<T, L>* w;
  const T* x;      // X [K, N] (forward, grad_w)
  const T* dy;     // dY [R, N] (grad_x, grad_w)
  const float* z;  // stashed activation input [R, N] (grads), or null
  T* out;
  float* stash;  // forward: activation input written here, or null
  Chain chain;
  index_t r, k, n;  // W [r, k], X [k, n]
  stco::cuda::stream s;
  dz_memo* memo;  // grads: the gradient object's formed dZ (dz_memo.cuh), or null
};

/// One convolution call (NHWC activations; W [Cout, KH·KW·Cin/groups]); as gemm_call with
/// X [batch, H, W, Cin], Y and dY [batch, OH, OW, Cout].
template <class T, class L, class Chain>
struct conv_call {
  const stco::cuda::device_sparse_matrix<T, L>* w;
  const T* x;
  const T* dy;
  const float* z;
  T* out;
  float* stash;
  Chain chain;
  conv_geometry g;
  stco::cuda::stream s;
  dz_memo* memo;
};

/// A 256-byte aligned address standing for a buffer a call would allocate (cudaMalloc'd): planning
/// reads only the alignment of such pointers, never what they point to.
template <class T>
T* stand_in() {
  return reinterpret_cast<T*>(std::uintptr_t{256});
}

template <class Call>
struct is_conv_call : std::false_type {};
template <class T, class L, class Chain>
struct is_conv_call<conv_call<T, L, Chain>> : std::true_type {};

/// No family takes the combination: the portable kernels run. Specializations set `available`
/// and provide `static route plan(const call&)` and `static void run(const call&, const route&)`.
template <op Op, class L, class T, class Chain, class = void>
struct fast_path {
  static constexpr bool available = false;
};

}  // namespace stco::kernel::cuda
