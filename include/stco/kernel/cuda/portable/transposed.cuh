// stco/kernel/cuda/portable/transposed.cuh — the traversal of Wᵀ that dX = Wᵀ·dZ runs through:
// structured for dense and channel (their columns all share one row list, no map needed), the
// entity's cached column map for every other layout; and the per-tap traversal a convolution's dX
// walks (output rows = input channels, one segment per filter tap).
#pragma once

#include "stco/kernel/cuda/portable/slot_maps.cuh"
#include "stco/layout/channel.hpp"
#include "stco/layout/cuda/channel.cuh"
#include "stco/layout/cuda/dense.cuh"
#include "stco/layout/dense.hpp"

namespace stco::kernel::cuda {

/// The view of Wᵀ for layout L; `uses_map` tells whether it is a cached derived map.
template <class L>
struct transposed_traversal {
  using type = column_map_view;
  static constexpr bool uses_map = true;
  static type of(const stco::cuda::device_entity<L>& e, stco::cuda::stream s) {
    return column_map_of(e, s).view(e.logical_shape());
  }
};
template <>
struct transposed_traversal<dense> {
  using type = stco::cuda::dense_view<true>;
  static constexpr bool uses_map = false;
  static type of(const stco::cuda::device_entity<dense>& e, stco::cuda::stream) {
    return e.index().transposed_view(e.logical_shape());
  }
};
template <>
struct transposed_traversal<channel> {
  using type = stco::cuda::channel_transposed_view;
  static constexpr bool uses_map = false;
  static type of(const stco::cuda::device_entity<channel>& e, stco::cuda::stream) {
    return e.index().transposed_view(e.logical_shape());
  }
};

/// dX of a convolution with groups == 1: output row c (an input channel) reads, in segment `tap`,
/// the list of W's column tap·Cin + c (a unit of the traversal TV of Wᵀ).
template <class TV>
struct tap_view {
  static constexpr int unit_rows = 1;
  TV t;
  int rows, cols;  // Cin, Cout
  int taps;

  STCO_HD int units() const { return rows; }
  STCO_HD int segments() const { return taps; }
  STCO_HD int segment_unit(int c, int tap) const { return tap * rows + c; }
  STCO_HD int list_begin(int k) const { return t.list_begin(k / TV::unit_rows); }
  STCO_HD int list_end(int k) const { return t.list_end(k / TV::unit_rows); }
  STCO_HD int col(int k, int p) const { return t.col(k / TV::unit_rows, p); }
  STCO_HD int slot(int k, int p, int) const {
    return t.slot(k / TV::unit_rows, p, k % TV::unit_rows);
  }
};

}  // namespace stco::kernel::cuda
