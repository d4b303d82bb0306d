// stco/layout/cuda/dense.cuh — the dense layout on the device: no index, row blocks as units.
#pragma once

#include <memory>

#include "stco/layout/cuda/device_entity.cuh"
#include "stco/layout/cuda/view_contract.hpp"
#include "stco/layout/dense.hpp"

namespace stco::cuda {

/// W (or Wᵀ, Transposed) of a dense [R, K] matrix: units of row_block_units rows, every column.
template <bool Transposed>
struct dense_view {
  static constexpr int unit_rows = row_block_units;
  int rows, cols;  // of the traversed matrix (K, R when transposed)
  STCO_HD int units() const { return (rows + unit_rows - 1) / unit_rows; }
  STCO_HD int segments() const { return 1; }
  STCO_HD int segment_unit(int u, int) const { return u; }
  STCO_HD int list_begin(int) const { return 0; }
  STCO_HD int list_end(int) const { return cols; }
  STCO_HD int col(int, int p) const { return p; }
  STCO_HD int slot(int u, int p, int i) const {
    const int r = u * unit_rows + i;
    if (r >= rows) return -1;
    return Transposed ? p * rows + r : r * cols + p;
  }
};

template <>
struct device_index<dense> {
  using view_type = dense_view<false>;
  static device_index upload(const dense_entity&, stream) { return {}; }
  std::shared_ptr<const dense_entity> download(matrix_shape logical, stream) const {
    return std::make_shared<const dense_entity>(logical);
  }
  matrix_shape compressed_shape(matrix_shape logical) const { return logical; }
  view_type view(matrix_shape s) const {
    return {static_cast<int>(s.rows), static_cast<int>(s.cols)};
  }
  /// Wᵀ as a view: the transposed traversal needs no derived map.
  dense_view<true> transposed_view(matrix_shape s) const {
    return {static_cast<int>(s.cols), static_cast<int>(s.rows)};
  }
  std::size_t bytes() const { return 0; }
};

}  // namespace stco::cuda
