// stco/kernel/cuda/tiletc/launch.cuh — launching a gathered-GEMM problem: the dynamic shared
// memory limit raised once per kernel, the launch, and its error turned into stco::cuda_error.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "stco/core/cuda/check.cuh"
#include "stco/kernel/cuda/tiletc/gemm_kernel.cuh"

namespace stco::kernel::cuda::tiletc {

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

template <class P>
void launch_problem(const P& p, dim3 grid, cudaStream_t stream) {
  constexpr int bytes = problem_smem_bytes<P>();
  auto* kernel = &gather_gemm_kernel<P>;
  allow_smem(kernel, bytes);
  kernel<<<grid, P::config::threads, bytes, stream>>>(p);
  STCO_CUDA_CHECK(cudaGetLastError());
}

}  // namespace stco::kernel::cuda::tiletc
