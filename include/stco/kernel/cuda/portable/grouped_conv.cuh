// stco/kernel/cuda/portable/grouped_conv.cuh — grouped (and depthwise) convolutions, forward,
// dX and dW, one thread per output element with channels on consecutive threads (coalesced in
// NHWC). Rows of different groups read different input channels, so the shared-memory tiles of
// unit_product do not apply; a depthwise layer reads KH·KW values per output anyway.
#pragma once

#include "stco/kernel/cuda/launch.cuh"
#include "stco/kernel/cuda/portable/conv_dims.cuh"
#include "stco/kernel/cuda/portable/unit_product.cuh"
#include "stco/kernel/cuda/values.cuh"

namespace stco::kernel::cuda {

/// Y[p, co] = chain(Σ over row co's stored entries W[co, k]·X[p's tap of k, group channel]).
template <class View, class T, class Writer>
struct grouped_conv_forward {
  static constexpr int threads = 256;
  struct params {
    View view;  // W [Cout, Kg]
    const T* w;
    const T* x;
    conv_dims d;
    Writer out;
  };
  struct shared {};
  static grid grid_for(const params& p) {
    return {ceil_div(static_cast<index_t>(p.d.pixels()) * p.d.out_c, threads), 1};
  }

  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    constexpr int U = View::unit_rows;
    const conv_dims& d = p.d;
    const index_t e = b.block_x() * threads + b.thread();
    if (e >= static_cast<index_t>(d.pixels()) * d.out_c) return;
    const int px = static_cast<int>(e / d.out_c), co = static_cast<int>(e % d.out_c);
    const int cbase = co / d.cout_g * d.cin_g;
    const int u = co / U, i = co % U, K = d.k();
    float acc = 0.f;
    for (int q = p.view.list_begin(u), end = p.view.list_end(u); q < end; ++q) {
      const int k = p.view.col(u, q);
      if (k >= K) break;
      const int s = p.view.slot(u, q, i);
      if (s < 0) continue;
      const int tap = k / d.cin_g, c = k - tap * d.cin_g, th = tap / d.kw, tw = tap - th * d.kw;
      int img, ih, iw;
      d.source(px, th, tw, img, ih, iw);
      if (d.inside(ih, iw))
        acc += to_float(p.w[s]) * to_float(p.x[d.x_offset(img, ih, iw, cbase + c)]);
    }
    p.out.write(co, px, acc);
  }
};

/// dX[q, ci] = Σ over taps and the rows r of ci's group: W[r, (tap, ci mod Cin/g)]·dZ[p, r],
/// through the transposed traversal (Wᵀ's lists are sorted by row: a group is one stretch).
template <class TView, class T, class Chain>
struct grouped_conv_grad_x {
  static constexpr int threads = 256;
  struct params {
    TView view;  // Wᵀ [Kg, Cout]
    const T* w;
    const T* dy;
    const float* z;
    Chain ch;
    conv_dims d;
    T* dx;
  };
  struct shared {};
  static grid grid_for(const params& p) {
    return {ceil_div(static_cast<index_t>(p.d.in_pixels()) * p.d.in_c, threads), 1};
  }

  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    constexpr int U = TView::unit_rows;
    const conv_dims& d = p.d;
    const index_t e = b.block_x() * threads + b.thread();
    if (e >= static_cast<index_t>(d.in_pixels()) * d.in_c) return;
    const int qx = static_cast<int>(e / d.in_c), ci = static_cast<int>(e % d.in_c);
    const int g = ci / d.cin_g, c = ci - g * d.cin_g;
    const int r_lo = g * d.cout_g, r_hi = r_lo + d.cout_g;
    float acc = 0.f;
    for (int tap = 0; tap < d.taps(); ++tap) {
      const int th = tap / d.kw, tw = tap - th * d.kw;
      const int px = d.target(qx, th, tw);
      if (px < 0) continue;
      const int k = tap * d.cin_g + c, u = k / U, i = k % U;
      const int end = p.view.list_end(u);
      for (int q = lower_col(p.view, u, p.view.list_begin(u), end, r_lo); q < end; ++q) {
        const int r = p.view.col(u, q);
        if (r >= r_hi) break;
        const int s = p.view.slot(u, q, i);
        if (s < 0) continue;
        const index_t pos = static_cast<index_t>(px) * d.out_c + r;
        acc += to_float(p.w[s]) *
               p.ch.core_gradient(to_float(p.dy[pos]), r, pos, p.z ? p.z[pos] : 0.f);
      }
    }
    p.dx[e] = from_float<T>(acc);
  }
};

/// dW of a grouped convolution, first pass: partial[y, slot] = Σ over the y-th stretch of
/// output pixels of dZ[p, r]·X[p's tap of k, group channel], one thread per slot.
template <class T, class Chain>
struct grouped_conv_grad_w_partial {
  static constexpr int threads = 256;
  struct params {
    const index_t* coords;  // per slot: r·Kg + k, or -1 (padding)
    index_t slots;
    const T* x;
    const T* dy;
    const float* z;
    Chain ch;
    conv_dims d;
    int stretch;  // pixels per partial
    float* partial;
  };
  struct shared {};

  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const conv_dims& d = p.d;
    const index_t s = b.block_x() * threads + b.thread();
    if (s >= p.slots) return;
    const int y = static_cast<int>(b.block_y());
    float acc = 0.f;
    const index_t at = p.coords[s];
    if (at >= 0) {
      const int K = d.k();
      const int r = static_cast<int>(at / K), k = static_cast<int>(at % K);
      const int cbase = r / d.cout_g * d.cin_g;
      const int tap = k / d.cin_g, c = k - tap * d.cin_g, th = tap / d.kw, tw = tap - th * d.kw;
      const int p0 = y * p.stretch, p1 = p0 + p.stretch < d.pixels() ? p0 + p.stretch : d.pixels();
      for (int px = p0; px < p1; ++px) {
        int img, ih, iw;
        d.source(px, th, tw, img, ih, iw);
        if (!d.inside(ih, iw)) continue;
        const index_t pos = static_cast<index_t>(px) * d.out_c + r;
        acc += p.ch.core_gradient(to_float(p.dy[pos]), r, pos, p.z ? p.z[pos] : 0.f) *
               to_float(p.x[d.x_offset(img, ih, iw, cbase + c)]);
      }
    }
    p.partial[y * p.slots + s] = acc;
  }
};

/// dW of a grouped convolution, second pass: dw[slot] = Σ_y partial[y, slot] (in order).
template <class T>
struct partial_sum {
  static constexpr int threads = 256;
  struct params {
    const float* partial;
    index_t slots;
    int parts;
    T* out;
  };
  struct shared {};

  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t s = b.block_x() * threads + b.thread();
    if (s >= p.slots) return;
    float acc = 0.f;
    for (int y = 0; y < p.parts; ++y) acc += p.partial[y * p.slots + s];
    p.out[s] = from_float<T>(acc);
  }
};

}  // namespace stco::kernel::cuda
