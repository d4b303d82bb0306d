// stco/kernel/cuda/gather_tc/segmented_grad_x.cuh — dX = Wᵀ·dZ for tile_wise and tile_vector
// without atomics: the tile lists are the transposed traversal at tile granularity.
//
// A CTA owns an output block: KB consecutive K-columns of W (rows of matmul dX, or channels of a
// conv tap) by NB columns (of dX, or input pixels), accumulated in fp32 shared memory. It walks the
// (tile, segment) pairs that reach its block. A tile's columns are sorted, so those in a segment's
// column range are one contiguous slot range, read from `kstart` (per tile, the first slot at each
// segment boundary; derived once per entity). A slot range times the tile's dZ rows is a dense
// [slots × T]·[T × NB] MMA (pieces of PM slots, k-steps of BK tile rows); when a piece is complete
// its rows are added into the accumulator at their columns. Every dX element is written once.
//
// Policy (matmul_grad_x_tiles / conv_grad_x_tiles): segments(), segment(jj) (its index in kstart's
// rows), base(jj) (the first K-column of the block's range in that segment), the dZ operand
// (dz_loader: cp.async of dY and the activation inputs into a [BK × NB] or [NB × BK] tile, then
// an in-place transform to dZ) and the final write.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "stco/kernel/cuda/arch/mma_sm80.cuh"
#include "stco/kernel/cuda/gather_tc/loaders.cuh"
#include "stco/kernel/cuda/gather_tc/views.cuh"
#include "stco/kernel/cuda/gather_tc/warp_mma.cuh"

namespace stco::kernel::cuda::gather_tc {

/// Shape of a segmented dX kernel: KB × NB output block, pieces of PM slots, k-steps of BK tile
/// rows, dZ tile stored [BK rows × NB] (DzKc = false) or [NB rows × BK] (true).
template <int T, int KB, int NB, int PM, bool DzKc>
struct seg_config {
  static constexpr int kb = KB, nb = NB, pm = PM, bk = T < 32 ? T : 32, stages = 4;
  static constexpr int pad = 8;  // accumulator row padding (floats), against bank conflicts
  static constexpr int warps_n = NB >= 128 ? 4 : NB >= 64 ? 4 : 2;
  using mma = gemm_config<PM, NB, bk, 8 / warps_n, warps_n, stages>;
  using layout = stage_layout<mma, true, DzKc>;  // A: slots × tile rows
  static constexpr int acc_ld = NB + pad;
  static constexpr int acc_bytes = KB * acc_ld * 4;
  static_assert(T % bk == 0, "seg_config: the tile height must be a multiple of BK");
};

/// The CTA's slot range of every (tile, segment) pair, copied from kstart into shared memory
/// once, so the cursors walk without global loads on the pipeline's critical path.
template <class Policy>
__device__ void load_ranges(const Policy& pol, int2* ranges, int tid, int threads) {
  const int J = pol.segments(), n = pol.tiles() * J;
  for (int i = tid; i < n; i += threads) {
    const int t = i / J, j = i - t * J;
    const int* ks = pol.kstart + static_cast<index_t>(t) * (pol.kcols + 1) + pol.segment(j);
    ranges[i] = make_int2(ks[0], ks[1]);
  }
}

/// Walks (tile, segment, piece, k-step) over the pairs that reach the CTA's block.
template <int T, int PM, int BK>
struct seg_cursor {
  int t, jj, u0, u1, s1, kh;  // slots [u0, u1) of the current piece; s1: end of the range
  bool valid;

