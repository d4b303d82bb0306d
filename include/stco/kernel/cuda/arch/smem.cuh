// stco/kernel/cuda/arch/smem.cuh — shared-memory addresses as the instructions take them, and a
// plain 16-byte shared store.
#pragma once

#include <cstdint>

namespace stco::kernel::cuda::arch {

/// The 32-bit shared-window address of a generic pointer into shared memory.
__device__ __forceinline__ std::uint32_t smem_addr(const void* p) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
}

/// Stores 16 zero bytes at shared address `addr` (16-byte aligned).
__device__ __forceinline__ void zero16(std::uint32_t addr) {
  asm volatile("st.shared.v4.u32 [%0], {%1, %1, %1, %1};\n" ::"r"(addr), "r"(0) : "memory");
}

}  // namespace stco::kernel::cuda::arch
