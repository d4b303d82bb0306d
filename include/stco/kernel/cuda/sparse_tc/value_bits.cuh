// stco/kernel/cuda/sparse_tc/value_bits.cuh — the nm<2,4> kernels' 16-bit value types seen as raw
// bits: conversions to and from float (round to nearest even), and which MMA type each is. (The
// instructions the kernels are built from live in kernel/cuda/arch/.)
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "stco/core/bfloat16.hpp"
#include "stco/core/half.hpp"

namespace stco::cuda::sparse_tc::bits {

/// Whether T (stco::half or stco::bfloat16) runs as bf16 on the tensor cores (else f16).
template <class T>
inline constexpr bool is_bf16_v = !std::is_same_v<T, ::stco::half>;

/// Two floats rounded to a packed pair of T, low element first.
template <class T>
__device__ inline std::uint32_t pack2(float lo, float hi) {
  std::uint32_t u;
  if constexpr (!is_bf16_v<T>) {
    const __half2 h = __floats2half2_rn(lo, hi);
    u = *reinterpret_cast<const std::uint32_t*>(&h);
  } else {
    const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
    u = *reinterpret_cast<const std::uint32_t*>(&h);
  }
  return u;
}
template <class T>
__device__ inline std::uint16_t to_bits(float f) {
  if constexpr (!is_bf16_v<T>)
    return __half_as_ushort(__float2half_rn(f));
  else
    return __bfloat16_as_ushort(__float2bfloat16_rn(f));
}
template <class T>
__device__ inline float to_float(std::uint16_t bits) {
  if constexpr (!is_bf16_v<T>)
    return __half2float(__ushort_as_half(bits));
  else
    return __bfloat162float(__ushort_as_bfloat16(bits));
}

}  // namespace stco::cuda::sparse_tc::bits
