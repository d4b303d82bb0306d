// stco/kernel/cuda/tiletc/loaders.cuh — filling one operand tile of a pipeline stage:
//   copy_async     16-byte cp.async per chunk from wherever src(row, chunk) points (nullptr:
//   zeros); copy_elements  one element at a time (ragged or misaligned operands), synchronous;
//   dz_stage       dY chunks loaded into registers one stage ahead and turned into
//                  dZ = chain.core_gradient(dY, ch, pos, act_in) on the way to shared memory, so
//                  the masked gradient is never written to device memory.
#pragma once

#include <cstdint>

#include "stco/core/index.hpp"
#include "stco/kernel/cuda/tiletc/arch.cuh"

namespace stco::kernel::cuda::tiletc {

/// Where one 8-element chunk of dY lives: dy (nullptr: the chunk is zero), the matching stash
/// (activation inputs, float), the channel of element 0 and its step along the chunk (0 for a
/// matmul row, 1 for NHWC channels), and the linear position of element 0 (positions step by 1).
struct dz_chunk {
  const std::uint16_t* dy;
  const float* act;
  index_t ch;
  int ch_step;
  index_t pos;
};

template <class Tile, int Threads, class Src>
__device__ __forceinline__ void copy_async(std::uint16_t* s, int tid, Src&& src) {
  constexpr int total = Tile::rows * Tile::chunks;
#pragma unroll
  for (int i0 = 0; i0 < total; i0 += Threads) {
    const int i = i0 + tid;
    if (total % Threads == 0 || i < total) {
      const int row = i / Tile::chunks, ch = i % Tile::chunks;
      const std::uint16_t* g = src(row, ch);
      arch::cp_async_16(s + Tile::offset(row, ch),
                        g ? g : reinterpret_cast<const std::uint16_t*>(s), g ? 16 : 0);
    }
  }
}

/// elem(row, col) returns the element's bits (0 for padding).
template <class Tile, int Threads, class Elem>
__device__ __forceinline__ void copy_elements(std::uint16_t* s, int tid, Elem&& elem) {
  constexpr int total = Tile::rows * Tile::contiguous;
  for (int i = tid; i < total; i += Threads) {
    const int row = i / Tile::contiguous, col = i % Tile::contiguous;
    s[Tile::element(row, col)] = elem(row, col);
  }
}

/// Single elements gathered into registers one stage ahead (the implicit im2col of a conv whose
/// positions are not runs of 8 channels); src(row, col) → pointer or nullptr (zero).
template <class Tile, int Threads>
struct gather_stage {
  static constexpr int total = Tile::rows * Tile::contiguous;
  static constexpr int per_thread = (total + Threads - 1) / Threads;
  std::uint16_t v[per_thread];

  template <class Src>
  __device__ __forceinline__ void fetch(int tid, Src&& src) {
#pragma unroll
    for (int j = 0; j < per_thread; ++j) {
      const int i = tid + j * Threads;
      v[j] = 0;
      if (total % Threads == 0 || i < total) {
        const std::uint16_t* g = src(i / Tile::contiguous, i % Tile::contiguous);
        if (g) v[j] = __ldg(reinterpret_cast<const unsigned short*>(g));
      }
    }
  }
  __device__ __forceinline__ void store(std::uint16_t* s, int tid) const {
#pragma unroll
    for (int j = 0; j < per_thread; ++j) {
      const int i = tid + j * Threads;
      if (total % Threads == 0 || i < total)
        s[Tile::element(i / Tile::contiguous, i % Tile::contiguous)] = v[j];
    }
  }
};

template <class Tile, int Threads, class V, bool HasAct>
struct dz_stage {
  static constexpr int total = Tile::rows * Tile::chunks;
  static constexpr int per_thread = (total + Threads - 1) / Threads;
  uint4 raw[per_thread];
  float act[HasAct ? per_thread : 1][HasAct ? 8 : 1];

  /// Issues the loads; where(row, chunk) → dz_chunk.
  template <class Where>
  __device__ __forceinline__ void fetch(int tid, Where&& where) {
#pragma unroll
    for (int j = 0; j < per_thread; ++j) {
      const int i = tid + j * Threads;
      raw[j] = make_uint4(0, 0, 0, 0);
      if (total % Threads == 0 || i < total) {
        const dz_chunk z = where(i / Tile::chunks, i % Tile::chunks);
        if (z.dy) {
          raw[j] = __ldg(reinterpret_cast<const uint4*>(z.dy));
          if constexpr (HasAct) {
            const float4 a0 = __ldg(reinterpret_cast<const float4*>(z.act));
            const float4 a1 = __ldg(reinterpret_cast<const float4*>(z.act) + 1);
            act[j][0] = a0.x, act[j][1] = a0.y, act[j][2] = a0.z, act[j][3] = a0.w;
            act[j][4] = a1.x, act[j][5] = a1.y, act[j][6] = a1.z, act[j][7] = a1.w;
          }
        }
      }
    }
  }
  /// Applies the chain's derivative and writes the stage.
  template <class Where, class Chain>
  __device__ __forceinline__ void store(std::uint16_t* s, int tid, Where&& where,
                                        const Chain& chain) {
#pragma unroll
    for (int j = 0; j < per_thread; ++j) {
      const int i = tid + j * Threads;
      if (total % Threads == 0 || i < total) {
        const int row = i / Tile::chunks, ch = i % Tile::chunks;
        const dz_chunk z = where(row, ch);
        uint4 out = make_uint4(0, 0, 0, 0);
        if (z.dy) {
          const std::uint32_t w[4] = {raw[j].x, raw[j].y, raw[j].z, raw[j].w};
          std::uint32_t o[4];
#pragma unroll
          for (int e = 0; e < 8; e += 2) {
            float d[2];
#pragma unroll
            for (int h = 0; h < 2; ++h) {
              const float dy =
                  tc_value<V>::to_float(static_cast<std::uint16_t>(w[e / 2] >> (16 * h)));
              const float a = HasAct ? act[j][HasAct ? e + h : 0] : 0.f;
              d[h] = chain.core_gradient(dy, z.ch + (e + h) * z.ch_step, z.pos + e + h, a);
            }
            o[e / 2] = tc_value<V>::pack(d[0], d[1]);
          }
          out = make_uint4(o[0], o[1], o[2], o[3]);
        }
        *reinterpret_cast<uint4*>(s + Tile::offset(row, ch)) = out;
      }
    }
  }
};

/// dZ one element at a time (ragged or misaligned dY), synchronous. where(row, col) → dz_chunk of
/// that single element (ch_step unused).
template <class Tile, int Threads, class V, bool HasAct, class Where, class Chain>
__device__ __forceinline__ void dz_elements(std::uint16_t* s, int tid, Where&& where,
                                            const Chain& chain) {
  constexpr int total = Tile::rows * Tile::contiguous;
  for (int i = tid; i < total; i += Threads) {
    const int row = i / Tile::contiguous, col = i % Tile::contiguous;
    const dz_chunk z = where(row, col);
    float d = 0.f;
    if (z.dy) {
      const float a = HasAct ? *z.act : 0.f;
      d = chain.core_gradient(tc_value<V>::to_float(*z.dy), z.ch, z.pos, a);
    }
    s[Tile::element(row, col)] = tc_value<V>::from_float(d);
  }
}

}  // namespace stco::kernel::cuda::tiletc
