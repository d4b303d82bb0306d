// stco/kernel/cuda/launch.cuh — how stco launches its CUDA kernels: every kernel is a *body*, a
// struct whose static `run(block, params, shared)` is the per-thread code of one thread block,
// launched through one generic __global__ entry.
//
//   struct my_body {
//     static constexpr int threads = 256;           // block size (also __launch_bounds__)
//     struct params { ... };                         // trivially copyable kernel argument
//     struct shared { ... };                         // the block's shared memory
//     template <class Block>
//     STCO_HD static void run(const Block& b, const params& p, shared& sm);
//   };
//   stco::kernel::cuda::launch<my_body>(grid{bx, by}, s, p);
//
// `Block` gives thread() / threads() / block_x() / block_y() / sync() / block_sum<Threads>(v)
// (a CUB block reduction; the sum is valid in thread 0). Bodies use nothing else of CUDA, so the
// same body also runs in a host emulation (define STCO_CUDA_EMULATE and provide
// `stco::kernel::cuda::emulate_launch<Body>(grid, params)` before including stco, as the
// test suite's emulation harness does) that checks kernel logic on machines without a GPU.
#pragma once

#include <cuda_runtime.h>

#include <climits>

#include "stco/config.hpp"
#include "stco/core/cuda/check.cuh"
#include "stco/core/cuda/stream.cuh"
#include "stco/core/error.hpp"
#include "stco/core/index.hpp"

#if defined(__CUDACC__) && !defined(STCO_CUDA_EMULATE)
#include <cub/block/block_reduce.cuh>
#endif

namespace stco::kernel::cuda {

/// A launch grid: x up to 2^31 − 1 blocks, y up to 65535.
struct grid {
  index_t x = 1, y = 1;
};

/// The running thread block, as CUDA sees it.
struct device_block {
  STCO_HD int thread() const {
#if defined(__CUDA_ARCH__)
    return static_cast<int>(threadIdx.x);
#else
    return 0;
#endif
  }
  STCO_HD int threads() const {
#if defined(__CUDA_ARCH__)
    return static_cast<int>(blockDim.x);
#else
    return 1;
#endif
  }
  STCO_HD index_t block_x() const {
#if defined(__CUDA_ARCH__)
    return blockIdx.x;
#else
    return 0;
#endif
  }
  STCO_HD index_t block_y() const {
#if defined(__CUDA_ARCH__)
    return blockIdx.y;
#else
    return 0;
#endif
  }
  STCO_HD void sync() const {
#if defined(__CUDA_ARCH__)
    __syncthreads();
#endif
  }
  /// The sum of v over the block (Threads = blockDim.x), valid in thread 0.
  template <int Threads, class V>
  STCO_HD V block_sum(V v) const {
#if defined(__CUDA_ARCH__)
    using reduce = cub::BlockReduce<V, Threads>;
    __shared__ typename reduce::TempStorage storage;
    return reduce(storage).Sum(v);
#else
    return v;
#endif
  }
};

#if !defined(STCO_CUDA_EMULATE)
namespace entry {
template <class Body>
__global__ void __launch_bounds__(Body::threads) kernel_entry(const typename Body::params p) {
  __shared__ typename Body::shared sm;
  Body::run(device_block{}, p, sm);
}
}  // namespace entry
#endif

/// Launches Body over `g` on `s`; cuda_error names the body if the launch fails. An empty grid
/// launches nothing.
template <class Body>
void launch(grid g, stco::cuda::stream s, const typename Body::params& p) {
  if (g.x <= 0 || g.y <= 0) return;
  if (g.x > INT_MAX || g.y > 65535)
    throw shape_error(stco::detail::message("stco::cuda: a launch grid of ", g.x, " x ", g.y,
                                            " blocks exceeds the device's limits"));
#if defined(STCO_CUDA_EMULATE)
  (void)s;
  emulate_launch<Body>(g, p);
#else
  entry::kernel_entry<Body>
      <<<dim3(static_cast<unsigned>(g.x), static_cast<unsigned>(g.y)), Body::threads, 0, s.get()>>>(
          p);
  STCO_CUDA_CHECK(cudaGetLastError());
#endif
}

/// *p = min(*p, v), atomically on the device (kernels that use it stay correct in the host
/// emulation, whose threads never interleave between two barriers).
STCO_HD inline void atomic_min(unsigned long long* p, unsigned long long v) {
#if defined(__CUDA_ARCH__)
  atomicMin(p, v);
#else
  if (v < *p) *p = v;
#endif
}

/// Blocks of `per_block` items that cover n items.
inline index_t blocks_for(index_t n, index_t per_block) { return ceil_div(n, per_block); }

}  // namespace stco::kernel::cuda
