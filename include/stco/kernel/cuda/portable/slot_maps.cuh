// stco/kernel/cuda/portable/slot_maps.cuh — address maps derived from a device entity, built on
// the device once and cached inside it (device_entity::derived):
//
//   slot_coords   per stored slot, its logical position r·K + c, or -1 for padding: what
//                 gather, decode, mask-update remapping and grouped-conv dW address with;
//   column_map    the transposed traversal: per column k of W, its stored (row, slot) pairs by
//                 increasing row — what dX = Wᵀ·dZ walks. Built from the coordinates by one
//                 radix sort of (k·R + r, slot) pairs and a pass that cuts the columns apart.
#pragma once

#include <cstdint>

#include "stco/core/cuda/device_buffer.cuh"
#include "stco/kernel/cuda/device_algorithms.cuh"
#include "stco/kernel/cuda/launch.cuh"
#include "stco/layout/cuda/device_entity.cuh"

namespace stco::kernel::cuda {

/// Per slot, r·K + c of the stored value, or -1 (padding).
struct slot_coords {
  stco::cuda::device_buffer<index_t> at;
};

/// Fills coordinates by walking a view: one warp per unit, lanes over its list.
template <class View>
struct coords_body {
  static constexpr int threads = 256;
  struct params {
    View view;
    index_t* at;
  };
  struct shared {};

  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    constexpr int U = View::unit_rows;
    const View& v = p.view;
    const index_t u = b.block_x() * (threads / 32) + b.thread() / 32;
    if (u >= v.units()) return;
    const int uu = static_cast<int>(u);
    for (int q = v.list_begin(uu) + b.thread() % 32; q < v.list_end(uu); q += 32) {
      const int c = v.col(uu, q);
      for (int i = 0; i < U; ++i) {
        const int s = v.slot(uu, q, i);
        if (s < 0) continue;
        const index_t r = u * U + i;
        p.at[s] = r < v.rows && c < v.cols ? r * v.cols + c : -1;
      }
    }
  }
};

/// The cached slot coordinates of `e` (built at the first call on the entity's home stream, so
/// that they are freed there with it; the call waits for them).
template <class L>
const slot_coords& coords_of(const stco::cuda::device_entity<L>& e, stco::cuda::stream s) {
  (void)s;
  return e.template derived<slot_coords>([](const stco::cuda::device_entity_base& base) {
    const auto& de = static_cast<const stco::cuda::device_entity<L>&>(base);
    const stco::cuda::stream s = base.home_stream();  // freed with the entity, on its stream
    slot_coords m{stco::cuda::device_buffer<index_t>(de.compressed_shape().size(), s)};
    if (m.at.size() > 0) STCO_CUDA_CHECK(cudaMemsetAsync(m.at.data(), 0xff, m.at.bytes(), s.get()));
    using V = typename stco::cuda::device_entity<L>::view_type;
    const typename coords_body<V>::params p{de.view(), m.at.data()};
    launch<coords_body<V>>({ceil_div(p.view.units(), coords_body<V>::threads / 32), 1}, s, p);
    s.synchronize();
    return m;
  });
}

/// Wᵀ as a view: column k of W is unit k, its entries the stored rows (col() = r) in order.
struct column_map_view {
  static constexpr int unit_rows = 1;
  int rows, cols;  // K, R
  const std::int32_t* ptr;
  const std::int32_t* row;
  const std::int32_t* slots;

  STCO_HD int units() const { return rows; }
  STCO_HD int segments() const { return 1; }
  STCO_HD int segment_unit(int u, int) const { return u; }
  STCO_HD int list_begin(int u) const { return ptr[u]; }
  STCO_HD int list_end(int u) const { return ptr[u + 1]; }
  STCO_HD int col(int, int p) const { return row[p]; }
  STCO_HD int slot(int, int p, int) const { return slots[p]; }
};

struct column_map {
  stco::cuda::device_buffer<std::int32_t> ptr, row, slot;
  index_t entries = 0;
  column_map_view view(matrix_shape w) const {
    return {static_cast<int>(w.cols), static_cast<int>(w.rows), ptr.data(), row.data(),
            slot.data()};
  }
};

