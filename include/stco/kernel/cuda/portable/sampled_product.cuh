// stco/kernel/cuda/portable/sampled_product.cuh — dW at W's kept addresses only (a sampled
// product): dW[slot of (r, k)] = Σ_n dZ[r, n]·B[k, n], B = X of a GEMM or conv patches.
//
// A block owns the slots of its items (as in unit_product: ROWS rows in items of TM rows sharing
// a list) whose columns fall in one window of BKW columns; lanes own a window's entries (an
// item's columns are distinct, so at most BKW of them). The N dimension streams through shared
// memory in chunks: B[window, chunk] and dZ[rows, chunk] (formed from dY and the stashed
// activation input as they load). Each slot's sum stays in a register of one thread: no atomics,
// every slot written once, padding slots never touched.
#pragma once

#include "stco/kernel/cuda/launch.cuh"
#include "stco/kernel/cuda/portable/unit_product.cuh"
#include "stco/kernel/cuda/values.cuh"

namespace stco::kernel::cuda {

template <class View, class T, class BLoader, class GLoader>
struct sampled_product {
  using shape = item_shape<View::unit_rows>;
  static constexpr int U = View::unit_rows, TM = shape::tm, SUB = shape::sub;
  static constexpr int WARPS = shape::warps, IPW = shape::items_per_warp;
  static constexpr int ROWS = shape::rows;
  static constexpr int threads = WARPS * 32;
  static constexpr int BKW = 64, EPL = BKW / 32, NC = 32, LD = NC + 1;

  struct params {
    View view;
    BLoader b;  // B[k, n]
    GLoader g;  // dZ[r, n]
    T* dw;      // W's gradient values (slots outside the pattern are not written)
    index_t n;  // the summed dimension (GEMM N, or pixels)
  };
  struct shared {
    float bt[BKW * LD];
    float gt[ROWS * LD];
    int any[WARPS];
  };

  STCO_HD static index_t items(const View& v) { return static_cast<index_t>(v.units()) * SUB; }
  static grid grid_for(const params& p) {
    return {ceil_div(items(p.view), shape::items_per_block), ceil_div(p.view.cols, BKW)};
  }

  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared& sm) {
    const View& v = p.view;
    const int warp = b.thread() / 32, lane = b.thread() % 32;
    const index_t q0 = b.block_x() * shape::items_per_block;
    const int w0 = static_cast<int>(b.block_y()) * BKW;
    const int w1 = w0 + BKW < v.cols ? w0 + BKW : v.cols;
    const index_t nitems = items(v);

    int u[IPW], first[IPW], lo[IPW], hi[IPW];
    bool mine = false;
    for (int it = 0; it < IPW; ++it) {
      const index_t q = q0 + warp * IPW + it;
      const bool live = q < nitems;
      u[it] = live ? static_cast<int>(q / SUB) : 0;
      first[it] = static_cast<int>(q % SUB) * TM;
      lo[it] = hi[it] = 0;
      if (live) {
        const int begin = v.list_begin(u[it]), end = v.list_end(u[it]);
        lo[it] = lower_col(v, u[it], begin, end, w0);
        hi[it] = lower_col(v, u[it], lo[it], end, w1);
        mine = mine || lo[it] < hi[it];
      }
    }
    // Nothing of this block's items in the window: the whole block leaves (a uniform decision).
    if (lane == 0) sm.any[warp] = mine ? 1 : 0;
    b.sync();
    bool any = false;
    for (int w = 0; w < WARPS; ++w) any = any || sm.any[w] != 0;
    if (!any) return;

    const index_t row0 = shape::first_row(q0);
    float acc[IPW][EPL][TM];
    int col[IPW][EPL];
    for (int it = 0; it < IPW; ++it)
      for (int e = 0; e < EPL; ++e) {
        const int j = lo[it] + lane + 32 * e;
        col[it][e] = j < hi[it] ? v.col(u[it], j) - w0 : -1;
        for (int i = 0; i < TM; ++i) acc[it][e][i] = 0.f;
      }

    for (index_t n0 = 0; n0 < p.n; n0 += NC) {
      b.sync();  // the previous chunk is consumed
      p.b.template load<BKW, NC>(b, sm.bt, 0, w0, n0);
      p.g.template load<ROWS, NC>(b, sm.gt, 0, row0, n0);
      b.sync();
      for (int it = 0; it < IPW; ++it) {
        if (lo[it] >= hi[it]) continue;
        const float* g = sm.gt + (static_cast<index_t>(u[it]) * U + first[it] - row0) * LD;
        for (int n = 0; n < NC; ++n) {
          float gv[TM];
          for (int i = 0; i < TM; ++i) gv[i] = first[it] + i < U ? g[i * LD + n] : 0.f;
          for (int e = 0; e < EPL; ++e) {
            if (col[it][e] < 0) continue;
            const float x = sm.bt[col[it][e] * LD + n];
            for (int i = 0; i < TM; ++i) acc[it][e][i] += gv[i] * x;
          }
        }
      }
    }

    for (int it = 0; it < IPW; ++it)
      for (int e = 0; e < EPL; ++e) {
        if (col[it][e] < 0) continue;
        const int j = lo[it] + lane + 32 * e;
        for (int i = 0; i < TM; ++i) {
          const int ri = first[it] + i;
          if (ri >= U || static_cast<index_t>(u[it]) * U + ri >= v.rows) continue;
          const int s = v.slot(u[it], j, ri);
          if (s >= 0) p.dw[s] = from_float<T>(acc[it][e][i]);
        }
      }
  }
};

}  // namespace stco::kernel::cuda
