// stco/kernel/cuda/gather_tc/ws_kernel.cuh — the Hopper (sm_90a) mainloop of the tile tensor-core
// kernels: persistent and warp-specialized, with one operand (or none) gathered row by row.
//
// CTA: 3 warpgroups, one CTA per SM, walking the work units (output tiles) of the problem in
// groups of GROUP row tiles so that concurrent CTAs share operands in L2.
//   Warpgroup 0 produces. Box operands come by TMA from one thread. A gathered operand — rows of a
//   row-major matrix named by an index list, e.g. the rows of X a tile keeps — comes either by
//   16-byte cp.async from all 128 producer threads, each arriving on the stage's mbarrier when its
//   copies land (gather::cp_async), or by 1-row TMA boxes (gather::tma_rows: the 128-byte swizzle
//   follows the destination address, so 1-row boxes at consecutive 128-byte rows build the same
//   tile a whole box would). Its registers go to the consumers (setmaxnreg).
//   Warpgroups 1 and 2 consume: wgmma m64nWNk16 straight from the stage tiles, one k-step in
//   flight, then the problem's epilogue from the accumulators (16-byte stores after a quad
//   transpose). A 128-row tile gives each consumer 64 rows; a 64-row tile gives each half the
//   columns.
// K advances BK = 64 at a time through a ring of stages (4 × 48 KB for 128 × 256 tiles).
// The producer reads the gather indices of the next k-step before it waits for the current stage.
// Status (H100, run 5 in bench/gpu/results/tiletc/NOTES.md): fwd_tiles<128>, fwd_rows and
// dw_tiles<128> run and are tested on both gathers; cp.async is the default (8192³ 75 %
// tile_wise<128> forward 733 µs, 2.0× cuBLAS), 1-row TMA is correct but slower (1384 µs: the
// SASS issues each lane's box in a uniform-datapath loop).
//
// Shared-memory forms (the canonical wgmma layouts with 128-byte swizzle; stage tiles are
// 1024-byte aligned):
//   K-major  [E rows][64 k]: row r at r·128 B, 16-byte chunk c at (c ⊕ r mod 8)·16;
//   MN-major E/64 blocks of [64 k][64 mn]: block j at j·8 KB, k-row r at r·128 B (same swizzle).
// A gathered K-major operand fills row r from global row idx(r); a gathered MN-major one fills
// k-row r (every block) from global row idx(r). An index of −1 leaves zeros.
//
// Problem contract (P, a trivially copyable kernel argument):
//   shape_t                  ws::shape<BM, BN>;
//   a_op, b_op               operand forms; bf16; vec8 (epilogue by 8 consecutive columns);
//   tiles_m, tiles_n         the unit grid (units = tiles_m · tiles_n);
//   group                    row tiles per group of the walk (concurrent CTAs share operands);
//   mode                     gather::cp_async or gather::tma_rows;
//   ga, gb                   rows_src of a gathered operand (cp.async path);
//   a_ext, b_ext             columns of a box_mn / rows_mn operand's source (blocks wholly past
//                            it are skipped; what they would hold only reaches discarded outputs);
//   unit(mt, nt) → unit_t    with `int ksteps` and what the callbacks below need;
//   a_coord(w, kt, c0, c1)   box operand: TMA coordinates (inner, outer) of block 0;
//                            gathered operand: c0 = first column of the stage;
//   a_row(w, kt, r)          gathered operand: global row of stage row r, or −1;
//   b_coord, b_row           the same for B;
//   put8(w, m, n, v[8])      vec8: outputs (m, n .. n+7) of the CTA tile;
//   put2(w, m, n, v0, v1)    otherwise: outputs (m, n), (m, n+1).
#pragma once

#include <cuda.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "stco/core/cuda/check.cuh"
#include "stco/core/index.hpp"
#include "stco/kernel/cuda/arch/mbarrier.cuh"
#include "stco/kernel/cuda/arch/mma_sm80.cuh"
#include "stco/kernel/cuda/arch/smem.cuh"
#include "stco/kernel/cuda/arch/target.cuh"
#include "stco/kernel/cuda/arch/tma.cuh"
#include "stco/kernel/cuda/arch/wgmma_sm90.cuh"

