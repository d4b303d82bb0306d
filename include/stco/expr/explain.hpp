// stco/expr/explain.hpp — which CPU kernels a host expression's calls run.
//
//     std::cout << stco::explain(stco::relu(stco::matmul(W, X) + stco::bias(b)));
//
// prints one line per call of a training step (forward, dX, dW): the layout's kernel for that
// product (kernel/cpu/<layout>.hpp; the one place a CPU call's kernel is chosen is the
// layout_kernel<L> specialization the drivers instantiate), the compute type, the vector width,
// the column chunk the drivers cut X into and the thread count, e.g.
//
//     matmul forward: cpu/tile_wise<16>: each tile a dense GEMM over its kept columns (float, ...)
//
// The CUDA counterpart is stco::cuda::explain (expr/cuda/explain.cuh).
#pragma once

#include <sstream>
#include <string>
#include <type_traits>

#include "stco/core/parallel.hpp"
#include "stco/core/value_traits.hpp"
#include "stco/expr/eval.hpp"
#include "stco/expr/explanation.hpp"
#include "stco/expr/nodes.hpp"
#include "stco/kernel/cpu/layout_kernel.hpp"
#include "stco/kernel/cpu/simd.hpp"

namespace stco {

/// The CPU kernels of one layer's three calls.
using cpu_explanation = explanation_of<std::string>;

namespace detail {
template <class T>
const char* compute_type_name() {
  if constexpr (std::is_same_v<T, double>)
    return "double";
  else
    return "float";
}
}  // namespace detail

/// The CPU kernels the calls of host expression `e` run (eval, and grad's wrt(X) and wrt(W)).
template <class E, std::enable_if_t<is_expression_v<E>, int> = 0>
cpu_explanation explain(const E&) {
  using Core = typename flatten<E>::core_type;
  static_assert(!is_device_core<Core>::value,
                "stco::explain: a device expression; use stco::cuda::explain(expr, stream)");
  using L = typename Core::layout_type;
  using C = acc_t<typename E::value_type>;
  using KL = kernel::cpu::layout_kernel<L>;
  const std::string op = Core::out_rank == 2 ? "matmul" : "conv2d";
  std::ostringstream cfg;
  cfg << " (" << detail::compute_type_name<C>() << ", " << kernel::cpu::simd<C>::width
      << "-wide vectors, " << kernel::cpu::chunk_cols<C> << "-column chunks of "
      << (Core::out_rank == 2 ? "X" : "the implicit im2col") << ", " << num_threads()
      << (num_threads() == 1 ? " thread)" : " threads)");
  const std::string where = ": cpu/" + L::name() + ": ";
  return {op + " forward" + where + KL::names.forward + cfg.str(),
          op + " dX" + where + KL::names.grad_x + cfg.str(),
          op + " dW" + where + KL::names.grad_w + cfg.str()};
}

}  // namespace stco
