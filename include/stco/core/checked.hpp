// stco/core/checked.hpp — overflow-checked size arithmetic, for every size computed from input that
// comes from outside the library (tensor extents, index arrays loaded from a file, layer shapes).
//
// Sizes are non-negative 64-bit integers (index_t). A product or sum that leaves [0, 2^63 - 1]
// throws instead of wrapping, so a hostile shape can never turn into a small allocation. The
// helpers are constexpr: in a constant expression an overflow is a compile error.
#pragma once

#include <cstdint>

#include "stco/core/error.hpp"

namespace stco::detail {

/// a · b for sizes a, b ≥ 0. Throws Error (shape_error unless given) naming `what` when an operand
/// is negative or the product exceeds 2^63 - 1. Host only; `what` is read only on failure.
template <class Error = shape_error>
constexpr std::int64_t checked_mul(std::int64_t a, std::int64_t b, const char* what) {
  if (a < 0 || b < 0) throw Error(message(what, ": negative size in ", a, " * ", b));
  std::int64_t p = 0;
#if defined(__GNUC__) || defined(__clang__)
  const bool overflow = __builtin_mul_overflow(a, b, &p);
#else
  const bool overflow = a != 0 && b > INT64_MAX / a;
  if (!overflow) p = a * b;
#endif
  if (overflow)
    throw Error(message(what, ": ", a, " * ", b, " exceeds the largest size, 2^63 - 1"));
  return p;
}

/// a + b for sizes a, b ≥ 0, checked as checked_mul is.
template <class Error = shape_error>
constexpr std::int64_t checked_add(std::int64_t a, std::int64_t b, const char* what) {
  if (a < 0 || b < 0) throw Error(message(what, ": negative size in ", a, " + ", b));
  if (a > INT64_MAX - b)
    throw Error(message(what, ": ", a, " + ", b, " exceeds the largest size, 2^63 - 1"));
  return a + b;
}

}  // namespace stco::detail
