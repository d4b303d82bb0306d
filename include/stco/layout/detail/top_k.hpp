// stco/layout/detail/top_k.hpp — deterministic top-k selection used by every layout's prune.
#pragma once

#include <algorithm>
#include <numeric>
#include <vector>

#include "stco/core/index.hpp"

namespace stco::detail {

/// Indices (ascending) of the k largest of score(0..n-1). Ties go to the lower index, so the choice
/// is a total order and the same on every run and machine.
template <class Score>
std::vector<index_t> top_k(index_t n, index_t k, Score&& score) {
  std::vector<index_t> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), index_t{0});
  if (k >= n) return idx;
  if (k <= 0) return {};
  std::vector<double> s(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) s[i] = score(i);
  auto better = [&](index_t a, index_t b) { return s[a] > s[b] || (s[a] == s[b] && a < b); };
  std::nth_element(idx.begin(), idx.begin() + (k - 1), idx.end(), better);
  idx.resize(static_cast<std::size_t>(k));
  std::sort(idx.begin(), idx.end());
  return idx;
}

}  // namespace stco::detail
