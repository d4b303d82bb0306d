// stco/core/half.hpp — IEEE 754 binary16 that works on the host (and in device code).
//
// Stored as its 16 bits, so it is layout-compatible with CUDA's `__half`. Arithmetic goes through
// float, as the kernels accumulate in float anyway. Conversion from float rounds to nearest even.
#pragma once

#include <cstdint>
#include <cstring>

#include "stco/config.hpp"

namespace stco {

namespace detail {
STCO_HD inline std::uint32_t float_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
STCO_HD inline float bits_float(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

/// float → binary16 bits, round to nearest, ties to even; NaN stays NaN (quiet), overflow → ±inf.
STCO_HD inline std::uint16_t float_to_half_bits(float f) {
  const std::uint32_t x = float_bits(f);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u)  // inf or NaN
    return static_cast<std::uint16_t>(sign | 0x7c00u |
                                      (ax > 0x7f800000u ? 0x200u | ((ax >> 13) & 0x3ffu) : 0u));
  if (ax >= 0x477ff000u)  // ≥ 65520: rounds to infinity
    return static_cast<std::uint16_t>(sign | 0x7c00u);
  if (ax < 0x38800000u) {  // below 2^-14: a half subnormal (or zero)
    const int e = static_cast<int>(ax >> 23);
    const int shift = 126 - e;  // half ulp here is 2^-24
    if (shift > 24) return static_cast<std::uint16_t>(sign);
    const std::uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    std::uint32_t h = m >> shift;
    const std::uint32_t rem = m & ((1u << shift) - 1u);
    const std::uint32_t halfway = 1u << (shift - 1);
    if (rem > halfway || (rem == halfway && (h & 1u))) ++h;
    return static_cast<std::uint16_t>(sign | h);
  }
  std::uint32_t h = (ax - 0x38000000u) >> 13;  // rebias exponent 127 → 15
  const std::uint32_t rem = ax & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // a carry rolls into the exponent
  return static_cast<std::uint16_t>(sign | h);
}

/// binary16 bits → float (exact).
STCO_HD inline float half_bits_to_float(std::uint16_t h) {
  const std::uint32_t sign = (static_cast<std::uint32_t>(h) & 0x8000u) << 16;
  std::uint32_t e = (h >> 10) & 0x1fu;
  std::uint32_t m = h & 0x3ffu;
  if (e == 0x1fu) return bits_float(sign | 0x7f800000u | (m << 13));
  if (e == 0) {
    if (m == 0) return bits_float(sign);
    e = 113;  // normalise the subnormal
    while (!(m & 0x400u)) {
      m <<= 1;
      --e;
    }
    return bits_float(sign | (e << 23) | ((m & 0x3ffu) << 13));
  }
  return bits_float(sign | ((e + 112) << 23) | (m << 13));
}
}  // namespace detail

/// binary16 value type. Construct explicitly from float/double; converts implicitly to float.
struct half {
  std::uint16_t bits = 0;

  half() = default;
  STCO_HD explicit half(float f) : bits(detail::float_to_half_bits(f)) {}
  STCO_HD explicit half(double d) : half(static_cast<float>(d)) {}
  STCO_HD explicit half(int i) : half(static_cast<float>(i)) {}
  STCO_HD static half from_bits(std::uint16_t b) {
    half h;
    h.bits = b;
    return h;
  }
  STCO_HD operator float() const { return detail::half_bits_to_float(bits); }
};

static_assert(sizeof(half) == 2, "stco::half must be 16 bits");

}  // namespace stco