namespace maps {
struct flag_coords {
  static constexpr int threads = 256;
  struct params {
    const index_t* at;
    index_t n;
    std::uint32_t* flags;
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t i = b.block_x() * threads + b.thread();
    if (i < p.n) p.flags[i] = p.at[i] >= 0 ? 1u : 0u;
  }
};

/// Kept slot s → pair (c·R + r, s) at position pos[s].
struct column_pairs {
  static constexpr int threads = 256;
  struct params {
    const index_t* at;
    const std::uint32_t* pos;
    index_t n, R, K;
    std::uint64_t* keys;
    std::uint32_t* values;
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t s = b.block_x() * threads + b.thread();
    if (s >= p.n || p.at[s] < 0) return;
    const index_t r = p.at[s] / p.K, c = p.at[s] % p.K;
    p.keys[p.pos[s]] = static_cast<std::uint64_t>(c) * static_cast<std::uint64_t>(p.R) +
                       static_cast<std::uint64_t>(r);
    p.values[p.pos[s]] = static_cast<std::uint32_t>(s);
  }
};

/// Sorted pairs → column pointers (every column whose list starts at i gets ptr = i), rows and
/// slots. Thread i ∈ [0, n] covers the columns between pair i − 1 and pair i.
struct column_cut {
  static constexpr int threads = 256;
  struct params {
    const std::uint64_t* keys;
    const std::uint32_t* values;
    index_t n, R, K;
    std::int32_t *ptr, *row, *slot;
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t i = b.block_x() * threads + b.thread();
    if (i > p.n) return;
    const auto R = static_cast<std::uint64_t>(p.R);
    const index_t c = i < p.n ? static_cast<index_t>(p.keys[i] / R) : p.K;
    const index_t before = i > 0 ? static_cast<index_t>(p.keys[i - 1] / R) : -1;
    for (index_t k = before + 1; k <= c; ++k) p.ptr[k] = static_cast<std::int32_t>(i);
    if (i < p.n) {
      p.row[i] = static_cast<std::int32_t>(p.keys[i] % R);
      p.slot[i] = static_cast<std::int32_t>(p.values[i]);
    }
  }
};
}  // namespace maps

/// The cached transposed traversal of `e` (built as coords_of).
template <class L>
const column_map& column_map_of(const stco::cuda::device_entity<L>& e, stco::cuda::stream s) {
  const slot_coords& co = coords_of(e, s);
  return e.template derived<column_map>([&co](const stco::cuda::device_entity_base& de) {
    using stco::cuda::device_buffer;
    const stco::cuda::stream s = de.home_stream();
    const index_t n = de.compressed_shape().size();
    const index_t R = de.logical_shape().rows, K = de.logical_shape().cols;
    constexpr int T = 256;
    device_buffer<std::uint32_t> flags(n, s), pos(n, s);
    launch<maps::flag_coords>({ceil_div(n, T), 1}, s, {co.at.data(), n, flags.data()});
    exclusive_sum(flags.data(), pos.data(), n, s);
    const index_t kept =
        n == 0 ? 0
               : index_t{read_scalar(pos.data() + n - 1, s)} + read_scalar(flags.data() + n - 1, s);
    device_buffer<std::uint64_t> keys(kept, s), sorted(kept, s);
    device_buffer<std::uint32_t> vals(kept, s), svals(kept, s);
    launch<maps::column_pairs>({ceil_div(n, T), 1}, s,
                               {co.at.data(), pos.data(), n, R, K, keys.data(), vals.data()});
    const auto top = static_cast<std::uint64_t>(R > 0 && K > 0 ? R * K - 1 : 0);
    sort_pairs(keys.data(), sorted.data(), vals.data(), svals.data(), kept, bits_for(top), s);
    column_map m{device_buffer<std::int32_t>(K + 1, s), device_buffer<std::int32_t>(kept, s),
                 device_buffer<std::int32_t>(kept, s), kept};
    launch<maps::column_cut>(
        {ceil_div(kept + 1, T), 1}, s,
        {sorted.data(), svals.data(), kept, R, K, m.ptr.data(), m.row.data(), m.slot.data()});
    s.synchronize();
    return m;
  });
}

}  // namespace stco::kernel::cuda
