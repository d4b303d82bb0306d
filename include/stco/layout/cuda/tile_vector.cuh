// stco/layout/cuda/tile_vector.cuh — tile_vector<T,N,M> on the device: tile lists at the host's
// widths and the packed N:M offsets word for word, plus each tile's first value slot. Every row
// is a unit: row i of tile t walks the tile's groups, N slots each, through its own offsets.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "stco/core/cuda/device_buffer.cuh"
#include "stco/layout/cuda/device_entity.cuh"
#include "stco/layout/cuda/nm.cuh"
#include "stco/layout/tile_vector.hpp"

namespace stco::cuda {

template <int T, int N, int M>
struct tile_vector_view {
  static constexpr int unit_rows = 1;
  static constexpr int bits = offset_bits(M);
  int rows, cols;
  index_list_view ptr, cols_of;
  const std::uint32_t* words;
  const std::int32_t* base;  // [tiles]: the tile's first value slot

  STCO_HD int units() const { return rows; }
  STCO_HD int segments() const { return 1; }
  STCO_HD int segment_unit(int u, int) const { return u; }
  STCO_HD int list_begin(int) const { return 0; }
  /// G_t·N positions: group g, slot s at p = g·N + s.
  STCO_HD int list_end(int u) const {
    const int t = u / T;
    return (ptr[t + 1] - ptr[t] + M - 1) / M * N;
  }
  STCO_HD int slot(int u, int p, int) const { return base[u / T] + p * T + u % T; }
  STCO_HD int col(int u, int p) const {
    const int t = u / T, kt = ptr[t + 1] - ptr[t];
    const int cc = p / N * M + static_cast<int>(packed_field<bits>(words, slot(u, p, 0)));
    return cc < kt ? cols_of[ptr[t] + cc] : cols + cc;
  }
};

template <int T, int N, int M>
struct device_index<tile_vector<T, N, M>> {
  using view_type = tile_vector_view<T, N, M>;
  using entity = tile_vector_entity<T, N, M>;
  device_index_list ptr, cols;
  device_buffer<std::uint32_t> words;
  device_buffer<std::int32_t> base;
  index_t values = 0;

  static device_index upload(const entity& e, stream s) {
    device_index d;
    d.ptr = device_index_list::upload(e.tile_ptr(), s, "tile pointer");
    d.cols = device_index_list::upload(e.columns(), s, "tile column");
    const auto& w = e.offsets().words();
    d.words = device_buffer<std::uint32_t>(static_cast<index_t>(w.size()), s);
    d.words.copy_from_host(w.data(), static_cast<index_t>(w.size()), s);
    std::vector<std::int32_t> b(static_cast<std::size_t>(e.tiles()));
    index_t acc = 0;
    for (index_t t = 0; t < e.tiles(); ++t) {
      b[t] = static_cast<std::int32_t>(acc);
      acc += e.tile_groups(t) * N * T;
    }
    d.values = acc;
    d.base = device_buffer<std::int32_t>(e.tiles(), s);
    d.base.copy_from_host(b.data(), e.tiles(), s);  // pageable: `b` may go once this returns
    return d;
  }
  std::shared_ptr<const entity> download(matrix_shape logical, stream s) const {
    const auto h = words.to_host(s);
    return entity::from_parts(logical, ptr.to_vector(s), cols.to_vector(s),
                              std::vector<std::uint32_t>(h.begin(), h.end()));
  }
  matrix_shape compressed_shape(matrix_shape) const { return {values / T, index_t{T}}; }
  view_type view(matrix_shape s) const {
    return {static_cast<int>(s.rows),
            static_cast<int>(s.cols),
            ptr.view(),
            cols.view(),
            words.data(),
            base.data()};
  }
  std::size_t bytes() const { return ptr.bytes() + cols.bytes() + words.bytes(); }
};

}  // namespace stco::cuda
