// stco/kernel/cpu/slot_maps.hpp — per-row and per-column lists of an entity's stored slots, for
// the layouts (and grouped convolutions) that have no structured traversal of their own.
//
// The per-column map is the transposed traversal dX = Wᵀ·dY needs: it is built once per entity,
// on first use, and cached inside it (index_entity::derived), so every later step reuses it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <tuple>
#include <utility>
#include <vector>

#include "stco/core/error.hpp"
#include "stco/layout/index_entity.hpp"

namespace stco::kernel::cpu {

/// Slots grouped by row (rows = false: by column): ptr[line] .. ptr[line + 1] index `other` (the
/// column, or the row) and `slot` (the position in the values array). Padding slots are left out.
template <class L, bool ByRow>
struct slot_map {
  std::vector<index_t> ptr;
  std::vector<std::uint32_t> other;
  std::vector<index_t> slot;

  static slot_map build(const index_entity& base) {
    const auto& e = static_cast<const typename L::entity&>(base);
    const matrix_shape s = e.logical_shape();
    const index_t lines = ByRow ? s.rows : s.cols;
    if (s.rows > index_t{UINT32_MAX} || s.cols > index_t{UINT32_MAX})
      throw shape_error(
          stco::detail::message("stco: slot map of ", L::name(), " ", s, " too large"));
    slot_map m;
    m.ptr.assign(static_cast<std::size_t>(lines + 1), 0);
    L::for_each_slot(e, [&](index_t, index_t r, index_t c) {
      if (r < s.rows && c < s.cols) ++m.ptr[(ByRow ? r : c) + 1];
    });
    for (index_t i = 0; i < lines; ++i) m.ptr[i + 1] += m.ptr[i];
    m.other.resize(static_cast<std::size_t>(m.ptr[lines]));
    m.slot.resize(static_cast<std::size_t>(m.ptr[lines]));
    std::vector<index_t> fill(m.ptr.begin(), m.ptr.end() - 1);
    L::for_each_slot(e, [&](index_t p, index_t r, index_t c) {
      if (r < s.rows && c < s.cols) {
        const index_t at = fill[ByRow ? r : c]++;
        m.other[at] = static_cast<std::uint32_t>(ByRow ? c : r);
        m.slot[at] = p;
      }
    });
    // Kernels rely on each line being sorted (a column's rows ascending, e.g. to stop at the last
    // row of a convolution group). for_each_slot need not visit in that order: tile_vector visits
    // a tile's slots by N:M position first, so one column's rows can come out of order.
    std::vector<std::pair<std::uint32_t, index_t>> line;
    for (index_t i = 0; i < lines; ++i) {
      const index_t a = m.ptr[i], b = m.ptr[i + 1];
      if (std::is_sorted(m.other.begin() + a, m.other.begin() + b)) continue;
      line.clear();
      for (index_t p = a; p < b; ++p) line.emplace_back(m.other[p], m.slot[p]);
      std::sort(line.begin(), line.end());
      for (index_t p = a; p < b; ++p) std::tie(m.other[p], m.slot[p]) = line[p - a];
    }
    return m;
  }
};

/// The cached row-wise slot map of `e`.
template <class L>
const slot_map<L, true>& row_slots(const typename L::entity& e) {
  return e.template derived<slot_map<L, true>>(slot_map<L, true>::build);
}
/// The cached column-wise slot map of `e`: the generic transposed traversal.
template <class L>
const slot_map<L, false>& column_slots(const typename L::entity& e) {
  return e.template derived<slot_map<L, false>>(slot_map<L, false>::build);
}

}  // namespace stco::kernel::cpu
