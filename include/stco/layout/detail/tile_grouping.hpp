// stco/layout/detail/tile_grouping.hpp — choosing a tile_vector tile's kept columns so that its
// nonzeros fit N:M, for `encode` (pattern inference).
//
// A tile's kept columns are compacted and cut into groups of M; each row may hold at most N
// nonzeros per group. Columns with a nonzero in the tile must be kept; all-zero columns may be
// kept or not, and keeping one shifts every later group boundary. Keeping only the nonzero columns
// (the first idea) refuses patterns that `prune` itself produced: a kept column whose values are
// all zero (a row's N:M selection dropped it everywhere, or the weights were zero) then vanishes
// and the groups after it shift. So inference searches the boundaries:
//
//   The nonzero columns c_0 < … < c_{z-1} fall into groups as consecutive runs c_a..c_b (b − a < M,
//   each row ≤ N nonzeros in the run). Every group but the last holds exactly M columns: the run
//   plus M − (b − a + 1) zero columns taken from the gap before c_a (those the previous group
//   left), the gaps inside the run, and the first ones of the gap after c_b. Leaving more of that
//   last gap to the next group never hurts it, so a dynamic programme over run starts a keeps the
//   most zero columns left before c_a; a pattern exists exactly when some reachable run start's run
//   can end at c_{z-1} (the last group may be short).
//
// Cost: O(M · nonzeros of the tile) plus O(K · rows) to find them.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "stco/core/index.hpp"

namespace stco::detail {

/// Result of group_tile_columns: the kept columns (increasing), or why none fit.
struct tile_grouping {
  bool ok = false;
  std::vector<index_t> columns;
  // On failure: the nonzero column where the furthest reachable group start lies, and the row
  // that holds more than N nonzeros in every group that could start there (no grouping gets past
  // it).
  index_t stuck_column = -1, row = -1;
};

/// Kept columns for one tile of `rows` rows and K columns whose nonzeros are nonzero(r, c), such
/// that every group of M consecutive kept columns holds at most N nonzeros of each row.
template <int N, int M, class Nonzero>
tile_grouping group_tile_columns(index_t rows, index_t K, Nonzero&& nonzero) {
  // The tile's nonzero columns and, per column, its nonzero rows (CSC of the tile).
  std::vector<index_t> col, start{0}, row;
  for (index_t c = 0; c < K; ++c) {
    for (index_t r = 0; r < rows; ++r)
      if (nonzero(r, c)) row.push_back(r);
    if (static_cast<index_t>(row.size()) != start.back()) {
      col.push_back(c);
      start.push_back(static_cast<index_t>(row.size()));
    }
  }
  const index_t z = static_cast<index_t>(col.size());
  tile_grouping out;
  if (z == 0) {
    out.ok = true;
    return out;
  }
  // Zero columns strictly between nonzero columns i and j (i < j).
  auto zeros_between = [&](index_t i, index_t j) { return col[j] - col[i] - (j - i); };

  // left[a]: the most zero columns before col[a] a group starting there may take (-1:
  // unreachable); from[a]: the run start of the previous group on the best path; groups[a]: the
  // groups before a on it (ties in left go to fewer groups).
  // over[a]: a row that exceeds N in the longest run from a.
  std::vector<index_t> left(static_cast<std::size_t>(z), -1), from(left), groups(left), over(left);
  left[0] = col[0];
  groups[0] = 0;
  std::vector<int> count(static_cast<std::size_t>(rows), 0);
  index_t last = -1;  // the reachable start whose run reaches col[z-1] in the fewest groups
  for (index_t a = 0; a < z; ++a) {
    if (left[a] < 0) continue;
    index_t b = a;
    for (; b < z && b - a < M; ++b) {
      bool fits = true;
      for (index_t p = start[b]; p < start[b + 1]; ++p)
        if (++count[row[p]] > N) fits = false;
      if (!fits) {
        for (index_t p = start[b]; p < start[b + 1] && over[a] < 0; ++p)
          if (count[row[p]] > N) over[a] = row[p];
        ++b;  // b's rows were counted: clear them below too
        break;
      }
      if (b == z - 1) {
        if (last < 0 || groups[a] < groups[last]) last = a;
        continue;
      }
      // Close the group after col[b]: M − (b − a + 1) zero columns, from the left-over before
      // col[a] and the gaps inside the run first, the rest from the start of the next gap.
      const index_t need = M - (b - a + 1) - left[a] - zeros_between(a, b);
      const index_t take = std::max<index_t>(need, 0), gap = zeros_between(b, b + 1);
      if (take > gap) continue;
      const index_t rest = gap - take, g = groups[a] + 1;
      if (rest > left[b + 1] || (rest == left[b + 1] && g < groups[b + 1])) {
        left[b + 1] = rest;
        from[b + 1] = a;
        groups[b + 1] = g;
      }
    }
    for (index_t q = a; q < std::min(b, z); ++q)
      for (index_t p = start[q]; p < start[q + 1]; ++p) count[row[p]] = 0;
  }
  if (last < 0) {
    for (index_t a = z - 1; a >= 0; --a)
      if (left[a] >= 0) {
        out.stuck_column = col[a];
        out.row = over[a];
        break;
      }
    return out;
  }

  // Walk the best path back to its run starts, then emit each group's columns in order.
  std::vector<index_t> starts{last};
  while (starts.back() != 0) starts.push_back(from[starts.back()]);
  std::reverse(starts.begin(), starts.end());
  for (std::size_t i = 0; i < starts.size(); ++i) {
    const index_t a = starts[i];
    const bool final_group = i + 1 == starts.size();
    const index_t b = final_group ? z - 1 : starts[i + 1] - 1;
    index_t need = final_group ? 0 : M - (b - a + 1);
    const index_t before = std::min(need, left[a]);
    need -= before;
    for (index_t c = col[a] - before; c < col[a]; ++c) out.columns.push_back(c);
    for (index_t q = a; q <= b; ++q) {
      out.columns.push_back(col[q]);
      for (index_t c = col[q] + 1; q < b && need > 0 && c < col[q + 1]; ++c, --need)
        out.columns.push_back(c);
    }
    for (index_t c = col[b] + 1; need > 0; ++c, --need) out.columns.push_back(c);
  }
  out.ok = true;
  return out;
}

}  // namespace stco::detail
