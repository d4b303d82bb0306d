// stco/layout/detail/list_checks.hpp — validation shared by the layouts whose index entity is a
// pointer array over sorted index segments (block rows, tiles, CSR rows).
#pragma once

#include <cstdint>
#include <string>

#include "stco/core/error.hpp"
#include "stco/layout/index_list.hpp"

namespace stco::detail {

/// Checks that `ptr` has nseg+1 non-decreasing entries from 0 to idx.size(), and that every segment
/// of `idx` is strictly increasing and below `bound`. Messages name `who`, the segment (`seg`, e.g.
/// "tile") and the position.
inline void check_segmented(const std::string& who, const char* seg, const char* item,
                            const index_list& ptr, const index_list& idx, index_t nseg,
                            index_t bound) {
  // Compared as ptr.size() - 1 == nseg: nseg + 1 overflows when nseg comes from a hostile shape.
  // The loops below then run over the given array only.
  if (ptr.size() == 0 || ptr.size() - 1 != nseg)
    throw index_error(message(who, ": pointer array has ", ptr.size(), " entries, expected ",
                              static_cast<std::uint64_t>(nseg) + 1, " (", nseg, " ", seg,
                              "s + 1)"));
  if (ptr[0] != 0) throw index_error(message(who, ": pointer array starts at ", ptr[0], ", not 0"));
  for (index_t s = 0; s < nseg; ++s)
    if (ptr[s + 1] < ptr[s])
      throw index_error(message(who, ": pointer array decreases at ", seg, " ", s, " (", ptr[s],
                                " then ", ptr[s + 1], ")"));
  if (ptr[nseg] != idx.size())
    throw index_error(message(who, ": pointer array ends at ", ptr[nseg], " but the ", item,
                              " list has ", idx.size(), " entries"));
  for (index_t s = 0; s < nseg; ++s) {
    for (index_t p = ptr[s]; p < ptr[s + 1]; ++p) {
      if (idx[p] >= bound)
        throw index_error(message(who, ": ", seg, " ", s, " lists ", item, " ", idx[p],
                                  " at position ", p, ", outside [0, ", bound, ")"));
      if (p > ptr[s] && idx[p] <= idx[p - 1])
        throw index_error(message(who, ": ", seg, " ", s, " ", item,
                                  " list not strictly increasing at position ", p, " (", idx[p - 1],
                                  " then ", idx[p], ")"));
    }
  }
}

/// Checks that idx is strictly increasing and below bound.
inline void check_sorted_unique(const std::string& who, const char* item, const index_list& idx,
                                index_t bound) {
  for (index_t p = 0; p < idx.size(); ++p) {
    if (idx[p] >= bound)
      throw index_error(
          message(who, ": ", item, " ", idx[p], " at position ", p, " outside [0, ", bound, ")"));
    if (p > 0 && idx[p] <= idx[p - 1])
      throw index_error(message(who, ": ", item, " list not strictly increasing at position ", p,
                                " (", idx[p - 1], " then ", idx[p], ")"));
  }
}

}  // namespace stco::detail
