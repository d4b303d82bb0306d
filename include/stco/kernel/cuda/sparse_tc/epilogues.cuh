// stco/kernel/cuda/sparse_tc/epilogues.cuh — what the nm<2,4> kernels do with each finished pair of
// accumulators (row, col), (row, col + 1): the forward's fused chain, dX's plain store, and dW's
// store through the metadata (only kept addresses are written, compressed).
#pragma once

#include <cstdint>
#include <type_traits>

#include "stco/core/index.hpp"
#include "stco/kernel/cuda/sparse_tc/value_bits.cuh"

namespace stco::cuda::sparse_tc {

/// Y[r, c] = chain(z) (pos = r·N + c), the activation input to stash[pos] when stash is given.
template <class T, class Chain>
struct chain_store {
  std::uint16_t* y;
  float* stash;
  index_t N;
  Chain chain;
  /// The sm90 kernel's 16-byte stores (N % 8 == 0, y 16-byte aligned): pack() finishes a pair,
  /// put8() stores 8 consecutive outputs of a row.
  static constexpr bool vector8 = true;
  __device__ std::uint32_t pack(index_t r, index_t c, float z0, float z1) const {
    if (c >= N) return 0;
    const index_t pos = r * N + c;
    const float y0 = chain.apply(z0, r, pos, stash ? stash + pos : nullptr);
    const float y1 = chain.apply(z1, r, pos + 1, stash ? stash + pos + 1 : nullptr);
    return bits::pack2<T>(y0, y1);
  }
  __device__ void put8(index_t r, index_t c, const std::uint32_t (&w)[4]) const {
    *reinterpret_cast<uint4*>(y + r * N + c) = make_uint4(w[0], w[1], w[2], w[3]);
  }
  __device__ void operator()(index_t r, index_t c, float z0, float z1) const {
    const index_t pos = r * N + c;
    const float y0 = chain.apply(z0, r, pos, stash ? stash + pos : nullptr);
    if (c + 1 < N) {
      const float y1 = chain.apply(z1, r, pos + 1, stash ? stash + pos + 1 : nullptr);
      if (pos % 2 == 0)
        *reinterpret_cast<std::uint32_t*>(y + pos) = bits::pack2<T>(y0, y1);
      else
        y[pos] = bits::to_bits<T>(y0), y[pos + 1] = bits::to_bits<T>(y1);
    } else {
      y[pos] = bits::to_bits<T>(y0);
    }
  }
};

/// C[r, c] = scale · z (dX; scale carries a linear chain's constant derivative).
template <class T>
struct scaled_store {
  std::uint16_t* y;
  index_t N;
  float scale;
  static constexpr bool vector8 = true;
  __device__ std::uint32_t pack(index_t, index_t, float z0, float z1) const {
    return bits::pack2<T>(scale * z0, scale * z1);
  }
  __device__ void put8(index_t r, index_t c, const std::uint32_t (&w)[4]) const {
    *reinterpret_cast<uint4*>(y + r * N + c) = make_uint4(w[0], w[1], w[2], w[3]);
  }
  __device__ void operator()(index_t r, index_t c, float z0, float z1) const {
    const index_t pos = r * N + c;
    if (c + 1 < N) {
      if (pos % 2 == 0)
        *reinterpret_cast<std::uint32_t*>(y + pos) = bits::pack2<T>(scale * z0, scale * z1);
      else
        y[pos] = bits::to_bits<T>(scale * z0), y[pos + 1] = bits::to_bits<T>(scale * z1);
    } else {
      y[pos] = bits::to_bits<T>(scale * z0);
    }
  }
};

/// dW at kept addresses: the accumulator of (r, k) goes to compressed slot (r·G + k/4)·2 + s when
/// slot s of that group points at k. Columns past K (the ragged last group) are computed as zeros
/// and land in the slots that point into the padding. Out is float (the compute type; atomic
/// accumulation possible) or the value type itself (half / bfloat16: stored rounded, no atomics).
template <class Out = float>
struct compress_store {
  static constexpr bool vector8 = false;
  Out* dvals;
  const std::uint8_t* offsets;  ///< W's packed 2-bit offsets
  index_t groups;               ///< G = ⌈K/4⌉
  float scale;
  bool atomic;  ///< accumulate (split reductions; dW zeroed first) instead of storing (float)
  __device__ void store(index_t at, float v) const {
    if constexpr (std::is_same_v<Out, float>) {
      if (atomic)
        atomicAdd(dvals + at, scale * v);
      else
        dvals[at] = scale * v;
    } else {
      reinterpret_cast<std::uint16_t*>(dvals)[at] = bits::to_bits<Out>(scale * v);
    }
  }
  /// c is even, so c and c + 1 lie in one group: one offsets read serves both.
  __device__ void operator()(index_t r, index_t c, float z0, float z1) const {
    const index_t slot = r * groups + c / 4;
    const unsigned nib = (offsets[slot / 2] >> (4 * (slot % 2))) & 0xFu;
    const unsigned o0 = nib & 3u, o1 = nib >> 2, k = static_cast<unsigned>(c % 4);
    if (o0 == k) store(2 * slot, z0);
    if (o1 == k) store(2 * slot + 1, z0);
    if (c + 1 < 4 * groups) {
      if (o0 == k + 1) store(2 * slot, z1);
      if (o1 == k + 1) store(2 * slot + 1, z1);
    }
  }
};

}  // namespace stco::cuda::sparse_tc
