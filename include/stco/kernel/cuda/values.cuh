// stco/kernel/cuda/values.cuh — value types in and out of the float compute type, in device code
// through the hardware conversions (bit-identical to the host's: exact widening, round to
// nearest even when narrowing).
#pragma once

#include <type_traits>

#include "stco/config.hpp"
#include "stco/core/value_traits.hpp"

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#endif

namespace stco::kernel::cuda {

/// The value types the device kernels take (all compute in float).
template <class T>
inline constexpr bool device_value_type_v =
    std::is_same_v<T, float> || std::is_same_v<T, half> || std::is_same_v<T, bfloat16>;

/// Fails to compile, saying what to do instead, unless T is a device value type.
template <class T>
constexpr void check_device_value_type() {
  static_assert(device_value_type_v<T>,
                "stco CUDA kernels take float, stco::half and stco::bfloat16 values (double is "
                "not supported on the device: convert to float, or evaluate on the CPU)");
}

template <class T>
STCO_HD inline float to_float(T v) {
  if constexpr (std::is_same_v<T, float>) {
    return v;
  } else if constexpr (std::is_same_v<T, half>) {
#if defined(__CUDA_ARCH__)
    return __half2float(__ushort_as_half(v.bits));
#else
    return static_cast<float>(v);
#endif
  } else {
#if defined(__CUDA_ARCH__)
    return __bfloat162float(__ushort_as_bfloat16(v.bits));
#else
    return static_cast<float>(v);
#endif
  }
}

template <class T>
STCO_HD inline T from_float(float f) {
  if constexpr (std::is_same_v<T, float>) {
    return f;
  } else if constexpr (std::is_same_v<T, half>) {
#if defined(__CUDA_ARCH__)
    return half::from_bits(__half_as_ushort(__float2half_rn(f)));
#else
    return half(f);
#endif
  } else {
#if defined(__CUDA_ARCH__)
    return bfloat16::from_bits(__bfloat16_as_ushort(__float2bfloat16_rn(f)));
#else
    return bfloat16(f);
#endif
  }
}

}  // namespace stco::kernel::cuda