  /// The first non-empty pair at or after (from_t, from_jj); ranges: tiles × J.
  __device__ void seek(const int2* ranges, int tiles, int J, int from_t, int from_jj) {
    for (int i = from_t * J + from_jj; i < tiles * J; ++i) {
      const int2 r = ranges[i];
      if (r.y > r.x) {
        t = i / J, jj = i - t * J, u0 = r.x, s1 = r.y, u1 = min(r.y, r.x + PM), kh = 0;
        valid = true;
        return;
      }
    }
    valid = false;
  }
  __device__ void advance(const int2* ranges, int tiles, int J) {
    if (++kh < T / BK) return;
    kh = 0;
    if (u1 < s1) {
      u0 = u1, u1 = min(s1, u0 + PM);
      return;
    }
    if (jj + 1 < J)
      seek(ranges, tiles, J, t, jj + 1);
    else
      seek(ranges, tiles, J, t + 1, 0);
  }
};

/// The value operand of a piece: rows = slots, columns = the k-step's tile rows.
template <class Tile, int Threads, class View>
struct seg_a_loader;

template <class Tile, int Threads, int T, class Col>
struct seg_a_loader<Tile, Threads, tile_wise_view<T, Col>> {
  using View = tile_wise_view<T, Col>;
  template <class Cur>
  __device__ void fetch(const View&, const std::uint16_t* vals, const Cur& c, int bk,
                        std::uint16_t* s, int tid) {
    copy_async<Tile, Threads>(s, tid, [&](int i, int ch) -> const std::uint16_t* {
      const int slot = c.u0 + i;
      return slot < c.u1 ? vals + static_cast<index_t>(slot) * T + c.kh * bk + ch * 8 : nullptr;
    });
  }
  __device__ void store(std::uint16_t*, int) const {}
};

/// tile_vector: the value at (position q, tile row r) is the slot of q's group whose offset names
/// q, or zero; N 16-byte loads per chunk of 8 rows, resolved in registers.
template <class Tile, int Threads, int T, int N, int M, class Col>
struct seg_a_loader<Tile, Threads, tile_vector_view<T, N, M, Col>> {
  using View = tile_vector_view<T, N, M, Col>;
  static constexpr int total = Tile::rows * Tile::chunks;
  static constexpr int per_thread = (total + Threads - 1) / Threads;
  uint4 v[per_thread][N];
  std::uint32_t o[per_thread][N];
  int pos[per_thread];  // position within its group, −1: zero chunk

