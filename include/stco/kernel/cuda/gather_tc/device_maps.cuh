// stco/kernel/cuda/gather_tc/device_maps.cuh — the index-only maps the tile tensor-core kernels
// derive from an entity, built once on first use on the entity's home stream (freed there with
// it) and cached in its device mirror (stco::cuda::device_entity::derived). Values are never
// reordered.
//
//   tile_wise / tile_vector  int32 tile pointers; per tile the first slot at every 256-column
//                            boundary (matmul dX segments) and, per input-channel count, at every
//                            tap·Cin + c·256 boundary (conv dX segments); tile_vector's group
//                            pointers; the largest kept-position count of a tile; on first use
//                            by the Hopper dX of tile_wise<128>, the slot of every column in
//                            every tile (tiles × K, −1 where the tile drops it).
//   block                    int32 block-row pointers and the block-column (CSC) traversal.
//   channel                  int32 kept and removed rows.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "stco/core/cuda/device_buffer.cuh"
#include "stco/layout/block.hpp"
#include "stco/layout/channel.hpp"
#include "stco/layout/cuda/device_entity.cuh"
#include "stco/layout/tile_vector.hpp"
#include "stco/layout/tile_wise.hpp"

namespace stco::kernel::cuda::gather_tc {

namespace maps {

inline stco::cuda::device_buffer<std::int32_t> upload(const std::vector<std::int32_t>& v,
                                                      stco::cuda::stream s) {
  stco::cuda::device_buffer<std::int32_t> d(static_cast<index_t>(v.size()), s);
  d.copy_from_host(v.data(), static_cast<index_t>(v.size()), s);
  return d;
}

/// Per tile t (pointers ptr, sorted columns cols), the absolute slot of the first column ≥ each
/// boundary: tiles × bounds.size() entries, row-major.
inline std::vector<std::int32_t> segment_starts(const std::vector<index_t>& ptr,
                                                const std::vector<index_t>& cols,
                                                const std::vector<index_t>& bounds) {
  const std::size_t tiles = ptr.empty() ? 0 : ptr.size() - 1;
  std::vector<std::int32_t> out(tiles * bounds.size());
  for (std::size_t t = 0; t < tiles; ++t) {
    const auto b = cols.begin() + ptr[t], e = cols.begin() + ptr[t + 1];
    for (std::size_t j = 0; j < bounds.size(); ++j)
      out[t * bounds.size() + j] =
          static_cast<std::int32_t>(std::lower_bound(b, e, bounds[j]) - cols.begin());
  }
  return out;
}
/// Boundaries j·kb, j = 0 … ⌈K/kb⌉ (matmul dX segments).
inline std::vector<index_t> matmul_bounds(index_t K, index_t kb) {
  std::vector<index_t> b;
  for (index_t j = 0; j <= ceil_div(K, kb); ++j) b.push_back(j * kb);
  return b;
}
/// Boundaries tap·Cin + c·kb for every tap and channel block, then K (conv dX segments).
inline std::vector<index_t> conv_bounds(index_t K, index_t in_c, index_t kb) {
  std::vector<index_t> b;
  const index_t taps = in_c > 0 ? K / in_c : 0, cb = ceil_div(in_c, kb);
  for (index_t t = 0; t < taps; ++t)
    for (index_t c = 0; c < cb; ++c) b.push_back(t * in_c + c * kb);
  b.push_back(K);
  return b;
}
inline std::vector<std::int32_t> to_i32(const std::vector<index_t>& v) {
  return std::vector<std::int32_t>(v.begin(), v.end());
}

}  // namespace maps

/// Derived maps of tile_wise and tile_vector.
struct tile_maps {
  stco::cuda::device_buffer<std::int32_t> ptr, kstart, gptr;
  index_t max_kcount = 0;  // padded to whole groups for tile_vector
  int kblocks = 0;         // matmul dX segments (kstart has tiles × (kblocks + 1))
  std::vector<index_t> host_ptr, host_cols;
  stco::cuda::stream home;
  std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
  std::shared_ptr<std::map<index_t, stco::cuda::device_buffer<std::int32_t>>> conv =
      std::make_shared<std::map<index_t, stco::cuda::device_buffer<std::int32_t>>>();
  std::shared_ptr<stco::cuda::device_buffer<std::int32_t>> inverse =
      std::make_shared<stco::cuda::device_buffer<std::int32_t>>();

