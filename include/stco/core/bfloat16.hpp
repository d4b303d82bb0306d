// stco/core/bfloat16.hpp — bfloat16 (the top 16 bits of a float) that works on the host.
//
// Layout-compatible with CUDA's `__nv_bfloat16`. Conversion from float rounds to nearest even.
#pragma once

#include <cstdint>

#include "stco/config.hpp"
#include "stco/core/half.hpp"  // detail::float_bits / bits_float

namespace stco {

namespace detail {
/// float → bfloat16 bits, round to nearest, ties to even; NaN stays a quiet NaN.
STCO_HD inline std::uint16_t float_to_bf16_bits(float f) {
  const std::uint32_t x = float_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((x >> 16) | 0x40u);
  return static_cast<std::uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}
}  // namespace detail

/// bfloat16 value type. Construct explicitly from float/double; converts implicitly to float.
struct bfloat16 {
  std::uint16_t bits = 0;

  bfloat16() = default;
  STCO_HD explicit bfloat16(float f) : bits(detail::float_to_bf16_bits(f)) {}
  STCO_HD explicit bfloat16(double d) : bfloat16(static_cast<float>(d)) {}
  STCO_HD explicit bfloat16(int i) : bfloat16(static_cast<float>(i)) {}
  STCO_HD static bfloat16 from_bits(std::uint16_t b) {
    bfloat16 h;
    h.bits = b;
    return h;
  }
  STCO_HD operator float() const {
    return detail::bits_float(static_cast<std::uint32_t>(bits) << 16);
  }
};

static_assert(sizeof(bfloat16) == 2, "stco::bfloat16 must be 16 bits");

}  // namespace stco
