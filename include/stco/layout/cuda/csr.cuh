// stco/layout/cuda/csr.cuh — csr on the device: row pointers and columns, at the host's widths.
#pragma once

#include <memory>

#include "stco/layout/csr.hpp"
#include "stco/layout/cuda/device_entity.cuh"

namespace stco::cuda {

struct csr_view {
  static constexpr int unit_rows = 1;
  int rows, cols;
  index_list_view ptr, cols_of;

  STCO_HD int units() const { return rows; }
  STCO_HD int segments() const { return 1; }
  STCO_HD int segment_unit(int u, int) const { return u; }
  STCO_HD int list_begin(int u) const { return ptr[u]; }
  STCO_HD int list_end(int u) const { return ptr[u + 1]; }
  STCO_HD int col(int, int p) const { return cols_of[p]; }
  STCO_HD int slot(int, int p, int) const { return p; }
};

template <>
struct device_index<csr> {
  using view_type = csr_view;
  device_index_list ptr, cols;

  static device_index upload(const csr_entity& e, stream s) {
    return {device_index_list::upload(e.row_ptr(), s, "row pointer"),
            device_index_list::upload(e.col_index(), s, "column")};
  }
  std::shared_ptr<const csr_entity> download(matrix_shape logical, stream s) const {
    return csr_entity::from_parts(logical, ptr.to_vector(s), cols.to_vector(s));
  }
  matrix_shape compressed_shape(matrix_shape) const { return {cols.size(), 1}; }
  view_type view(matrix_shape s) const {
    return {static_cast<int>(s.rows), static_cast<int>(s.cols), ptr.view(), cols.view()};
  }
  std::size_t bytes() const { return ptr.bytes() + cols.bytes(); }
};

}  // namespace stco::cuda
