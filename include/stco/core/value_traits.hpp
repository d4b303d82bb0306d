// stco/core/value_traits.hpp — the value types stco computes with, and how to convert them.
#pragma once

#include <type_traits>

#include "stco/core/bfloat16.hpp"
#include "stco/core/half.hpp"

namespace stco {

/// Facts about a value type: its name, its accumulator type, and conversions through double.
/// Specialized for float, double, half and bfloat16; other types are not value types.
template <class T>
struct value_traits;

template <>
struct value_traits<float> {
  using accum_type = float;
  static constexpr const char* name = "float";
};
template <>
struct value_traits<double> {
  using accum_type = double;
  static constexpr const char* name = "double";
};
template <>
struct value_traits<half> {
  using accum_type = float;
  static constexpr const char* name = "half";
};
template <>
struct value_traits<bfloat16> {
  using accum_type = float;
  static constexpr const char* name = "bfloat16";
};

/// Accumulation (compute) type of value type T: double for double, float otherwise.
template <class T>
using acc_t = typename value_traits<T>::accum_type;

template <class T, class = void>
struct is_value_type : std::false_type {};
template <class T>
struct is_value_type<T, std::void_t<typename value_traits<T>::accum_type>> : std::true_type {};
template <class T>
inline constexpr bool is_value_type_v = is_value_type<std::remove_cv_t<T>>::value;

/// Any value type (or arithmetic type) as double.
template <class T>
STCO_HD inline double to_double(T v) {
  if constexpr (std::is_arithmetic_v<T>)
    return static_cast<double>(v);
  else
    return static_cast<double>(static_cast<float>(v));
}

/// A double as value type T (rounded to nearest for the 16-bit types).
template <class T>
STCO_HD inline T from_double(double d) {
  return static_cast<T>(d);
}
template <>
STCO_HD inline half from_double<half>(double d) {
  return half(static_cast<float>(d));
}
template <>
STCO_HD inline bfloat16 from_double<bfloat16>(double d) {
  return bfloat16(static_cast<float>(d));
}

/// True where v is a nonzero (NaN counts as nonzero: it is something to keep, not a hole).
template <class T>
inline bool is_nonzero(T v) {
  return !(to_double(v) == 0.0);
}

}  // namespace stco
