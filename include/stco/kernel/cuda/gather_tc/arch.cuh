// stco/kernel/cuda/gather_tc/arch.cuh — the instructions the tile tensor-core kernels are built
// from (sm_80 and newer): 16-byte cp.async with zero fill, ldmatrix, mma.sync m16n8k16 with fp32
// accumulation, and the 16-bit value types seen as raw bits.
//
// Values travel as uint16_t bits (stco::half and stco::bfloat16 are bit-compatible with __half and
// __nv_bfloat16); only the MMA and the conversions look at which of the two they are.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "stco/core/bfloat16.hpp"
#include "stco/core/half.hpp"

namespace stco::kernel::cuda::gather_tc {

/// The 16-bit value types the tensor-core paths take.
template <class V>
inline constexpr bool is_tc_value_v = std::is_same_v<V, half> || std::is_same_v<V, bfloat16>;

/// Conversions of one 16-bit value type (as bits) to and from float.
template <class V>
struct tc_value {
  static_assert(is_tc_value_v<V>,
                "stco gather_tc: the tensor-core paths take stco::half or "
                "stco::bfloat16; use the portable CUDA kernels for float");
  static constexpr bool bf16 = std::is_same_v<V, bfloat16>;
  __device__ __forceinline__ static float to_float(std::uint16_t b) {
    if constexpr (bf16)
      return __bfloat162float(__ushort_as_bfloat16(b));
    else
      return __half2float(__ushort_as_half(b));
  }
  __device__ __forceinline__ static std::uint16_t from_float(float f) {
    if constexpr (bf16)
      return __bfloat16_as_ushort(__float2bfloat16_rn(f));
    else
      return __half_as_ushort(__float2half_rn(f));
  }
  /// Two floats packed as two 16-bit values, the first in the low half.
  __device__ __forceinline__ static std::uint32_t pack(float lo, float hi) {
    return static_cast<std::uint32_t>(from_float(lo)) |
           (static_cast<std::uint32_t>(from_float(hi)) << 16);
  }
};

namespace arch {

__device__ __forceinline__ std::uint32_t smem_addr(const void* p) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
}

/// 16-byte global → shared copy; `bytes` = 0 writes zeros without reading `src`.
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, int bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src),
               "r"(bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ void ldmatrix_x4(std::uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(std::uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}

/// c += a·b on one m16n8k16 tile: a row-major 16×16, b column-major 16×8, fp32 accumulators.
template <bool BF16>
__device__ __forceinline__ void mma_16816(float (&c)[4], const std::uint32_t (&a)[4],
                                          std::uint32_t b0, std::uint32_t b1) {
  if constexpr (BF16)
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  else
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

}  // namespace arch
}  // namespace stco::kernel::cuda::gather_tc
