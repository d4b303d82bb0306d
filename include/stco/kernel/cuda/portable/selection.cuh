// stco/kernel/cuda/portable/selection.cuh — the device kernels of pruning and index construction:
// scores as doubles, per-unit score sums, N:M group selection and offset packing, top-k flags from
// a radix-sorted order, compaction of kept positions, and gathering values at an entity's slots.
//
// Pruning on the device must choose what stco::prune chooses on the host, to the bit: scores are
// doubles summed in the host's order (one thread per unit, sequentially), and ties go to the lower
// index (a stable radix sort of order-preserving keys; -0 is scored as +0, as == does).
#pragma once

#include <cstdint>
#include <cstring>

#include "stco/core/value_traits.hpp"
#include "stco/kernel/cuda/launch.cuh"
#include "stco/kernel/cuda/values.cuh"

namespace stco::kernel::cuda::select {

/// The bits of a double.
STCO_HD inline std::uint64_t double_bits(double d) {
#if defined(__CUDA_ARCH__)
  return static_cast<std::uint64_t>(__double_as_longlong(d));
#else
  std::uint64_t u;
  std::memcpy(&u, &d, sizeof u);
  return u;
#endif
}

/// out[i] = |x[i]| (magnitude) or x[i] as double; the first NaN's index goes to *nan_at.
template <class U>
struct score_doubles {
  static constexpr int threads = 256;
  struct params {
    const U* x;
    index_t n;
    bool magnitude;
    double* out;
    unsigned long long* nan_at;
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t i = b.block_x() * threads + b.thread();
    if (i >= p.n) return;
    double d = to_double(p.x[i]);
    if (d != d) {
      atomic_min(p.nan_at, static_cast<unsigned long long>(i));
      d = 0;
    }
    if (p.magnitude && d < 0) d = -d;
    p.out[i] = d + 0.0;  // -0 → +0
  }
};

/// The N offsets of each group of M (nm<N,M>): largest scores first, ties to the lower offset,
/// then the lowest unused offsets for missing slots, sorted — detail::select_group on the host.
template <int N, int M>
struct nm_offsets {
  static constexpr int threads = 256;
  struct params {
    const double* s;
    index_t rows, cols, groups;
    std::uint8_t* off;  // [rows·groups·N]
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t e = b.block_x() * threads + b.thread();
    if (e >= p.rows * p.groups) return;
    const index_t r = e / p.groups, g = e % p.groups;
    const int real = static_cast<int>(p.cols - g * M < M ? p.cols - g * M : M);
    const double* sc = p.s + r * p.cols + g * M;
    bool used[M];
    for (int o = 0; o < M; ++o) used[o] = false;
    int off[N];
    const int take = real < N ? real : N;
    for (int j = 0; j < take; ++j) {
      int best = -1;
      for (int o = 0; o < real; ++o)
        if (!used[o] && (best < 0 || sc[o] > sc[best])) best = o;  // ties: the lower offset
      used[best] = true;
      off[j] = best;
    }
    int have = take;
    for (int o = 0; have < N && o < M; ++o)
      if (!used[o]) {
        used[o] = true;
        off[have++] = o;
      }
    for (int i = 1; i < N; ++i)  // sort the N offsets
      for (int j = i; j > 0 && off[j] < off[j - 1]; --j) {
        const int t = off[j];
        off[j] = off[j - 1];
        off[j - 1] = t;
      }
    for (int j = 0; j < N; ++j) p.off[e * N + j] = static_cast<std::uint8_t>(off[j]);
  }
};

/// Packs B-bit fields LSB-first into 32-bit words (packed_bits' layout), one thread per word.
template <int B>
struct pack_fields {
  static constexpr int threads = 256;
  struct params {
    const std::uint8_t* fields;
    index_t count, words;
    std::uint32_t* out;
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t w = b.block_x() * threads + b.thread();
    if (w >= p.words) return;
    std::uint32_t word = 0;
    const index_t lo = w * 32, hi = lo + 32;
    for (index_t f = lo / B; f * B < hi && f < p.count; ++f) {
      const index_t shift = f * B - lo;
      const std::uint32_t v = p.fields[f];
      word |= shift >= 0 ? v << shift : v >> (-shift);
    }
    p.out[w] = word;
  }
};

/// Per tile of T rows and column c: Σ over the tile's rows (in order) of s(r, c).
template <int T>
struct tile_column_sums {
  static constexpr int threads = 256;
  struct params {
    const double* s;
    index_t rows, cols, tiles;
    double* out;  // [tiles·cols]
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t e = b.block_x() * threads + b.thread();
    if (e >= p.tiles * p.cols) return;
    const index_t t = e / p.cols, c = e % p.cols;
    double acc = 0.0;
    for (index_t r = t * T; r < t * T + T && r < p.rows; ++r) acc += p.s[r * p.cols + c];
    p.out[e] = acc;
  }
};

/// Per BR×BC block: Σ of its scores, rows outer and columns inner (the host's order).
template <int BR, int BC>
struct block_sums {
  static constexpr int threads = 256;
  struct params {
    const double* s;
    index_t rows, cols, brows, bcols;
    double* out;  // [brows·bcols]
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t e = b.block_x() * threads + b.thread();
    if (e >= p.brows * p.bcols) return;
    const index_t br = e / p.bcols, bc = e % p.bcols;
    double acc = 0.0;
    for (index_t r = br * BR; r < br * BR + BR && r < p.rows; ++r)
      for (index_t c = bc * BC; c < bc * BC + BC && c < p.cols; ++c) acc += p.s[r * p.cols + c];
    p.out[e] = acc;
  }
};

/// Per row: Σ of its scores in column order.
struct row_sums {
  static constexpr int threads = 256;
  struct params {
    const double* s;
    index_t rows, cols;
    double* out;
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t r = b.block_x() * threads + b.thread();
    if (r >= p.rows) return;
    double acc = 0.0;
    for (index_t c = 0; c < p.cols; ++c) acc += p.s[r * p.cols + c];
    p.out[r] = acc;
  }
};

/// Sort keys putting larger scores first (an ascending sort of them is descending in score),
/// values the positions.
struct descending_keys {
  static constexpr int threads = 256;
  struct params {
    const double* s;
    index_t n;
    std::uint64_t* keys;
    std::uint32_t* values;
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t i = b.block_x() * threads + b.thread();
    if (i >= p.n) return;
    const std::uint64_t u = double_bits(p.s[i]);
    const std::uint64_t ordered = (u >> 63) ? ~u : u | (std::uint64_t{1} << 63);
    p.keys[i] = ~ordered;
    p.values[i] = static_cast<std::uint32_t>(i);
  }
};

/// keys[i] = the segment (values[i] / seg) of a sorted position, to sort by segment next.
struct segment_keys {
  static constexpr int threads = 256;
  struct params {
    const std::uint32_t* values;
    index_t n, seg;
    std::uint64_t* keys;
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t i = b.block_x() * threads + b.thread();
    if (i < p.n) p.keys[i] = static_cast<std::uint64_t>(p.values[i] / p.seg);
  }
};

/// Order grouped in segments of `seg` (best first within each): flag the first k of each.
struct flag_top {
  static constexpr int threads = 256;
  struct params {
    const std::uint32_t* order;
    index_t n, seg, k;
    std::uint32_t* flags;
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t i = b.block_x() * threads + b.thread();
    if (i < p.n) p.flags[p.order[i]] = i % p.seg < p.k ? 1u : 0u;
  }
};

/// out[pos[i]] = i mod m for every flagged i: kept positions, compacted in increasing order.
struct compact_flagged {
  static constexpr int threads = 256;
  struct params {
    const std::uint32_t* flags;
    const std::uint32_t* pos;
    index_t n, mod;
    std::int32_t* out;
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t i = b.block_x() * threads + b.thread();
    if (i < p.n && p.flags[i]) p.out[p.pos[i]] = static_cast<std::int32_t>(i % p.mod);
  }
};

/// ptr[j] = flagged positions before segment j (segments of `seg`), ptr[segments] = total.
struct segment_pointers {
  static constexpr int threads = 256;
  struct params {
    const std::uint32_t* pos;
    index_t n, seg, segments, total;
    std::int32_t* ptr;
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t j = b.block_x() * threads + b.thread();
    if (j > p.segments) return;
    p.ptr[j] = static_cast<std::int32_t>(j * p.seg < p.n ? index_t{p.pos[j * p.seg]} : p.total);
  }
};

/// v[s] = W at slot s's position (at[s] = r·K + c), 0 at padding slots.
template <class T>
struct gather_slots {
  static constexpr int threads = 256;
  struct params {
    const T* w;
    const index_t* at;
    index_t n;
    T* v;
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t s = b.block_x() * threads + b.thread();
    if (s < p.n) p.v[s] = p.at[s] >= 0 ? p.w[p.at[s]] : T{};
  }
};

/// out[at[s]] = v[s] for every stored slot (out zeroed beforehand): decoding to dense.
template <class T>
struct scatter_slots {
  static constexpr int threads = 256;
  struct params {
    const T* v;
    const index_t* at;
    index_t n;
    T* out;
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t s = b.block_x() * threads + b.thread();
    if (s < p.n && p.at[s] >= 0) p.out[p.at[s]] = p.v[s];
  }
};

}  // namespace stco::kernel::cuda::select
