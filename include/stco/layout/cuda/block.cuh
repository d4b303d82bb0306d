// stco/layout/cuda/block.cuh — block<BR,BC> on the device: block-row pointers and kept
// block-columns, at the host's widths; a block row is a unit of BR rows whose list runs over the
// BC columns of each kept block.
#pragma once

#include <memory>

#include "stco/layout/block.hpp"
#include "stco/layout/cuda/device_entity.cuh"

namespace stco::cuda {

template <int BR, int BC>
struct block_view {
  static constexpr int unit_rows = BR;
  int rows, cols;
  index_list_view ptr, bcols;

  STCO_HD int units() const { return (rows + BR - 1) / BR; }
  STCO_HD int segments() const { return 1; }
  STCO_HD int segment_unit(int u, int) const { return u; }
  STCO_HD int list_begin(int u) const { return ptr[u] * BC; }
  STCO_HD int list_end(int u) const { return ptr[u + 1] * BC; }
  STCO_HD int col(int, int p) const { return bcols[p / BC] * BC + p % BC; }
  STCO_HD int slot(int u, int p, int i) const {
    return u * BR + i < rows ? ((p / BC) * BR + i) * BC + p % BC : -1;
  }
};

template <int BR, int BC>
struct device_index<block<BR, BC>> {
  using view_type = block_view<BR, BC>;
  using entity = block_entity<BR, BC>;
  device_index_list ptr, cols;

  static device_index upload(const entity& e, stream s) {
    return {device_index_list::upload(e.row_ptr(), s, "block-row pointer"),
            device_index_list::upload(e.col_index(), s, "block-column")};
  }
  std::shared_ptr<const entity> download(matrix_shape logical, stream s) const {
    return entity::from_parts(logical, ptr.to_vector(s), cols.to_vector(s));
  }
  matrix_shape compressed_shape(matrix_shape) const { return {cols.size(), index_t{BR} * BC}; }
  view_type view(matrix_shape s) const {
    return {static_cast<int>(s.rows), static_cast<int>(s.cols), ptr.view(), cols.view()};
  }
  std::size_t bytes() const { return ptr.bytes() + cols.bytes(); }
};

}  // namespace stco::cuda
