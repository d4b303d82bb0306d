// stco/core/cuda/options.cuh — the choices a caller may make about how stco's CUDA calls run. They
// travel with the stream every call takes (stream.cuh), so two threads or two streams can run with
// different options, and nothing is a process-wide switch:
//
//     stco::cuda::options o;
//     o.fast_kernels = false;                             // the portable kernels only
//     stco::eval(Y, expr, stco::cuda::stream{s, o});
//
// The defaults are what the planner (kernel/cuda/planner.cuh) would choose on its own; the tuning
// fields exist so that tests can reach every kernel and benchmarks can compare variants.
#pragma once

namespace stco::cuda {

/// How a call may run. Every field's default lets the planner choose.
struct options {
  /// Whether the tensor-core kernel families (gather_tc, sparse_tc) may run; false routes every
  /// call to the portable kernels.
  bool fast_kernels = true;

  /// Tuning of the tile layouts' tensor-core kernels (kernel/cuda/gather_tc/).
  struct gather_tc_tuning {
    /// The sm_90a wgmma mainloop where the device and the build have it (false: mma.sync).
    bool wgmma = true;
    /// The warp-specialized persistent kernel where it takes the call (needs wgmma).
    bool warp_specialized = true;
    /// How the warp-specialized kernel copies gathered rows: cp.async from the producer warps,
    /// or one-row TMA boxes.
    enum class copy { cp_async, tma_rows } gather = copy::cp_async;
    /// At most this many persistent CTAs (0: one per multiprocessor).
    int grid_limit = 0;
    /// Row tiles per group of the persistent walk (0: the kernel's default).
    int group = 0;
    /// dW runs on the warp-specialized kernel only with at least this many work units (−1: half
    /// the multiprocessors).
    int grad_w_min_units = -1;
  } gather_tc;

  /// Tuning of the N:M sparse tensor-core kernels (kernel/cuda/sparse_tc/).
  struct sparse_tc_tuning {
    /// Tile width (BN) of the sm_90a sparse kernel (forward, transposable dX): 256 or 128.
    int sparse_bn = 256;
    /// Tile width of the sm_90a dense kernel of dW: 256 or 128.
    int dense_bn = 256;
  } sparse_tc;

  friend bool operator==(const options& a, const options& b) {
    return a.fast_kernels == b.fast_kernels && a.gather_tc.wgmma == b.gather_tc.wgmma &&
           a.gather_tc.warp_specialized == b.gather_tc.warp_specialized &&
           a.gather_tc.gather == b.gather_tc.gather &&
           a.gather_tc.grid_limit == b.gather_tc.grid_limit &&
           a.gather_tc.group == b.gather_tc.group &&
           a.gather_tc.grad_w_min_units == b.gather_tc.grad_w_min_units &&
           a.sparse_tc.sparse_bn == b.sparse_tc.sparse_bn &&
           a.sparse_tc.dense_bn == b.sparse_tc.dense_bn;
  }
  friend bool operator!=(const options& a, const options& b) { return !(a == b); }
};

}  // namespace stco::cuda
