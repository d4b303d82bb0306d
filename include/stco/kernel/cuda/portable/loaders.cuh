// stco/kernel/cuda/portable/loaders.cuh — the right-hand operands of the tiled kernels, loaded
// tile by tile into shared memory (row pitch NT + 1): X of a GEMM, conv patches (implicit
// im2col), and dZ — dY times the epilogue's derivative, formed as the tile is loaded, so the
// masked gradient is never a tensor.
//
// A loader fills tile[k·(NT+1) + n] = B(k0 + k, n0 + n) for k < KT, n < NT, zero outside B, with
// the block's threads; consecutive threads take consecutive addresses of the source.
#pragma once

#include "stco/config.hpp"
#include "stco/kernel/cuda/portable/conv_dims.cuh"
#include "stco/kernel/cuda/values.cuh"

namespace stco::kernel::cuda {

/// B = a row-major [rows, cols] matrix (X of a GEMM, or nothing else).
template <class T>
struct matrix_rows {
  const T* x;
  index_t rows, cols;

  template <int KT, int NT, class Block>
  STCO_HD void load(const Block& b, float* tile, int, index_t k0, index_t n0) const {
    constexpr int LD = NT + 1;
    for (int e = b.thread(); e < KT * NT; e += b.threads()) {
      const int k = e / NT, n = e % NT;
      const index_t gk = k0 + k, gn = n0 + n;
      tile[k * LD + n] = gk < rows && gn < cols ? to_float(x[gk * cols + gn]) : 0.f;
    }
  }
};

/// B[k, p] = patch of output pixel p at k = (kh·KW + kw)·Cin + c (groups == 1): implicit im2col.
template <class T>
struct conv_patches {
  const T* x;
  conv_dims d;

  template <int KT, int NT, class Block>
  STCO_HD void load(const Block& b, float* tile, int, index_t k0, index_t n0) const {
    constexpr int LD = NT + 1;
    const int K = d.k(), P = d.pixels();
    for (int e = b.thread(); e < KT * NT; e += b.threads()) {
      const int k = e % KT, n = e / KT;  // k fastest: channels are contiguous in NHWC
      const index_t gk = k0 + k, gp = n0 + n;
      float v = 0.f;
      if (gk < K && gp < P) {
        const int tap = static_cast<int>(gk) / d.in_c, c = static_cast<int>(gk) - tap * d.in_c;
        const int th = tap / d.kw, tw = tap - th * d.kw;
        int img, ih, iw;
        d.source(static_cast<int>(gp), th, tw, img, ih, iw);
        if (d.inside(ih, iw)) v = to_float(x[d.x_offset(img, ih, iw, c)]);
      }
      tile[k * LD + n] = v;
    }
  }
};

/// dZ of a GEMM output [rows, cols] (row-major): B[r, n] = dY·chain'(z) at (r, n).
template <class T, class Chain>
struct dz_rows {
  const T* dy;
  const float* z;  // the stashed activation input, or null
  Chain ch;
  index_t rows, cols;

  template <int KT, int NT, class Block>
  STCO_HD void load(const Block& b, float* tile, int, index_t r0, index_t n0) const {
    constexpr int LD = NT + 1;
    for (int e = b.thread(); e < KT * NT; e += b.threads()) {
      const int r = e / NT, n = e % NT;
      const index_t gr = r0 + r, gn = n0 + n;
      float v = 0.f;
      if (gr < rows && gn < cols) {
        const index_t pos = gr * cols + gn;
        v = ch.core_gradient(to_float(dy[pos]), gr, pos, z ? z[pos] : 0.f);
      }
      tile[r * LD + n] = v;
    }
  }
};

/// dZ of a convolution output (NHWC [pixels, channels]): B[c, p] = dY·chain'(z) at (p, c).
template <class T, class Chain>
struct dz_pixels {
  const T* dy;
  const float* z;
  Chain ch;
  index_t channels, pixels;

  template <int KT, int NT, class Block>
  STCO_HD void load(const Block& b, float* tile, int, index_t c0, index_t p0) const {
    constexpr int LD = NT + 1;
    for (int e = b.thread(); e < KT * NT; e += b.threads()) {
      const int c = e % KT, n = e / KT;  // channels fastest
      const index_t gc = c0 + c, gp = p0 + n;
      float v = 0.f;
      if (gc < channels && gp < pixels) {
        const index_t pos = gp * channels + gc;
        v = ch.core_gradient(to_float(dy[pos]), gc, pos, z ? z[pos] : 0.f);
      }
      tile[c * LD + n] = v;
    }
  }
};

/// For dX of a convolution (groups == 1), segment `tap`: B[c, q] = dZ at the output pixel that
/// reads input pixel q through the tap, channel c (zero where no output pixel does).
template <class T, class Chain>
struct dz_taps {
  const T* dy;
  const float* z;
  Chain ch;
  conv_dims d;

  template <int KT, int NT, class Block>
  STCO_HD void load(const Block& b, float* tile, int tap, index_t c0, index_t q0) const {
    constexpr int LD = NT + 1;
    const int th = tap / d.kw, tw = tap - th * d.kw, Q = d.in_pixels();
    for (int e = b.thread(); e < KT * NT; e += b.threads()) {
      const int c = e % KT, n = e / KT;
      const index_t gc = c0 + c, gq = q0 + n;
      float v = 0.f;
      if (gc < d.out_c && gq < Q) {
        const int p = d.target(static_cast<int>(gq), th, tw);
        if (p >= 0) {
          const index_t pos = static_cast<index_t>(p) * d.out_c + gc;
          v = ch.core_gradient(to_float(dy[pos]), gc, pos, z ? z[pos] : 0.f);
        }
      }
      tile[c * LD + n] = v;
    }
  }
};

/// Writes Y = chain(z) (and the activation input to `stash`) at output (row r, column n): a GEMM
/// output row-major [R, ld] or, ChannelFastest, a convolution's NHWC [n, ld].
template <class T, class Chain, bool ChannelFastest>
struct epilogue_out {
  static constexpr bool channel_fastest = ChannelFastest;
  T* y;
  float* stash;
  Chain ch;
  index_t ld;

  STCO_HD void write(index_t r, index_t n, float v) const {
    const index_t pos = ChannelFastest ? n * ld + r : r * ld + n;
    y[pos] = from_float<T>(ch.apply(v, r, pos, stash ? stash + pos : nullptr));
  }
};

/// Writes a plain result (a gradient) at (row r, column n), laid out as in epilogue_out.
template <class T, bool ChannelFastest>
struct plain_out {
  static constexpr bool channel_fastest = ChannelFastest;
  T* y;
  index_t ld;

  STCO_HD void write(index_t r, index_t n, float v) const {
    y[ChannelFastest ? n * ld + r : r * ld + n] = from_float<T>(v);
  }
};

}  // namespace stco::kernel::cuda