  template <class Cur>
  __device__ void fetch(const View& w, const std::uint16_t* vals, const Cur& c, int bk,
                        std::uint16_t*, int tid) {
    const typename View::state st = w.begin(c.t);
#pragma unroll
    for (int j = 0; j < per_thread; ++j) {
      const int i = tid + j * Threads;
      pos[j] = -1;
      if (total % Threads == 0 || i < total) {
        const int row = i / Tile::chunks, ch = i % Tile::chunks;
        const int slot = c.u0 + row;
        if (slot < c.u1) {
          const int q = slot - static_cast<int>(st.base), g = q / M;
          pos[j] = q % M;
#pragma unroll
          for (int s = 0; s < N; ++s) {
            const index_t vi = w.slot_value(st, g, s, c.kh * bk + ch * 8);
            v[j][s] = __ldg(reinterpret_cast<const uint4*>(vals + vi));
            o[j][s] = w.offsets8(vi);
          }
        }
      }
    }
  }
  __device__ void store(std::uint16_t* s, int tid) const {
    constexpr std::uint32_t mask = (1u << View::bits) - 1u;
#pragma unroll
    for (int j = 0; j < per_thread; ++j) {
      const int i = tid + j * Threads;
      if (total % Threads == 0 || i < total) {
        std::uint32_t out[4] = {0, 0, 0, 0};
        if (pos[j] >= 0) {
#pragma unroll
          for (int e = 0; e < 8; ++e) {
            std::uint32_t bits = 0;
#pragma unroll
            for (int sl = 0; sl < N; ++sl) {
              const std::uint32_t w4[4] = {v[j][sl].x, v[j][sl].y, v[j][sl].z, v[j][sl].w};
              if (((o[j][sl] >> (View::bits * e)) & mask) == static_cast<std::uint32_t>(pos[j]))
                bits = (w4[e / 2] >> (16 * (e & 1))) & 0xffffu;
            }
            out[e / 2] |= bits << (16 * (e & 1));
          }
        }
        *reinterpret_cast<uint4*>(s + Tile::offset(i / Tile::chunks, i % Tile::chunks)) =
            make_uint4(out[0], out[1], out[2], out[3]);
      }
    }
  }
};

template <class Policy>
__global__ void __launch_bounds__(256, 1) seg_grad_x_kernel(const Policy pol) {
  using View = typename Policy::view;
  constexpr int T = View::tile_rows;
  using S = typename Policy::shape;
  using C = typename S::mma;
  using L = typename S::layout;
  using Cur = seg_cursor<T, S::pm, S::bk>;
  using DZ = typename Policy::template dz_loader<typename L::tile_b, C::threads>;
  // A stage: the two operand tiles, dZ's activation inputs, the piece's columns (PM ints).
  constexpr int stage = L::stage_elems + DZ::act_bytes / 2 + S::pm * 2;  // in 16-bit elements
  extern __shared__ __align__(1024) std::uint16_t smem[];
  float* accs = reinterpret_cast<float*>(smem + stage * C::stages);
  int2* ranges = reinterpret_cast<int2*>(reinterpret_cast<char*>(accs) + S::acc_bytes);
  const int tiles = pol.tiles(), J = pol.segments();
  const int tid = static_cast<int>(threadIdx.x), warp = tid >> 5, lane = tid & 31;

  for (int i = tid; i < S::kb * S::acc_ld; i += C::threads) accs[i] = 0.f;
  load_ranges(pol, ranges, tid, C::threads);
  typename Policy::cta_state cs(pol, ranges + tiles * J);
  __syncthreads();

  Cur prod, cons;
  prod.seek(ranges, tiles, J, 0, 0);
  cons = prod;
  seg_a_loader<typename L::tile_a, C::threads, View> al;
  auto sa = [&](int s) { return smem + s * stage; };
  auto sb = [&](int s) { return smem + s * stage + L::a_elems; };
  auto sx = [&](int s) { return reinterpret_cast<float*>(smem + s * stage + L::stage_elems); };
  auto sc = [&](int s) {
    return reinterpret_cast<int*>(smem + s * stage + L::stage_elems + DZ::act_bytes / 2);
  };
  int col = 0;  // this thread's column of the piece being fetched (tid < PM)
  auto fetch = [&](int s) {
    al.fetch(pol.w, pol.vals, prod, S::bk, sa(s), tid);
    DZ::fetch(pol, cs, prod.t, prod.jj, prod.kh * S::bk, sb(s), sx(s), tid);
    if (tid < S::pm && prod.u0 + tid < prod.u1)
      col = static_cast<int>(static_cast<index_t>(pol.w.cols[prod.u0 + tid]) - pol.base(prod.jj));
  };
  auto store = [&](int s) {
    al.store(sa(s), tid);
    if (tid < S::pm) sc(s)[tid] = col;
  };

  float acc[C::mi][C::ni][4];
#pragma unroll
  for (int i = 0; i < C::mi; ++i)
#pragma unroll
    for (int j = 0; j < C::ni; ++j) acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.f;

#pragma unroll 1
  for (int s = 0; s < C::stages - 1; ++s) {
    if (prod.valid) {
      fetch(s);
      store(s);
      prod.advance(ranges, tiles, J);
    }
    arch::cp_async_commit();
  }
#pragma unroll 1
  for (int it = 0; cons.valid; ++it) {
    const int ns = (it + C::stages - 1) % C::stages, cur = it % C::stages;
    arch::cp_async_wait<C::stages - 2>();
    DZ::transform(pol, cs, cons.t, cons.jj, cons.kh * S::bk, sb(cur), sx(cur), tid);
    __syncthreads();
    const bool more = prod.valid;
    if (more) fetch(ns);
    const int rows = cons.u1 - cons.u0;
    warp_mma<C, L, Policy::bf16, true>(acc, sa(cur), sb(cur), warp, lane, (rows + 15) / 16);
    if (cons.kh == T / S::bk - 1) {
      // The piece is complete: add its rows into the accumulator at their columns. Pieces that
      // share columns are added in different iterations, ordered by the barrier above.
      const int* kcol = sc(cur);
      for_each_acc_pair<C, true>(acc, warp, lane, [&](int i, int n, float v0, float v1) {
        if (i < rows) {
          float* d = accs + kcol[i] * S::acc_ld + n;
          d[0] += v0;
          d[1] += v1;
        }
      });
#pragma unroll
      for (int i = 0; i < C::mi; ++i)
#pragma unroll
        for (int j = 0; j < C::ni; ++j)
          acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.f;
    }
    if (more) {
      store(ns);
      prod.advance(ranges, tiles, J);
    }
    arch::cp_async_commit();
    cons.advance(ranges, tiles, J);
  }
  arch::cp_async_wait<0>();
  __syncthreads();
  pol.write(cs, accs, tid);
}

}  // namespace stco::kernel::cuda::gather_tc
