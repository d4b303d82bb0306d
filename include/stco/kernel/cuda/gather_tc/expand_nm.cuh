// stco/kernel/cuda/gather_tc/expand_nm.cuh — tile_vector's N:M groups expanded to dense M-position
// slabs on the way into shared memory, so its kept part runs on the dense MMA of tile_wise.
//
// Tile shape: rows = kept positions q of the stage (BK, a multiple of M), 8-element chunks = 8
// tile rows m (k-major, as tile_wise's panel). A unit is one group × one chunk: N 16-byte value
// loads and N offset bytes in registers (fetch), then M chunk stores (store).
#pragma once

#include <cstdint>

#include "stco/core/index.hpp"

namespace stco::kernel::cuda::gather_tc {

template <class Tile, int Threads, class View>
struct nm_expand_stage {
  static constexpr int N = View::n, M = View::m;
  static constexpr int groups = Tile::rows / M, units = groups * Tile::chunks;
  static constexpr int per_thread = (units + Threads - 1) / Threads;
  static_assert(Tile::rows % M == 0, "nm_expand_stage: the stage's k-step must hold whole groups");
  uint4 v[per_thread][N];
  std::uint32_t o[per_thread][N];  // 8 offset fields, `bits` each

  /// q0: the stage's first position (a multiple of M).
  __device__ __forceinline__ void fetch(const View& w, const typename View::state& st,
                                        const std::uint16_t* vals, int q0, int tid) {
#pragma unroll
    for (int j = 0; j < per_thread; ++j) {
      const int u = tid + j * Threads;
      if (units % Threads == 0 || u < units) {
        const int g = (q0 / M) + u / Tile::chunks, m0 = (u % Tile::chunks) * 8;
        const bool live = g * M < w.kcount(st) && m0 < View::tile_rows;
#pragma unroll
        for (int s = 0; s < N; ++s) {
          if (live) {
            const index_t i = w.slot_value(st, g, s, m0);
            v[j][s] = __ldg(reinterpret_cast<const uint4*>(vals + i));
            o[j][s] = w.offsets8(i);
          } else {
            v[j][s] = make_uint4(0, 0, 0, 0);
            o[j][s] = 0;
          }
        }
      }
    }
  }

  __device__ __forceinline__ void store(std::uint16_t* s, int tid) const {
    constexpr std::uint32_t mask = (1u << View::bits) - 1u;
#pragma unroll
    for (int j = 0; j < per_thread; ++j) {
      const int u = tid + j * Threads;
      if (units % Threads == 0 || u < units) {
        const int g = u / Tile::chunks, ch = u % Tile::chunks;
#pragma unroll
        for (int r = 0; r < M; ++r) {
          std::uint32_t out[4] = {0, 0, 0, 0};
#pragma unroll
          for (int e = 0; e < 8; ++e) {
            std::uint32_t bits = 0;
#pragma unroll
            for (int sl = 0; sl < N; ++sl) {
              const std::uint32_t w4[4] = {v[j][sl].x, v[j][sl].y, v[j][sl].z, v[j][sl].w};
              const std::uint32_t val = (w4[e / 2] >> (16 * (e & 1))) & 0xffffu;
              if (((o[j][sl] >> (View::bits * e)) & mask) == static_cast<std::uint32_t>(r))
                bits = val;
            }
            out[e / 2] |= bits << (16 * (e & 1));
          }
          *reinterpret_cast<uint4*>(s + Tile::offset(g * M + r, ch)) =
              make_uint4(out[0], out[1], out[2], out[3]);
        }
      }
    }
  }
};

}  // namespace stco::kernel::cuda::gather_tc
