// stco/layout/cuda/nm.cuh — nm<N,M> on the device: the packed offsets, word for word as on the
// host (⌈log2 M⌉ bits per stored value, LSB first); every row is a unit.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "stco/core/cuda/device_buffer.cuh"
#include "stco/layout/cuda/device_entity.cuh"
#include "stco/layout/nm.hpp"

namespace stco::cuda {

/// Reads field `i` of B-bit fields packed LSB-first into 32-bit words.
template <int B>
STCO_HD inline unsigned packed_field(const std::uint32_t* words, index_t i) {
  const index_t bit = i * B;
  const index_t w = bit >> 5;
  const unsigned s = static_cast<unsigned>(bit & 31);
  unsigned v = words[w] >> s;
  if (s + B > 32) v |= words[w + 1] << (32 - s);
  return v & ((1u << B) - 1u);
}

template <int N, int M>
struct nm_view {
  static constexpr int unit_rows = 1;
  static constexpr int bits = offset_bits(M);
  int rows, cols;
  int groups;  // G = ⌈K/M⌉
  const std::uint32_t* words;

  STCO_HD int units() const { return rows; }
  STCO_HD int segments() const { return 1; }
  STCO_HD int segment_unit(int u, int) const { return u; }
  STCO_HD int list_begin(int u) const { return u * groups * N; }
  STCO_HD int list_end(int u) const { return (u + 1) * groups * N; }
  STCO_HD int offset(int p) const { return static_cast<int>(packed_field<bits>(words, p)); }
  STCO_HD int col(int u, int p) const { return (p - u * groups * N) / N * M + offset(p); }
  STCO_HD int slot(int, int p, int) const { return p; }
};

template <int N, int M>
struct device_index<nm<N, M>> {
  using view_type = nm_view<N, M>;
  using entity = nm_entity<N, M>;
  device_buffer<std::uint32_t> words;

  static device_index upload(const entity& e, stream s) {
    device_index d;
    const auto& w = e.offsets().words();
    d.words = device_buffer<std::uint32_t>(static_cast<index_t>(w.size()), s);
    d.words.copy_from_host(w.data(), static_cast<index_t>(w.size()), s);
    return d;
  }
  std::shared_ptr<const entity> download(matrix_shape logical, stream s) const {
    const auto h = words.to_host(s);
    return entity::from_words(logical, std::vector<std::uint32_t>(h.begin(), h.end()));
  }
  matrix_shape compressed_shape(matrix_shape logical) const {
    return nm<N, M>::compressed_shape(logical);
  }
  view_type view(matrix_shape s) const {
    return {static_cast<int>(s.rows), static_cast<int>(s.cols),
            static_cast<int>(ceil_div(s.cols, M)), words.data()};
  }
  std::size_t bytes() const { return words.bytes(); }
};

}  // namespace stco::cuda
