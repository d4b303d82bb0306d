// stco/layout/detail/nm_group.hpp — choosing and checking the N kept offsets of one group of M,
// shared by nm<N,M> and tile_vector<T,N,M>.
//
// A group may be ragged: only its first `real` positions exist (the end of K, or of a tile's kept
// columns). Its N slots are always N distinct offsets in increasing order; when fewer than N
// positions are real or nonzero, the remaining slots take the lowest unused offsets (real ones
// first, then padding offsets ≥ real) and hold the value zero.
#pragma once

#include <algorithm>
#include <array>

#include "stco/core/index.hpp"

namespace stco::detail {

template <int N, int M>
using group_offsets = std::array<unsigned, N>;

/// Fills the slots after the first `have` with the lowest offsets not yet used, then sorts.
template <int N, int M>
void complete_group(group_offsets<N, M>& off, int have) {
  std::array<bool, M> used{};
  for (int s = 0; s < have; ++s) used[off[s]] = true;
  for (int o = 0; have < N && o < M; ++o)
    if (!used[o]) off[have++] = static_cast<unsigned>(o);
  std::sort(off.begin(), off.end());
}

/// The N offsets with the largest score among the `real` positions (ties to the lower offset).
template <int N, int M, class Score>
group_offsets<N, M> select_group(int real, Score&& score) {
  group_offsets<N, M> off{};
  std::array<int, M> order{};
  for (int i = 0; i < real; ++i) order[i] = i;
  const int take = std::min(real, N);
  std::array<double, M> s{};
  for (int i = 0; i < real; ++i) s[i] = score(i);
  std::partial_sort(order.begin(), order.begin() + take, order.begin() + real,
                    [&](int a, int b) { return s[a] > s[b] || (s[a] == s[b] && a < b); });
  for (int i = 0; i < take; ++i) off[i] = static_cast<unsigned>(order[i]);
  complete_group<N, M>(off, take);
  return off;
}

/// Offsets of a group whose nonzeros are given by `nonzero(i)` for the `real` positions.
/// Returns the number of nonzeros found; when it exceeds N the offsets are unusable.
template <int N, int M, class Nonzero>
int infer_group(int real, Nonzero&& nonzero, group_offsets<N, M>& off) {
  int nz = 0;
  for (int i = 0; i < real; ++i)
    if (nonzero(i)) {
      if (nz < N) off[nz] = static_cast<unsigned>(i);
      ++nz;
    }
  if (nz <= N) complete_group<N, M>(off, nz);
  return nz;
}

}  // namespace stco::detail
