// stco/kernel/cuda/dispatch.cuh — where a fast kernel plugs in. The drivers (matmul.cuh,
// conv2d.cuh) ask fast_path<Op, L, T, Chain> first and run the portable kernel when it is not
// available or not applicable to the call's shapes.
//
// To add a fast kernel, specialize fast_path (in the glue header fast_paths.cuh) for the
// combinations it handles, e.g. nm<2,4> half:
//
//   template <class Chain>
//   struct fast_path<op::matmul_forward, nm<2, 4>, half, Chain> {
//     static constexpr bool available = true;
//     static bool applicable(const gemm_call<half, nm<2, 4>, Chain>& c) { return c.k % 64 == 0; }
//     static void run(const gemm_call<half, nm<2, 4>, Chain>& c) { /* launch on c.s */ }
//   };
//
// A call carries raw device pointers, sizes, the epilogue chain (trivially copyable, usable in
// device code) and the stream; `w` gives the device entity, whose derived<Map>() cache is where a
// kernel keeps its metadata order (built once per entity, shared by every call on it).
#pragma once

#include <atomic>

#include "stco/core/cuda/stream.cuh"
#include "stco/expr/conv_params.hpp"
#include "stco/kernel/cuda/dz_memo.cuh"
#include "stco/layout/cuda/device_sparse_matrix.cuh"

namespace stco::kernel::cuda {

/// The ops a kernel implements.
enum class op {
  matmul_forward,
  matmul_grad_x,
  matmul_grad_w,
  conv2d_forward,
  conv2d_grad_x,
  conv2d_grad_w
};

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

namespace toggle {
inline std::atomic<bool>& fast_paths_flag() {
  static std::atomic<bool> on{true};
  return on;
}
}  // namespace toggle

/// Whether registered fast kernels may run (true by default).
inline bool fast_paths_enabled() { return toggle::fast_paths_flag().load(); }
/// Turns the fast kernels on or off for every later call (off: the portable kernels run; tests
/// compare both).
inline void set_fast_paths(bool on) { toggle::fast_paths_flag().store(on); }

/// No fast kernel: the portable one runs. Specializations set `available` and provide
/// `static bool applicable(const call&)` and `static void run(const call&)`.
template <op Op, class L, class T, class Chain, class = void>
struct fast_path {
  static constexpr bool available = false;
};

/// Runs the fast kernel for the call if one is available and applicable; false otherwise.
template <op Op, class L, class T, class Chain, class Call>
bool try_fast_path(const Call& c) {
  using F = fast_path<Op, L, T, Chain>;
  if constexpr (F::available) {
    if (fast_paths_enabled() && F::applicable(c)) {
      F::run(c);
      return true;
    }
  }
  (void)c;
  return false;
}

}  // namespace stco::kernel::cuda
