// half and bfloat16 against double-precision references: exact round trips, and round-to-nearest-
// even checked by comparing with both neighbours.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "../support/random.hpp"
#include "stco/core.hpp"

namespace {
// Reference decoding of binary16 bits in double, written from the format's definition.
double half_reference(std::uint16_t h) {
  const int sign = (h >> 15) ? -1 : 1;
  const int e = (h >> 10) & 31;
  const int m = h & 1023;
  if (e == 31)
    return m ? std::numeric_limits<double>::quiet_NaN()
             : sign * std::numeric_limits<double>::infinity();
  if (e == 0) return sign * std::ldexp(m, -24);
  return sign * std::ldexp(1024 + m, e - 25);
}
double bf16_reference(std::uint16_t b) {
  const int sign = (b >> 15) ? -1 : 1;
  const int e = (b >> 7) & 255;
  const int m = b & 127;
  if (e == 255)
    return m ? std::numeric_limits<double>::quiet_NaN()
             : sign * std::numeric_limits<double>::infinity();
  if (e == 0) return sign * std::ldexp(m, -133);
  return sign * std::ldexp(128 + m, e - 134);
}

// Is `got` (bits) the correctly rounded value of f among all finite values of the format?
template <class Ref>
void check_rounding(float f, std::uint16_t got, Ref ref, double inf_boundary) {
  const double x = f;
  const double g = ref(got);
  if (std::fabs(x) >= inf_boundary) {  // at or past the tie above the largest finite: infinity
    CHECK(std::isinf(g));
    return;
  }
  REQUIRE(std::isfinite(g));
  const std::uint16_t mag = got & 0x7fff;
  const std::uint16_t sign = got & 0x8000;
  // Neighbours in magnitude (same sign).
  for (int d : {-1, 1}) {
    const int nm = static_cast<int>(mag) + d;
    if (nm < 0) continue;
    const double n = ref(static_cast<std::uint16_t>(sign | nm));
    if (!std::isfinite(n)) continue;
    const double eg = std::fabs(x - g), en = std::fabs(x - n);
    CHECK(eg <= en);
    if (eg == en) CHECK((mag & 1) == 0);  // ties to even
  }
}
}  // namespace

TEST_CASE("half: every bit pattern round-trips through float and matches the reference") {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const auto h = stco::half::from_bits(static_cast<std::uint16_t>(b));
    const float f = h;
    const double ref = half_reference(static_cast<std::uint16_t>(b));
    if (std::isnan(ref)) {
      CHECK(std::isnan(f));
      CHECK(std::isnan(static_cast<float>(stco::half(f))));
    } else {
      CHECK(static_cast<double>(f) == ref);
      CHECK(stco::half(f).bits == b);
    }
  }
}

TEST_CASE("half: float → half rounds to nearest even") {
  std::uniform_int_distribution<std::uint32_t> bits;
  for (int i = 0; i < 200000; ++i) {
    std::uint32_t u = bits(stco_test::rng());
    // Concentrate on the half range (exponents 2^-26 .. 2^16), including subnormals.
    u = (u & 0x807fffffu) | ((100u + (u >> 23) % 46u) << 23);
    const float f = stco::detail::bits_float(u);
    check_rounding(f, stco::half(f).bits, half_reference, 65520.0);
  }
  CHECK(stco::half(65519.0f).bits == 0x7bff);  // just below the tie: largest finite
  CHECK(stco::half(65520.0f).bits == 0x7c00);  // the tie rounds to even = infinity
  CHECK(stco::half(std::ldexp(1.0f, -25)).bits ==
        0x0000);  // half the smallest subnormal: to even (0)
  CHECK(stco::half(std::nextafter(std::ldexp(1.0f, -25), 1.0f)).bits == 0x0001);
  CHECK(stco::half(-0.0f).bits == 0x8000);
  CHECK(std::isnan(static_cast<float>(stco::half(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(static_cast<float>(stco::half(-std::numeric_limits<float>::infinity())) ==
        -std::numeric_limits<float>::infinity());
}

TEST_CASE("bfloat16: round trips and rounds to nearest even") {
  for (std::uint32_t b = 0; b < 65536; ++b) {
    const auto h = stco::bfloat16::from_bits(static_cast<std::uint16_t>(b));
    const double ref = bf16_reference(static_cast<std::uint16_t>(b));
    if (std::isnan(ref)) {
      CHECK(std::isnan(static_cast<float>(h)));
    } else {
      CHECK(static_cast<double>(static_cast<float>(h)) == ref);
      CHECK(stco::bfloat16(static_cast<float>(h)).bits == b);
    }
  }
  std::uniform_int_distribution<std::uint32_t> bits;
  for (int i = 0; i < 200000; ++i) {
    const float f =
        stco::detail::bits_float(bits(stco_test::rng()) & 0xfeffffffu);  // exponent < 255
    if (!std::isfinite(f)) continue;
    check_rounding(f, stco::bfloat16(f).bits, bf16_reference,
                   std::ldexp(2.0 - std::ldexp(1.0, -8), 127));
  }
}

TEST_CASE("value traits") {
  static_assert(stco::is_value_type_v<float> && stco::is_value_type_v<stco::half> &&
                !stco::is_value_type_v<int>);
  static_assert(std::is_same_v<stco::value_traits<stco::bfloat16>::accum_type, float>);
  CHECK(stco::to_double(stco::half(0.5f)) == 0.5);
  CHECK(stco::from_double<stco::bfloat16>(1.0).bits == 0x3f80);
  CHECK(stco::is_nonzero(stco::half(-0.0f)) == false);
}
