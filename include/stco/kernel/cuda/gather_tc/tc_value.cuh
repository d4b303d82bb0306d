// stco/kernel/cuda/gather_tc/tc_value.cuh — the 16-bit value types of the tile tensor-core kernels,
// seen as raw bits. (The instructions the kernels are built from live in kernel/cuda/arch/.)
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

}  // namespace stco::kernel::cuda::gather_tc