  /// inv[t·K + k]: the absolute slot of column k in tile t, or −1 (tiles × K int32, 1/64 of the
  /// dense 16-bit weight's bytes); built on first use, for the dX that gathers W's value rows
  /// by output column.
  const std::int32_t* slot_of_column(index_t K) const {
    std::lock_guard<std::mutex> lock(*mutex);
    if (inverse->size() == 0) {
      const index_t tiles = host_ptr.empty() ? 0 : static_cast<index_t>(host_ptr.size()) - 1;
      std::vector<std::int32_t> inv(static_cast<std::size_t>(std::max<index_t>(tiles * K, 1)), -1);
      for (index_t t = 0; t < tiles; ++t)
        for (index_t q = host_ptr[t]; q < host_ptr[t + 1]; ++q)
          inv[static_cast<std::size_t>(t * K + host_cols[q])] = static_cast<std::int32_t>(q);
      *inverse = maps::upload(inv, home);
      home.synchronize();
    }
    return inverse->data();
  }

  /// conv dX segment starts for `in_c` input channels (segment size kb), built once per in_c.
  const std::int32_t* conv_kstart(index_t K, index_t in_c, index_t kb) const {
    std::lock_guard<std::mutex> lock(*mutex);
    auto it = conv->find(in_c);
    if (it == conv->end()) {
      auto d = maps::upload(
          maps::segment_starts(host_ptr, host_cols, maps::conv_bounds(K, in_c, kb)), home);
      home.synchronize();
      it = conv->emplace(in_c, std::move(d)).first;
    }
    return it->second.data();
  }

  template <class E>
  static tile_maps build(const E& e, int group, index_t kb, stco::cuda::stream s) {
    tile_maps m;
    m.home = s;
    m.host_ptr = e.tile_ptr().to_vector();
    m.host_cols = e.columns().to_vector();
    const index_t K = e.logical_shape().cols;
    std::vector<std::int32_t> g{0};
    for (index_t t = 0; t < e.tiles(); ++t) {
      const index_t kc = e.tile_count(t), padded = ceil_div(kc, group) * group;
      m.max_kcount = std::max(m.max_kcount, padded);
      g.push_back(g.back() + static_cast<std::int32_t>(padded / group));
    }
    m.ptr = maps::upload(maps::to_i32(m.host_ptr), s);
    m.kblocks = static_cast<int>(ceil_div(K, kb));
    m.kstart =
        maps::upload(maps::segment_starts(m.host_ptr, m.host_cols, maps::matmul_bounds(K, kb)), s);
    if (group > 1) m.gptr = maps::upload(g, s);
    s.synchronize();
    return m;
  }
};

/// Derived maps of block<BR, BC>: int32 block-row pointers and the block-column traversal.
struct block_maps {
  stco::cuda::device_buffer<std::int32_t> row_ptr, col_ptr, col_blk, col_brow;
  index_t max_kcount = 0;

  template <int BR, int BC>
  static block_maps build(const block_entity<BR, BC>& e, stco::cuda::stream s) {
    const auto ptr = e.row_ptr().to_vector(), bc = e.col_index().to_vector();
    const index_t Kb = e.block_cols(), nnzb = e.blocks();
    std::vector<std::int32_t> cp(static_cast<std::size_t>(Kb + 1), 0), blk(nnzb), brow(nnzb);
    block_maps m;
    for (index_t br = 0; br < e.block_rows(); ++br) {
      m.max_kcount = std::max(m.max_kcount, (ptr[br + 1] - ptr[br]) * BC);
      for (index_t p = ptr[br]; p < ptr[br + 1]; ++p) ++cp[bc[p] + 1];
    }
    for (index_t j = 0; j < Kb; ++j) cp[j + 1] += cp[j];
    std::vector<std::int32_t> fill(cp.begin(), cp.end() - 1);
    for (index_t br = 0; br < e.block_rows(); ++br)
      for (index_t p = ptr[br]; p < ptr[br + 1]; ++p) {
        const auto at = fill[bc[p]]++;
        blk[at] = static_cast<std::int32_t>(p);
        brow[at] = static_cast<std::int32_t>(br);
      }
    m.row_ptr = maps::upload(maps::to_i32(ptr), s);
    m.col_ptr = maps::upload(cp, s);
    m.col_blk = maps::upload(blk, s);
    m.col_brow = maps::upload(brow, s);
    s.synchronize();
    return m;
  }
};

/// Derived maps of channel: kept and removed rows as int32.
struct channel_maps {
  stco::cuda::device_buffer<std::int32_t> kept, removed;
  index_t kept_count = 0;

  static channel_maps build(const channel_entity& e, stco::cuda::stream s) {
    const auto rows = e.rows().to_vector();
    std::vector<std::int32_t> rem;
    for (index_t r = 0, i = 0; r < e.logical_shape().rows; ++r) {
      if (i < static_cast<index_t>(rows.size()) && rows[i] == r)
        ++i;
      else
        rem.push_back(static_cast<std::int32_t>(r));
    }
    channel_maps m;
    m.kept_count = static_cast<index_t>(rows.size());
    m.kept = maps::upload(maps::to_i32(rows), s);
    m.removed = maps::upload(rem, s);
    s.synchronize();
    return m;
  }
};

}  // namespace stco::kernel::cuda::gather_tc
