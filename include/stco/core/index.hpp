// stco/core/index.hpp — the index type and the 2-D shape every layout speaks in.
#pragma once

#include <cstdint>
#include <ostream>

#include "stco/config.hpp"

namespace stco {

/// Signed index type for extents, offsets and counts (large enough for any host tensor).
using index_t = std::int64_t;

/// Logical or compressed shape of a matrix: `rows` = R (output features), `cols` = K (reduction).
struct matrix_shape {
  index_t rows = 0;
  index_t cols = 0;

  constexpr index_t size() const { return rows * cols; }
  friend constexpr bool operator==(matrix_shape a, matrix_shape b) {
    return a.rows == b.rows && a.cols == b.cols;
  }
  friend constexpr bool operator!=(matrix_shape a, matrix_shape b) { return !(a == b); }
  friend std::ostream& operator<<(std::ostream& os, matrix_shape s) {
    return os << '[' << s.rows << ", " << s.cols << ']';
  }
};

/// ⌈a / b⌉ for a ≥ 0, b > 0.
STCO_HD constexpr index_t ceil_div(index_t a, index_t b) { return (a + b - 1) / b; }
/// a rounded up to a multiple of b.
STCO_HD constexpr index_t round_up(index_t a, index_t b) { return ceil_div(a, b) * b; }

/// How many of `total` units a pruning at `sparsity` keeps: round(total · (1 − sparsity)), halves
/// rounded up. constexpr so that compressed shapes can be checked at compile time; every layout's
/// `prune` uses this same rounding, so the two always agree.
constexpr index_t kept_count(index_t total, double sparsity) {
  const double keep = static_cast<double>(total) * (1.0 - sparsity);
  const index_t k = keep <= 0.0 ? 0 : static_cast<index_t>(keep + 0.5);
  return k > total ? total : k;
}

}  // namespace stco
