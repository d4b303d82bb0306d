// stco/kernel/cuda/portable/unit_product.cuh — the portable tiled product of every layout:
// OUT[r, n] = Σ over the stored entries (r, k) of W[r, k]·B[k, n], with the right-hand side B
// staged in shared memory, then written through a writer (the fused epilogue, or a plain store).
//
// It runs the forward pass (W's view, B = X or conv patches) and dX (a view of Wᵀ — the entity's
// cached transposed traversal — with B = dZ, per filter tap for a convolution).
//
// Tiling. A block covers ROWS output rows × BN columns. Each warp owns rows_per_warp rows as
// items of TM rows that share one list (a tile, a block row, a dense row block: one loaded B
// value feeds TM FMAs), lanes own columns. The reduction runs in windows of BK columns: the block
// stages B[window, BN] (coalesced), each warp walks its items' sorted lists with a cursor, and
// the next window starts at the smallest column any warp still needs, so empty stretches of a
// sparse layout cost nothing. Results go through shared memory to the writer, in the order that
// makes its global stores coalesced (row-major GEMM output, or NHWC channels).
#pragma once

#include <climits>

#include "stco/kernel/cuda/launch.cuh"
#include "stco/kernel/cuda/values.cuh"

namespace stco::kernel::cuda {

/// Items of TM rows of a unit of U rows (TM = min(U, 8); a taller unit is split in SUB items).
template <int U>
struct item_shape {
  static constexpr int tm = U < 8 ? U : 8;
  static constexpr int sub = (U + tm - 1) / tm;
  static constexpr int warps = 8;
  static constexpr int items_per_warp = 8 / tm;
  static constexpr int items_per_block = warps * items_per_warp;
  static constexpr int rows = items_per_block * tm;  // ≤ 64 output rows per block

