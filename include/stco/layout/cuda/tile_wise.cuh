// stco/layout/cuda/tile_wise.cuh — tile_wise<T> on the device: tile pointers and each tile's
// sorted column list, at the host's widths; a tile is a unit of T rows.
#pragma once

#include <memory>

#include "stco/layout/cuda/device_entity.cuh"
#include "stco/layout/tile_wise.hpp"

namespace stco::cuda {

template <int T>
struct tile_wise_view {
  static constexpr int unit_rows = T;
  int rows, cols;
  index_list_view ptr, cols_of;

  STCO_HD int units() const { return (rows + T - 1) / T; }
  STCO_HD int segments() const { return 1; }
  STCO_HD int segment_unit(int u, int) const { return u; }
  STCO_HD int list_begin(int u) const { return ptr[u]; }
  STCO_HD int list_end(int u) const { return ptr[u + 1]; }
  STCO_HD int col(int, int p) const { return cols_of[p]; }
  STCO_HD int slot(int u, int p, int i) const { return u * T + i < rows ? p * T + i : -1; }
};

template <int T>
struct device_index<tile_wise<T>> {
  using view_type = tile_wise_view<T>;
  using entity = tile_wise_entity<T>;
  device_index_list ptr, cols;

  static device_index upload(const entity& e, stream s) {
    return {device_index_list::upload(e.tile_ptr(), s, "tile pointer"),
            device_index_list::upload(e.columns(), s, "tile column")};
  }
  std::shared_ptr<const entity> download(matrix_shape logical, stream s) const {
    return entity::from_parts(logical, ptr.to_vector(s), cols.to_vector(s));
  }
  matrix_shape compressed_shape(matrix_shape) const { return {cols.size(), index_t{T}}; }
  view_type view(matrix_shape s) const {
    return {static_cast<int>(s.rows), static_cast<int>(s.cols), ptr.view(), cols.view()};
  }
  std::size_t bytes() const { return ptr.bytes() + cols.bytes(); }
};

}  // namespace stco::cuda
