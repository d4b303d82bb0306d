// stco/layout/cuda/channel.cuh — channel sparsity on the device: the kept-row list at the host's
// width, plus the inverse map (logical row → compacted row, or -1) kernels index rows with.
#pragma once

#include <cstdint>
#include <memory>

#include "stco/core/cuda/device_buffer.cuh"
#include "stco/kernel/cuda/launch.cuh"
#include "stco/layout/channel.hpp"
#include "stco/layout/cuda/device_entity.cuh"
#include "stco/layout/cuda/view_contract.hpp"

namespace stco::cuda {

/// W as units of row_block_units logical rows over every column; removed rows have no slots.
struct channel_view {
  static constexpr int unit_rows = row_block_units;
  int rows, cols;
  const std::int32_t* compact;  // [R]: compacted row, or -1 for a removed row

  STCO_HD int units() const { return (rows + unit_rows - 1) / unit_rows; }
  STCO_HD int segments() const { return 1; }
  STCO_HD int segment_unit(int u, int) const { return u; }
  STCO_HD int list_begin(int) const { return 0; }
  STCO_HD int list_end(int) const { return cols; }
  STCO_HD int col(int, int p) const { return p; }
  STCO_HD int slot(int u, int p, int i) const {
    const int r = u * unit_rows + i;
    const int c = r < rows ? compact[r] : -1;
    return c < 0 ? -1 : c * cols + p;
  }
};

/// Wᵀ ([K, R]): units of row_block_units columns of W, each listing the kept rows.
struct channel_transposed_view {
  static constexpr int unit_rows = row_block_units;
  int rows, cols;  // K, R
  int kept_rows;
  index_list_view kept;  // the kept rows, increasing

  STCO_HD int units() const { return (rows + unit_rows - 1) / unit_rows; }
  STCO_HD int segments() const { return 1; }
  STCO_HD int segment_unit(int u, int) const { return u; }
  STCO_HD int list_begin(int) const { return 0; }
  STCO_HD int list_end(int) const { return kept_rows; }
  STCO_HD int col(int, int p) const { return kept[p]; }
  STCO_HD int slot(int u, int p, int i) const {
    const int k = u * unit_rows + i;
    return k < rows ? p * rows + k : -1;
  }
};

namespace detail {
/// compact[rows[i]] = i.
struct channel_compact {
  static constexpr int threads = 256;
  struct params {
    index_list_view rows;
    index_t n;
    std::int32_t* compact;
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t i = b.block_x() * threads + b.thread();
    if (i < p.n) p.compact[p.rows[i]] = static_cast<std::int32_t>(i);
  }
};
}  // namespace detail

template <>
struct device_index<channel> {
  using view_type = channel_view;
  device_index_list rows;
  device_buffer<std::int32_t> compact;

  /// From a kept-row list already on the device (R logical rows): builds the inverse map on `s`.
  static device_index from_rows(device_index_list kept, index_t R, stream s) {
    device_index d{std::move(kept), device_buffer<std::int32_t>(R, s)};
    if (R > 0) STCO_CUDA_CHECK(cudaMemsetAsync(d.compact.data(), 0xff, d.compact.bytes(), s.get()));
    const index_t n = d.rows.size();
    kernel::cuda::launch<detail::channel_compact>({ceil_div(n, 256), 1}, s,
                                                  {d.rows.view(), n, d.compact.data()});
    return d;
  }
  static device_index upload(const channel_entity& e, stream s) {
    return from_rows(device_index_list::upload(e.rows(), s, "kept row"), e.logical_shape().rows, s);
  }
  std::shared_ptr<const channel_entity> download(matrix_shape logical, stream s) const {
    return channel_entity::from_parts(logical, rows.to_vector(s));
  }
  matrix_shape compressed_shape(matrix_shape logical) const { return {rows.size(), logical.cols}; }
  view_type view(matrix_shape s) const {
    return {static_cast<int>(s.rows), static_cast<int>(s.cols), compact.data()};
  }
  channel_transposed_view transposed_view(matrix_shape s) const {
    return {static_cast<int>(s.cols), static_cast<int>(s.rows), static_cast<int>(rows.size()),
            rows.view()};
  }
  std::size_t bytes() const { return rows.bytes(); }
};

}  // namespace stco::cuda
