// stco/kernel/cuda/arch/mbarrier.cuh — shared-memory mbarriers as the Hopper pipelines use them:
// init, arrive (plain, with an expected transaction count, or when a thread's cp.asyncs land),
// and the parity wait.
//
// A stage barrier completes a phase once its arrival count is reached and every byte announced
// with mbar_expect_tx has arrived (TMA loads complete_tx on it). Defined in the sm_90a device pass
// only (STCO_ARCH_SM90A, target.cuh), like the kernels that use them.
#pragma once

#include <cstdint>

#include "stco/kernel/cuda/arch/smem.cuh"
#include "stco/kernel/cuda/arch/target.cuh"

namespace stco::kernel::cuda::arch {

#if STCO_ARCH_SM90A

/// Sets up the barrier at `bar` to complete a phase after `count` arrivals.
__device__ __forceinline__ void mbar_init(std::uint64_t* bar, unsigned count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(smem_addr(bar)), "r"(count));
}
/// Makes initialized barriers visible to the other threads and to the async proxy (TMA).
__device__ __forceinline__ void fence_barrier_init() {
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::);
}
/// Arrives and announces `bytes` more transaction bytes for the current phase.
__device__ __forceinline__ void mbar_expect_tx(std::uint64_t* bar, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(smem_addr(bar)),
               "r"(bytes));
}
__device__ __forceinline__ void mbar_arrive(std::uint64_t* bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(smem_addr(bar)));
}
/// Arrives on `bar` once this thread's earlier cp.asyncs have landed; the arrival is one of the
/// count given to mbar_init (noinc).
__device__ __forceinline__ void cp_async_arrive(std::uint64_t* bar) {
  asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(smem_addr(bar))
               : "memory");
}
/// Spins until the phase with parity `parity` has completed.
__device__ __forceinline__ void mbar_wait(std::uint64_t* bar, unsigned parity) {
  asm volatile(
      "{\n.reg .pred P;\nWAIT_%=:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 P, [%0], %1;\n"
      "@!P bra WAIT_%=;\n}\n" ::"r"(smem_addr(bar)),
      "r"(parity));
}

#endif  // STCO_ARCH_SM90A

}  // namespace stco::kernel::cuda::arch
