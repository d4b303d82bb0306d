// stco/kernel/cuda/gather_tc/loaders.cuh — filling one operand tile of a pipeline stage:
//   copy_async     16-byte cp.async per chunk from wherever src(row, chunk) points (nullptr:
//   zeros); copy_elements  one element at a time (ragged or misaligned operands), synchronous;
//   dz_async       dY chunks (and the activation inputs) copied with cp.async and turned into
//                  dZ = chain.core_gradient(dY, ch, pos, act_in) in place once they land, so the
//                  masked gradient is never written to device memory and its loads stay in the
//                  pipeline.
#pragma once

#include <cstdint>

#include "stco/core/index.hpp"
#include "stco/kernel/cuda/arch/mma_sm80.cuh"
#include "stco/kernel/cuda/gather_tc/tc_value.cuh"

namespace stco::kernel::cuda::gather_tc {

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

/// Copies a stage tile chunk by chunk. All source addresses are computed first (they may need
/// loads of index lists), then the copies are issued, so the index loads overlap instead of each
/// copy waiting for its own.
template <class Tile, int Threads, class Src>
__device__ __forceinline__ void copy_async(std::uint16_t* s, int tid, Src&& src) {
  constexpr int total = Tile::rows * Tile::chunks;
  constexpr int per_thread = (total + Threads - 1) / Threads;
  const std::uint16_t* g[per_thread];
#pragma unroll
  for (int j = 0; j < per_thread; ++j) {
    const int i = tid + j * Threads;
    g[j] = total % Threads == 0 || i < total ? src(i / Tile::chunks, i % Tile::chunks) : nullptr;
  }
#pragma unroll
  for (int j = 0; j < per_thread; ++j) {
    const int i = tid + j * Threads;
    if (total % Threads == 0 || i < total)
      arch::cp_async_16(s + Tile::offset(i / Tile::chunks, i % Tile::chunks),
                        g[j] ? g[j] : reinterpret_cast<const std::uint16_t*>(s), g[j] ? 16 : 0);
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

/// dZ through the cp.async pipeline: fetch() copies the raw dY chunks into the operand tile (and
/// the activation inputs into the stage's float buffer `act`, 8 per chunk, in chunk order); once
/// the thread's copies have landed, transform() rewrites its own chunks in place as dZ. Each
/// thread transforms exactly the chunks it copied, so no barrier is needed between the two; the
/// barrier before the MMAs publishes the result.
template <class Tile, int Threads, class V, bool HasAct>
struct dz_async {
  static constexpr int total = Tile::rows * Tile::chunks;
  static constexpr int per_thread = (total + Threads - 1) / Threads;
  /// Bytes of activation inputs a stage holds.
  static constexpr int act_bytes = HasAct ? total * 32 : 0;

  template <class Where>
  __device__ __forceinline__ static void fetch(std::uint16_t* s, float* act, int tid,
                                               Where&& where) {
    dz_chunk z[per_thread];
#pragma unroll
    for (int j = 0; j < per_thread; ++j) {
      const int i = tid + j * Threads;
      z[j] = total % Threads == 0 || i < total ? where(i / Tile::chunks, i % Tile::chunks)
                                               : dz_chunk{nullptr, nullptr, 0, 0, 0};
    }
#pragma unroll
    for (int j = 0; j < per_thread; ++j) {
      const int i = tid + j * Threads;
      if (total % Threads == 0 || i < total) {
        const bool live = z[j].dy != nullptr;
        arch::cp_async_16(s + Tile::offset(i / Tile::chunks, i % Tile::chunks),
                          live ? z[j].dy : reinterpret_cast<const std::uint16_t*>(s),
                          live ? 16 : 0);
        if constexpr (HasAct) {
          arch::cp_async_16(act + i * 8, live ? z[j].act : act, live ? 16 : 0);
          arch::cp_async_16(act + i * 8 + 4, live ? z[j].act + 4 : act, live ? 16 : 0);
        }
      }
    }
  }
  template <class Where, class Chain>
  __device__ __forceinline__ static void transform(std::uint16_t* s, const float* act, int tid,
                                                   Where&& where, const Chain& chain) {
#pragma unroll
    for (int j = 0; j < per_thread; ++j) {
      const int i = tid + j * Threads;
      if (total % Threads == 0 || i < total) {
        const dz_chunk z = where(i / Tile::chunks, i % Tile::chunks);
        if (!z.dy) continue;
        uint4* p = reinterpret_cast<uint4*>(s + Tile::offset(i / Tile::chunks, i % Tile::chunks));
        const uint4 raw = *p;
        const std::uint32_t w[4] = {raw.x, raw.y, raw.z, raw.w};
        float a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        if constexpr (HasAct) {
          const float4 a0 = reinterpret_cast<const float4*>(act + i * 8)[0];
          const float4 a1 = reinterpret_cast<const float4*>(act + i * 8)[1];
          a[0] = a0.x, a[1] = a0.y, a[2] = a0.z, a[3] = a0.w;
          a[4] = a1.x, a[5] = a1.y, a[6] = a1.z, a[7] = a1.w;
        }
        std::uint32_t o[4];
#pragma unroll
        for (int e = 0; e < 8; e += 2) {
          float d[2];
#pragma unroll
          for (int h = 0; h < 2; ++h) {
            const float dy =
                tc_value<V>::to_float(static_cast<std::uint16_t>(w[e / 2] >> (16 * h)));
            d[h] = chain.core_gradient(dy, z.ch + (e + h) * z.ch_step, z.pos + e + h, a[e + h]);
          }
          o[e / 2] = tc_value<V>::pack(d[0], d[1]);
        }
        *p = make_uint4(o[0], o[1], o[2], o[3]);
      }
    }
  }
};

/// dZ gathered one element at a time into registers one stage ahead (dY rows that are not runs
/// of 8, e.g. channel's kept channels), turned into dZ when written to the stage.
template <class Tile, int Threads, class V, bool HasAct>
struct dz_gather_stage {
  static constexpr int total = Tile::rows * Tile::contiguous;
  static constexpr int per_thread = (total + Threads - 1) / Threads;
  std::uint16_t v[per_thread];
  float a[HasAct ? per_thread : 1];

  /// where(row, col) → dz_chunk of one element.
  template <class Where>
  __device__ __forceinline__ void fetch(int tid, Where&& where) {
#pragma unroll
    for (int j = 0; j < per_thread; ++j) {
      const int i = tid + j * Threads;
      v[j] = 0;
      if (total % Threads == 0 || i < total) {
        const dz_chunk z = where(i / Tile::contiguous, i % Tile::contiguous);
        if (z.dy) {
          v[j] = __ldg(reinterpret_cast<const unsigned short*>(z.dy));
          if constexpr (HasAct) a[j] = __ldg(z.act);
        }
      }
    }
  }
  template <class Where, class Chain>
  __device__ __forceinline__ void store(std::uint16_t* s, int tid, Where&& where,
                                        const Chain& chain) const {
#pragma unroll
    for (int j = 0; j < per_thread; ++j) {
      const int i = tid + j * Threads;
      if (total % Threads == 0 || i < total) {
        const int row = i / Tile::contiguous, col = i % Tile::contiguous;
        const dz_chunk z = where(row, col);
        float d = 0.f;
        if (z.dy)
          d = chain.core_gradient(tc_value<V>::to_float(v[j]), z.ch, z.pos, HasAct ? a[j] : 0.f);
        s[Tile::element(row, col)] = tc_value<V>::from_float(d);
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

}  // namespace stco::kernel::cuda::gather_tc
