// bench/networks/gpu/case.hpp — one sparse conv layer × layout of bench_networks_gpu: stco's
// training step on the device (forward + dX + dW through the public device expressions), built by
// make_case<L>, which each layout's translation unit (gpu/layout_*.cu) instantiates, so that the
// fast-path kernels of different layouts compile in parallel and the driver TU compiles none.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../shared.hpp"

namespace stco_bench::networks_gpu {

using layer = stco_bench::networks::layer;

/// How stco runs the layer:
///   conv  conv2d(W, X) on NHWC X (implicit im2col inside the kernels);
///   gemm  matmul(W, X) on the im2col operand X [K, N] (im2col not timed, as for the peers):
///         for nm<2,4>, whose sparse-tensor-core path (sparse_tc) has no conv form yet, and as the
///         kernel-to-kernel comparison for the tile layouts;
///   gemm_transposable  gemm on a transposable 2:4 mask (nm<2,4> only): Wᵀ is 2:4 too, so dX
///         also runs on the sparse tensor cores (sparse_tc::prune_transposable_weight).
enum class form { conv, gemm, gemm_transposable };

struct gpu_case {
  virtual ~gpu_case() = default;
  /// Queues forward, dX and dW on the case's stream.
  virtual void step() = 0;
  double density = 0;
  std::vector<int> row_ptr, cols;  // the mask as CSR [R, K] (for the cuSPARSE peer)
  // The weight decoded to dense [R, K] (fp16 bits, zeros in place; K in (kh, kw, c) order, so
  // also the KRSC filter): the dense peers' pruned-dense weight.
  std::vector<std::uint16_t> decoded;
  bool transposable = false;  // the mask is 2:4 along R too (cuSPARSELt can run dX)
};

/// A random weight of layout L at `sparsity` (magnitude pruning), random inputs, on stream s,
/// run in form F. Instantiated, one layout and form per file, by gpu/layout_*.cu.
template <class L, form F>
std::unique_ptr<gpu_case> make_case(const layer& l, double sparsity, cudaStream_t s);

}  // namespace stco_bench::networks_gpu