namespace stco::kernel::cuda::gather_tc::ws {

/// How an operand reaches its stage tile: a TMA box (K-major or MN-major) or gathered rows.
enum class operand { box_k, box_mn, rows_k, rows_mn };
__host__ __device__ constexpr bool k_major(operand o) {
  return o == operand::box_k || o == operand::rows_k;
}
__host__ __device__ constexpr bool gathered(operand o) {
  return o == operand::rows_k || o == operand::rows_mn;
}

/// How gathered rows are copied.
enum class gather : int { cp_async = 0, tma_rows = 1 };

inline constexpr int BK = 64, THREADS = 384, GROUP = 16;

/// CTA tile BM × BN, k-steps of 64, as many stages as fit in 224 KB.
template <int BM, int BN>
struct shape {
  static_assert(BM == 64 || BM == 128, "stco gather_tc ws: 64- or 128-row tiles");
  static_assert(BN == 128 || BN == 256, "stco gather_tc ws: 128- or 256-column tiles");
  static constexpr int bm = BM, bn = BN;
  static constexpr int wn = BM == 128 ? BN : BN / 2;  // columns of one consumer warpgroup
  static constexpr int a_bytes = BM * BK * 2, b_bytes = BN * BK * 2;
  static constexpr int stage_bytes = a_bytes + b_bytes;
  static constexpr int stages = (224 * 1024) / stage_bytes;
  static constexpr int smem_bytes = stages * stage_bytes + 1024 + 2 * stages * 8;
  static_assert(stages >= 3, "stco gather_tc ws: too few stages");
};

/// A gathered operand's source: a row-major matrix of `pitch` elements a row, `cols` of them
/// valid (a multiple of 8), 16-byte aligned.
struct rows_src {
  const std::uint16_t* ptr = nullptr;
  index_t pitch = 0;
  int cols = 0;
};

/// How the rows of a gathered operand of extent E are spread over the producer threads.
template <operand O, int E>
struct gather_geom {
  static constexpr int rows = O == operand::rows_k ? E : BK;        // gathered rows per stage
  static constexpr int blocks = O == operand::rows_k ? 1 : E / 64;  // 128-byte pieces per row
  static constexpr int cpr = blocks * 8;                            // 16-byte chunks per row
  static constexpr int rpi = 32 / cpr;                              // rows per warp-wide cp.async
  static constexpr int instr = rows / (4 * rpi);     // cp.asyncs per thread and stage
  static constexpr int per_warp = rows / 4;          // rows per producer warp
  static constexpr int regs = (per_warp + 31) / 32;  // index registers per lane (cp.async)
  static_assert(cpr <= 32 && 32 % cpr == 0, "stco gather_tc ws: gathered rows up to 512 bytes");
};

/// (row tile, column tile) of unit u, in groups of `group` row tiles.
__device__ inline void unit_coords(index_t u, index_t tiles_m, index_t tiles_n, index_t group,
                                   index_t& mt, index_t& nt) {
  const index_t per_group = group * tiles_n;
  const index_t first = (u / per_group) * group;
  const index_t gm = tiles_m - first < group ? tiles_m - first : group;
  const index_t local = u % per_group;
  mt = first + local % gm;
  nt = local / gm;
}

#if STCO_ARCH_SM90A
/// Descriptor of operand O's stage tile at `base`: rows/columns from e0 (a multiple of 64),
/// k-slice ks of 16.
template <operand O>
__device__ __forceinline__ std::uint64_t op_desc(std::uint32_t base, int e0, int ks) {
  if constexpr (k_major(O))
    return arch::smem_desc(base + static_cast<std::uint32_t>(e0 * 128 + ks * 32), 16, 1024, 1);
  else
    return arch::smem_desc(base + static_cast<std::uint32_t>((e0 / 64) * 8192 + ks * 2048), 8192,
                           1024, 1);
}

/// Bytes a box operand brings (blocks of a box_mn wholly past `ext` are not loaded).
template <operand O, int E>
__device__ __forceinline__ unsigned box_bytes(int c0, int ext) {
  if constexpr (O == operand::box_k) {
    (void)c0, (void)ext;
    return E * 128u;
  } else {
    unsigned b = 0;
#pragma unroll
    for (int j = 0; j < E / 64; ++j) b += c0 + 64 * j < ext ? 8192u : 0u;
    return b;
  }
}
template <operand O, int E>
__device__ __forceinline__ void box_load(unsigned char* dst, const CUtensorMap* map,
                                         std::uint64_t* bar, int c0, int c1, int ext) {
  if constexpr (O == operand::box_k) {
    (void)ext;
    arch::tma_load_2d(dst, map, bar, c0, c1);
  } else {
#pragma unroll
    for (int j = 0; j < E / 64; ++j)
      if (c0 + 64 * j < ext) arch::tma_load_2d(dst + j * 8192, map, bar, c0 + 64 * j, c1);
  }
}

/// cp.async path: lane l of warp w holds the index of the warp's local rows l, l + 32, …
template <operand O, int E, class Row>
__device__ __forceinline__ void cp_indices(int* reg, int w, int lane, Row&& row) {
  using G = gather_geom<O, E>;
#pragma unroll
  for (int j = 0; j < G::regs; ++j) {
    const int l = 32 * j + lane;
    reg[j] = l < G::per_warp ? row(G::rpi * (4 * (l / G::rpi) + w) + l % G::rpi) : -1;
  }
}
/// Lane `lane` of warp w copies 16-byte chunk (piece) of stage rows rpi·(4i + w) + sub; the
/// shared addresses reduce to two per-thread bases (the swizzle of row r depends on r mod 8 and
/// r = 4·rpi·i + rpi·w + sub) plus immediates, the global ones to one 32 × 32 → 64-bit multiply
/// (rows · pitch fit 32 bits each).
template <operand O, int E>
__device__ __forceinline__ void cp_copy(std::uint32_t base, const int* reg, int w, int lane,
                                        const rows_src& src, int col0) {
  using G = gather_geom<O, E>;
  const int sub = lane / G::cpr, piece = lane % G::cpr, j = piece >> 3, c = piece & 7;
  const int col = col0 + 64 * j + 8 * c;
  const bool col_ok = col < src.cols;
  const std::uint16_t* gbase = src.ptr + col;
  const auto pitch = static_cast<std::uint32_t>(src.pitch);
  const int rw = G::rpi * w + sub;
  const std::uint32_t row0 = base + static_cast<std::uint32_t>(j * 8192 + rw * 128);
  const std::uint32_t o0 = row0 + static_cast<std::uint32_t>((c ^ (rw & 7)) << 4);
  const std::uint32_t o1 = row0 + static_cast<std::uint32_t>((c ^ ((rw + 4) & 7)) << 4);
#pragma unroll
  for (int i = 0; i < G::instr; ++i) {
    const int g = __shfl_sync(0xFFFFFFFFu, reg[(i * G::rpi) / 32], (i * G::rpi) % 32 + sub);
    const bool ok = g >= 0 && col_ok;
    const std::uint16_t* ptr =
        ok ? gbase + static_cast<std::uint64_t>(static_cast<std::uint32_t>(g)) * pitch : src.ptr;
    const std::uint32_t d = ((G::rpi & 1) != 0 && (i & 1) != 0 ? o1 : o0) +
                            static_cast<std::uint32_t>(512 * G::rpi * i);
    arch::cp_async_16(d, ptr, ok ? 16 : 0);
  }
}

/// TMA-rows path: the stage's rows × blocks 128-byte boxes (box b: row b % rows, block
/// b / rows) are spread over the 128 producer threads, box t + 128·i to thread t. Indices are
/// read before the stage is free (tma_rows_index); once it is, rows with index −1 are zeroed by
/// the thread that owns them and the others counted (tma_rows_prepare); each warp's lane 0 then
/// arrives with the warp's bytes before any lane issues its boxes (tma_rows_load), so the
/// stage's transaction count never runs ahead of its expectation.
template <operand O, int E>
struct tma_geom {
  using G = gather_geom<O, E>;
  static constexpr int boxes = G::rows * G::blocks;
  static constexpr int per = (boxes + 127) / 128;  // boxes per thread
};
template <operand O, int E, class Row>
__device__ __forceinline__ void tma_rows_index(int* idx, int t, Row&& row) {
  using G = gather_geom<O, E>;
  using TG = tma_geom<O, E>;
#pragma unroll
  for (int i = 0; i < TG::per; ++i) {
    const int b = t + 128 * i;
    // Boxes of one row share its index: read it once where the row repeats (rows divides 128).
    if (G::rows <= 128 && i > 0 && (128 % G::rows) == 0)
      idx[i] = b < TG::boxes ? idx[0] : -2;
    else
      idx[i] = b < TG::boxes ? row(b % G::rows) : -2;
  }
}
template <operand O, int E>
__device__ __forceinline__ bool tma_rows_prepare(unsigned char* dst, const int* idx, int t,
                                                 int col0, int ext, unsigned& bytes) {
  using G = gather_geom<O, E>;
  using TG = tma_geom<O, E>;
  bool zeroed = false;
#pragma unroll
  for (int i = 0; i < TG::per; ++i) {
    const int b = t + 128 * i, r = b % G::rows, j = b / G::rows;
    const bool in = O == operand::rows_k || col0 + 64 * j < ext;
    if (idx[i] == -1 && in) {
      const std::uint32_t a = arch::smem_addr(dst) + static_cast<std::uint32_t>(j * 8192 + r * 128);
#pragma unroll
      for (int c = 0; c < 8; ++c) arch::zero16(a + static_cast<std::uint32_t>(c * 16));
      zeroed = true;
    } else if (idx[i] >= 0 && in) {
      bytes += 128u;
    }
  }
  return zeroed;
}
template <operand O, int E>
__device__ __forceinline__ void tma_rows_load(unsigned char* dst, const int* idx, int t,
                                              const CUtensorMap* map, std::uint64_t* bar, int col0,
                                              int ext) {
  using G = gather_geom<O, E>;
  using TG = tma_geom<O, E>;
#pragma unroll
  for (int i = 0; i < TG::per; ++i) {
    const int b = t + 128 * i, r = b % G::rows, j = b / G::rows;
    if (idx[i] >= 0 && (O == operand::rows_k || col0 + 64 * j < ext))
      arch::tma_load_2d(dst + j * 8192 + r * 128, map, bar, col0 + 64 * j, idx[i]);
  }
}

/// The producer walks its units' k-steps as one sequence and reads the gather indices of the
/// next k-step (and, at a unit's end, the next unit's record) before it waits for the current
/// stage, so their load latency overlaps a whole stage instead of stalling every one.
template <class P>
__device__ __forceinline__ void produce(const P& p, const CUtensorMap* map_a,
                                        const CUtensorMap* map_b, unsigned char* smem,
                                        std::uint64_t* full, std::uint64_t* empty, int t) {
  using S = typename P::shape_t;
  constexpr operand A = P::a_op, B = P::b_op;
  constexpr bool gather_any = gathered(A) || gathered(B);
  constexpr bool has_box = !gathered(A) || !gathered(B);
  using GA = gather_geom<A, S::bm>;
  using GB = gather_geom<B, S::bn>;
  using TA = tma_geom<A, S::bm>;
  using TB = tma_geom<B, S::bn>;
  using unit_type = decltype(p.unit(index_t{0}, index_t{0}));
  const bool by_tma = p.mode == gather::tma_rows;
  if (!gather_any && t != 0) return;
  if (t == 0) {
    if (!gathered(A) || by_tma) arch::tma_prefetch_map(map_a);
    if (!gathered(B) || by_tma) arch::tma_prefetch_map(map_b);
  }
  const int w = t / 32, lane = t % 32;
  const index_t units = p.tiles_m * p.tiles_n;
  // The first unit at or after u with k-steps (units without any produce nothing).
  auto seek = [&](index_t u, unit_type& wu) {
    for (; u < units; u += gridDim.x) {
      index_t mt, nt;
      unit_coords(u, p.tiles_m, p.tiles_n, p.group, mt, nt);
      wu = p.unit(mt, nt);
      if (wu.ksteps > 0) break;
    }
    return u;
  };
  // Gather indices of k-step kt of unit wu (cp.async: per lane; TMA rows: per box).
  constexpr int NA = gathered(A) ? (GA::regs > TA::per ? GA::regs : TA::per) : 1;
  constexpr int NB = gathered(B) ? (GB::regs > TB::per ? GB::regs : TB::per) : 1;
  auto indices = [&](const unit_type& wu, int kt, int(&ia)[NA], int(&ib)[NB]) {
    auto arow = [&](int r) { return p.a_row(wu, kt, r); };
    auto brow = [&](int r) { return p.b_row(wu, kt, r); };
    if constexpr (gathered(A)) {
      if (by_tma)
        tma_rows_index<A, S::bm>(ia, t, arow);
      else
        cp_indices<A, S::bm>(ia, w, lane, arow);
    }
    if constexpr (gathered(B)) {
      if (by_tma)
        tma_rows_index<B, S::bn>(ib, t, brow);
      else
        cp_indices<B, S::bn>(ib, w, lane, brow);
    }
    (void)ia, (void)ib;
  };

  int s = 0;
  unsigned ph = 0;
  unit_type wu{};
  index_t u = seek(blockIdx.x, wu);
  int kt = 0;
  int ia[NA] = {}, ib[NB] = {};
  if (u < units) indices(wu, 0, ia, ib);
  while (u < units) {
    // The next k-step, and its indices (loads in flight while this stage is produced).
    unit_type nwu = wu;
    index_t nu = u;
    int nkt = kt + 1;
    if (nkt == wu.ksteps) nu = seek(u + gridDim.x, nwu), nkt = 0;
    int na[NA] = {}, nb[NB] = {};
    if (nu < units) indices(nwu, nkt, na, nb);

    int ac0 = 0, ac1 = 0, bc0 = 0, bc1 = 0;
    p.a_coord(wu, kt, ac0, ac1);
    p.b_coord(wu, kt, bc0, bc1);
    unsigned char* sa = smem + s * S::stage_bytes;
    unsigned char* sb = sa + S::a_bytes;
    unsigned boxb = 0;
    if (t == 0) {
      if constexpr (!gathered(A)) boxb += box_bytes<A, S::bm>(ac0, p.a_ext);
      if constexpr (!gathered(B)) boxb += box_bytes<B, S::bn>(bc0, p.b_ext);
    }
    arch::mbar_wait(&empty[s], ph ^ 1u);
    if (!gather_any || !by_tma) {
      if (t == 0 && has_box) {
        arch::mbar_expect_tx(&full[s], boxb);  // the box thread's arrival, with its bytes
        if constexpr (!gathered(A)) box_load<A, S::bm>(sa, map_a, &full[s], ac0, ac1, p.a_ext);
        if constexpr (!gathered(B)) box_load<B, S::bn>(sb, map_b, &full[s], bc0, bc1, p.b_ext);
      }
      if constexpr (gathered(A)) cp_copy<A, S::bm>(arch::smem_addr(sa), ia, w, lane, p.ga, ac0);
      if constexpr (gathered(B)) cp_copy<B, S::bn>(arch::smem_addr(sb), ib, w, lane, p.gb, bc0);
      if constexpr (gather_any) arch::cp_async_arrive(&full[s]);
    } else {
      unsigned bytes = 0;
      bool zeroed = false;
      if constexpr (gathered(A))
        zeroed |= tma_rows_prepare<A, S::bm>(sa, ia, t, ac0, p.a_ext, bytes);
      if constexpr (gathered(B))
        zeroed |= tma_rows_prepare<B, S::bn>(sb, ib, t, bc0, p.b_ext, bytes);
      if (zeroed) arch::fence_proxy_async_no_clobber();  // zeros (generic proxy) → wgmma reads
      // One arrival per producer warp, with its bytes, before the warp issues its boxes.
      bytes = __reduce_add_sync(0xFFFFFFFFu, bytes) + boxb;
      if (lane == 0) arch::mbar_expect_tx(&full[s], bytes);
      __syncwarp();
      if (t == 0) {
        if constexpr (!gathered(A)) box_load<A, S::bm>(sa, map_a, &full[s], ac0, ac1, p.a_ext);
        if constexpr (!gathered(B)) box_load<B, S::bn>(sb, map_b, &full[s], bc0, bc1, p.b_ext);
      }
      if constexpr (gathered(A)) tma_rows_load<A, S::bm>(sa, ia, t, map_a, &full[s], ac0, p.a_ext);
      if constexpr (gathered(B)) tma_rows_load<B, S::bn>(sb, ib, t, map_b, &full[s], bc0, p.b_ext);
    }
    if (++s == S::stages) s = 0, ph ^= 1u;
#pragma unroll
    for (int i = 0; i < NA; ++i) ia[i] = na[i];
#pragma unroll
    for (int i = 0; i < NB; ++i) ib[i] = nb[i];
    wu = nwu, u = nu, kt = nkt;
  }
  // Leave only once this thread's copies have landed (their mbarrier arrivals are pending).
  if (gather_any && !by_tma) arch::cp_async_wait_all();
}

template <class P>
__device__ __forceinline__ void consume(const P& p, unsigned char* smem, std::uint64_t* full,
                                        std::uint64_t* empty, int c, int q, int lane) {
  using S = typename P::shape_t;
  constexpr int WN = S::wn;
  constexpr operand A = P::a_op, B = P::b_op;
  constexpr bool gather_any = gathered(A) || gathered(B);
  const bool proxy_fence = gather_any && p.mode == gather::cp_async;
  const int a_e0 = S::bm == 128 ? 64 * c : 0, b_e0 = S::bm == 128 ? 0 : c * WN;
  float acc[WN / 2];
  int s = 0;
  unsigned ph = 0;
  const index_t units = p.tiles_m * p.tiles_n;
  for (index_t u = blockIdx.x; u < units; u += gridDim.x) {
    index_t mt, nt;
    unit_coords(u, p.tiles_m, p.tiles_n, p.group, mt, nt);
    const auto wu = p.unit(mt, nt);
#pragma unroll
    for (int i = 0; i < WN / 2; ++i) acc[i] = 0.f;
    int prev = 0;
    for (int kt = 0; kt < wu.ksteps; ++kt) {
      arch::mbar_wait(&full[s], ph);
      if (proxy_fence)
        arch::fence_proxy_async_no_clobber();  // cp.async (generic proxy) writes → wgmma reads
      const std::uint32_t a = arch::smem_addr(smem + s * S::stage_bytes);
      const std::uint32_t b = a + S::a_bytes;
#pragma unroll
      for (int i = 0; i < WN / 2; ++i) arch::fence_reg(acc[i]);
      arch::wgmma_fence();
#pragma unroll
      for (int ks = 0; ks < BK / 16; ++ks)
        arch::wgmma_dense<WN, P::bf16>::template mma<k_major(A) ? 0 : 1, k_major(B) ? 0 : 1>(
            acc, op_desc<A>(a, a_e0, ks), op_desc<B>(b, b_e0, ks));
      arch::wgmma_commit();
#pragma unroll
      for (int i = 0; i < WN / 2; ++i) arch::fence_reg(acc[i]);
      arch::wgmma_wait<1>();  // the k-step before has retired: its stage is free
      if (kt > 0 && lane == 0) arch::mbar_arrive(&empty[prev]);
      prev = s;
      if (++s == S::stages) s = 0, ph ^= 1u;
    }
    arch::wgmma_wait<0>();
#pragma unroll
    for (int i = 0; i < WN / 2; ++i) arch::fence_reg(acc[i]);
    if (wu.ksteps > 0 && lane == 0) arch::mbar_arrive(&empty[prev]);

    // Epilogue: rows a_e0 + 16q + lane/4 (+8), columns b_e0 + 8j + 2(lane%4) (+1).
    const int m_base = a_e0 + 16 * q + lane / 4;
    if constexpr (P::vec8) {
      const int t4 = lane & 3;
#pragma unroll
      for (int h = 0; h < 2; ++h) {
#pragma unroll
        for (int g = 0; g < WN / 32; ++g) {
          float v[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
#pragma unroll
          for (int i = 0; i < 4; ++i) {
            const int si = (t4 + i) & 3, di = (t4 + 4 - i) & 3;
            const float* pr = acc + 4 * (4 * g) + 2 * h;
            const float sx = si == 0 ? pr[0] : si == 1 ? pr[4] : si == 2 ? pr[8] : pr[12];
            const float sy = si == 0 ? pr[1] : si == 1 ? pr[5] : si == 2 ? pr[9] : pr[13];
            const int src = (lane & ~3) | di;
            const float gx = __shfl_sync(0xFFFFFFFFu, sx, src);
            const float gy = __shfl_sync(0xFFFFFFFFu, sy, src);
#pragma unroll
            for (int d = 0; d < 4; ++d) {
              v[2 * d] = di == d ? gx : v[2 * d];
              v[2 * d + 1] = di == d ? gy : v[2 * d + 1];
            }
          }
          p.put8(wu, m_base + 8 * h, b_e0 + (4 * g + t4) * 8, v);
        }
      }
    } else {
#pragma unroll
      for (int j = 0; j < WN / 8; ++j)
#pragma unroll
        for (int h = 0; h < 2; ++h)
          p.put2(wu, m_base + 8 * h, b_e0 + 8 * j + 2 * (lane % 4), acc[4 * j + 2 * h],
                 acc[4 * j + 2 * h + 1]);
    }
  }
}
#endif  // STCO_ARCH_SM90A

/// The kernel: see the file comment. map_a / map_b: the TMA maps of box operands and of gathered
/// operands on the TMA-rows path (unused otherwise).
template <class P>
__global__ void __launch_bounds__(THREADS, 1)
    ws_kernel(const __grid_constant__ CUtensorMap map_a, const __grid_constant__ CUtensorMap map_b,
              const P p) {
#if STCO_ARCH_SM90A
  using S = typename P::shape_t;
  extern __shared__ unsigned char ws_smem_raw[];
  unsigned char* smem = reinterpret_cast<unsigned char*>(
      (reinterpret_cast<std::uintptr_t>(ws_smem_raw) + 1023) & ~std::uintptr_t{1023});
  std::uint64_t* full = reinterpret_cast<std::uint64_t*>(smem + S::stages * S::stage_bytes);
  std::uint64_t* empty = full + S::stages;
  constexpr bool gather_any = gathered(P::a_op) || gathered(P::b_op);
  if (threadIdx.x == 0) {
    // Arrivals per stage: one (the box thread) without gathers; one per producer warp on the
    // TMA-rows path; every producer thread's cp.async arrival plus the box thread on cp.async.
    const unsigned arrivals = !gather_any ? 1u
                              : p.mode == gather::tma_rows
                                  ? 4u
                                  : 128u + (gathered(P::a_op) && gathered(P::b_op) ? 0u : 1u);
    for (int s = 0; s < S::stages; ++s) {
      arch::mbar_init(&full[s], arrivals);
      arch::mbar_init(&empty[s], 8);  // one per consumer warp
    }
    arch::fence_barrier_init();
  }
  __syncthreads();
  const int wg = threadIdx.x / 128;
  if (wg == 0) {
    arch::setmaxnreg_dec<40>();
    produce(p, &map_a, &map_b, smem, full, empty, static_cast<int>(threadIdx.x));
  } else {
    arch::setmaxnreg_inc<232>();
    consume(p, smem, full, empty, wg - 1, (threadIdx.x / 32) % 4, threadIdx.x % 32);
  }
#else
  (void)map_a, (void)map_b, (void)p;
  __trap();
#endif
}

}  // namespace stco::kernel::cuda::gather_tc::ws
