// stco/core/index.hpp — the index type and the 2-D shape every layout speaks in.
#pragma once

#include <cstdint>
#include <ostream>

#include "stco/config.hpp"
#include "stco/core/checked.hpp"

namespace stco {

/// Signed index type for extents, offsets and counts (large enough for any host tensor).
using index_t = std::int64_t;

/// Logical or compressed shape of a matrix: `rows` = R (output features), `cols` = K (reduction).
struct matrix_shape {
  index_t rows = 0;
  index_t cols = 0;

  /// R·K; shape_error if it exceeds 2^63 - 1 (or an extent is negative).
  constexpr index_t size() const { return detail::checked_mul(rows, cols, "stco::matrix_shape"); }
  friend constexpr bool operator==(matrix_shape a, matrix_shape b) {
    return a.rows == b.rows && a.cols == b.cols;
  }
  friend constexpr bool operator!=(matrix_shape a, matrix_shape b) { return !(a == b); }
  friend std::ostream& operator<<(std::ostream& os, matrix_shape s) {
    return os << '[' << s.rows << ", " << s.cols << ']';
  }
};

/// ⌈a / b⌉ for b > 0. Never overflows (a + b − 1 would, near 2^63).
STCO_HD constexpr index_t ceil_div(index_t a, index_t b) { return a / b + (a % b > 0); }
/// a rounded up to a multiple of b (a ≥ 0, b > 0). Unchecked, for device code and sizes already
/// known to fit (an allocated tensor's); sizes from outside input use checked_round_up.
STCO_HD constexpr index_t round_up(index_t a, index_t b) { return ceil_div(a, b) * b; }
/// round_up for sizes from outside input: shape_error naming `what` if the result exceeds
/// 2^63 - 1.
constexpr index_t checked_round_up(index_t a, index_t b, const char* what) {
  return detail::checked_mul(ceil_div(a, b), b, what);
}

/// How many of `total` units a pruning at `sparsity` keeps: round(total · (1 − sparsity)), halves
/// rounded up. constexpr so that compressed shapes can be checked at compile time; every layout's
/// `prune` uses this same rounding, so the two always agree.
constexpr index_t kept_count(index_t total, double sparsity) {
  const double keep = static_cast<double>(total) * (1.0 - sparsity);
  if (!(keep > 0.0)) return 0;  // also a NaN sparsity
  // Compared before the cast: a double at or above 2^63 has no index_t value.
  if (keep + 0.5 >= static_cast<double>(total)) return total;
  return static_cast<index_t>(keep + 0.5);
}

}  // namespace stco
