// stco/kernel/cuda/gather_tc/launch.cuh — launching a gathered-GEMM problem: the dynamic shared
// memory limit raised once per kernel, the launch, and its error turned into stco::cuda_error.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "stco/core/cuda/check.cuh"
#include "stco/core/index.hpp"
#include "stco/kernel/cuda/arch/device.cuh"
#include "stco/kernel/cuda/gather_tc/gemm_kernel.cuh"
#include "stco/kernel/cuda/gather_tc/tc_value.cuh"

namespace stco::kernel::cuda::gather_tc {

inline bool aligned16(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; }

/// Raises `kernel`'s dynamic shared-memory limit to `bytes` (once per kernel and size).
template <class Kernel>
void allow_smem(Kernel kernel, int bytes) {
  static const int raised = [&] {
    if (bytes > 48 * 1024)
      STCO_CUDA_CHECK(
          cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
    return bytes;
  }();
  (void)raised;
}

/// Slices to split a reduction of `ksteps` k-steps into, so that `ctas` CTAs fill about two
/// waves; each slice keeps at least `min_steps` k-steps (conv dW reduces over every pixel of the
/// batch with only a handful of output tiles).
inline int split_slices(index_t ctas, index_t ksteps, index_t min_steps = 16) {
  const index_t want = 2 * static_cast<index_t>(arch::sm_count());
  if (ctas <= 0 || ctas >= want) return 1;
  const index_t s = std::min(ceil_div(want, ctas), std::max<index_t>(1, ksteps / min_steps));
  return static_cast<int>(std::min<index_t>(s, 65535));
}

/// ws (fp32 sums of the slices) → out in the value type.
template <class V>
__global__ void finish_split_kernel(const float* ws, std::uint16_t* out, index_t n) {
  for (index_t i = blockIdx.x * static_cast<index_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<index_t>(gridDim.x) * blockDim.x)
    out[i] = tc_value<V>::from_float(ws[i]);
}

/// The fp32 workspace of a split reduction over `n` values, zeroed, freed in stream order.
class split_workspace {
 public:
  split_workspace(index_t n, cudaStream_t s) : n_(n), s_(s) {
    STCO_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&p_),
                                    static_cast<std::size_t>(n) * sizeof(float), s));
    STCO_CUDA_CHECK(cudaMemsetAsync(p_, 0, static_cast<std::size_t>(n) * sizeof(float), s));
  }
  split_workspace(const split_workspace&) = delete;
  split_workspace& operator=(const split_workspace&) = delete;
  ~split_workspace() { cudaFreeAsync(p_, s_); }
  float* get() const { return p_; }
  /// Writes the sums to `out` (n values of V).
  template <class V>
  void finish(V* out) const {
    const index_t blocks = std::min<index_t>(ceil_div(n_, 256), 4096);
    finish_split_kernel<V><<<static_cast<unsigned>(blocks), 256, 0, s_>>>(
        p_, reinterpret_cast<std::uint16_t*>(out), n_);
    STCO_CUDA_CHECK(cudaGetLastError());
  }

 private:
  float* p_ = nullptr;
  index_t n_;
  cudaStream_t s_;
};

template <class P>
void launch_problem(const P& p, dim3 grid, cudaStream_t stream) {
  constexpr int bytes = problem_smem_bytes<P>();
  auto* kernel = &gather_gemm_kernel<P>;
  allow_smem(kernel, bytes);
  kernel<<<grid, P::config::threads, bytes, stream>>>(p);
  STCO_CUDA_CHECK(cudaGetLastError());
}

}  // namespace stco::kernel::cuda::gather_tc