  /// First output row of item q, and the end of the rows a block's items cover.
  STCO_HD static index_t first_row(index_t q) { return q / sub * U + q % sub * tm; }
  STCO_HD static index_t end_row(index_t q_last) {
    const index_t r = q_last % sub * tm + tm;
    return q_last / sub * U + (r < U ? r : U);
  }
};

/// Lowest index p in [lo, hi) with v.col(u, p) ≥ c (lists are sorted by column).
template <class View>
STCO_HD inline int lower_col(const View& v, int u, int lo, int hi, int c) {
  while (lo < hi) {
    const int mid = lo + (hi - lo) / 2;
    if (v.col(u, mid) < c)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

template <class View, class T, class Loader, class Writer>
struct unit_product {
  using shape = item_shape<View::unit_rows>;
  static constexpr int U = View::unit_rows, TM = shape::tm, SUB = shape::sub;
  static constexpr int WARPS = shape::warps, IPW = shape::items_per_warp;
  static constexpr int ROWS = shape::rows;
  static constexpr int threads = WARPS * 32;
  static constexpr int BN = 128, TN = BN / 32, BK = 32, LD = BN + 1;

  struct params {
    View view;
    Loader load;
    Writer out;
    const T* vals;  // W's values
    index_t n;      // output columns (GEMM N, or pixels)
  };
  struct shared {
    float tile[(BK > ROWS ? BK : ROWS) * LD];
    int next[WARPS];
  };

  STCO_HD static index_t items(const View& v) { return static_cast<index_t>(v.units()) * SUB; }
  static grid grid_for(const params& p) {
    return {ceil_div(p.n, BN), ceil_div(items(p.view), shape::items_per_block)};
  }

  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared& sm) {
    const View& v = p.view;
    const int warp = b.thread() / 32, lane = b.thread() % 32;
    const index_t n0 = b.block_x() * BN;
    const index_t q0 = b.block_y() * shape::items_per_block;
    const index_t nitems = items(v);

    int u[IPW], first[IPW], uu[IPW], cur[IPW], end[IPW];
    bool live[IPW];
    for (int it = 0; it < IPW; ++it) {
      const index_t q = q0 + warp * IPW + it;
      live[it] = q < nitems;
      u[it] = live[it] ? static_cast<int>(q / SUB) : 0;
      first[it] = static_cast<int>(q % SUB) * TM;  // the item's first row within its unit
    }
    float acc[IPW][TM][TN];
    for (int it = 0; it < IPW; ++it)
      for (int i = 0; i < TM; ++i)
        for (int t = 0; t < TN; ++t) acc[it][i][t] = 0.f;

    for (int seg = 0; seg < v.segments(); ++seg) {
      for (int it = 0; it < IPW; ++it) {
        uu[it] = live[it] ? v.segment_unit(u[it], seg) : 0;
        cur[it] = live[it] ? v.list_begin(uu[it]) : 0;
        end[it] = live[it] ? v.list_end(uu[it]) : 0;
      }
      int w0 = next_column(b, v, sm, uu, cur, end, warp, lane);
      while (w0 < v.cols) {
        p.load.template load<BK, BN>(b, sm.tile, seg, w0, n0);
        b.sync();
        const int w1 = w0 + BK;
        for (int it = 0; it < IPW; ++it) {
          for (; cur[it] < end[it]; ++cur[it]) {
            const int c = v.col(uu[it], cur[it]);
            if (c >= w1) break;
            float a[TM];
            for (int i = 0; i < TM; ++i) {
              const int ri = first[it] + i;
              const int s = ri < U ? v.slot(uu[it], cur[it], ri) : -1;
              a[i] = s >= 0 ? to_float(p.vals[s]) : 0.f;
            }
            const float* bt = sm.tile + (c - w0) * LD + lane;
            for (int t = 0; t < TN; ++t) {
              const float x = bt[32 * t];
              for (int i = 0; i < TM; ++i) acc[it][i][t] += a[i] * x;
            }
          }
        }
        w0 = next_column(b, v, sm, uu, cur, end, warp, lane);
      }
    }

    // Stage the block's rows in shared memory, then write them in the writer's order.
    const index_t row0 = shape::first_row(q0);
    const index_t q_last =
        (q0 + shape::items_per_block < nitems ? q0 + shape::items_per_block : nitems) - 1;
    const index_t row_end = shape::end_row(q_last) < v.rows ? shape::end_row(q_last) : v.rows;
    b.sync();
    for (int it = 0; it < IPW; ++it) {
      if (!live[it]) continue;
      for (int i = 0; i < TM; ++i) {
        const index_t row = static_cast<index_t>(u[it]) * U + first[it] + i;
        if (first[it] + i >= U || row >= row_end) continue;
        float* o = sm.tile + (row - row0) * LD + lane;
        for (int t = 0; t < TN; ++t) o[32 * t] = acc[it][i][t];
      }
    }
    b.sync();
    const int nr = static_cast<int>(row_end - row0);
    const int nc = static_cast<int>(p.n - n0 < BN ? p.n - n0 : BN);
    for (int e = b.thread(); e < nr * nc; e += b.threads()) {
      const int r = Writer::channel_fastest ? e % nr : e / nc;
      const int n = Writer::channel_fastest ? e / nr : e % nc;
      p.out.write(row0 + r, n0 + n, sm.tile[r * LD + n]);
    }
  }

 private:
  /// The smallest column any of the block's cursors still needs (INT_MAX when all are done);
  /// every thread gets the same value. Its first barrier also ends the use of the tile.
  template <class Block>
  STCO_HD static int next_column(const Block& b, const View& v, shared& sm, const int (&uu)[IPW],
                                 const int (&cur)[IPW], const int (&end)[IPW], int warp, int lane) {
    int m = INT_MAX;
    for (int it = 0; it < IPW; ++it)
      if (cur[it] < end[it]) {
        const int c = v.col(uu[it], cur[it]);
        m = c < m ? c : m;
      }
    b.sync();
    if (lane == 0) sm.next[warp] = m;
    b.sync();
    int r = INT_MAX;
    for (int w = 0; w < WARPS; ++w) r = sm.next[w] < r ? sm.next[w] : r;
    return r;
  }
};

}  // namespace stco::kernel::cuda
