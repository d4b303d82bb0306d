// stco/kernel/cuda/gather_tc/conv_geometry.cuh — a resolved convolution as the device kernels see
// it (groups = 1), and the implicit im2col: where the input element of (output pixel, K-column) is.
//
// Activations are NHWC; K runs over (kh, kw, c). A CTA resolves its pixels once (image base and
// top-left input corner per pixel, in shared memory) so a gather needs one division of k per
// position and a bounds test.
#pragma once

#include <cstdint>

#include "stco/core/index.hpp"
#include "stco/expr/conv_params.hpp"

namespace stco::kernel::cuda::gather_tc {

struct conv_dims {
  int batch, in_h, in_w, in_c, out_h, out_w, out_c, kh, kw;
  int stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;

  static conv_dims from(const conv_geometry& g) {
    auto i = [](index_t v) { return static_cast<int>(v); };
    return {i(g.batch),    i(g.in_h),  i(g.in_w),  i(g.in_c),  i(g.out_h),
            i(g.out_w),    i(g.out_c), i(g.kh),    i(g.kw),    i(g.stride_h),
            i(g.stride_w), i(g.pad_h), i(g.pad_w), i(g.dil_h), i(g.dil_w)};
  }
  __host__ __device__ index_t pixels() const { return static_cast<index_t>(batch) * out_h * out_w; }
  __host__ __device__ index_t in_pixels() const {
    return static_cast<index_t>(batch) * in_h * in_w;
  }
  __host__ __device__ int taps() const { return kh * kw; }
  __host__ __device__ index_t k() const { return static_cast<index_t>(kh) * kw * in_c; }
};

/// An output pixel resolved: the first element of its image and its top-left input corner.
struct pixel_origin {
  index_t image;  // n·H·W·C, or −1 for a pixel past the end
  int ih0, iw0;   // oh·stride − pad, ow·stride − pad
};

/// (Pixel counts stay below 2^31: the launchers check; 32-bit divisions here.)
__device__ __forceinline__ pixel_origin resolve_pixel(const conv_dims& d, index_t p) {
  if (p >= d.pixels()) return {-1, 0, 0};
  const int q = static_cast<int>(p), t = q / d.out_w, ow = q - t * d.out_w;
  const int n = t / d.out_h, oh = t - n * d.out_h;
  return {static_cast<index_t>(n) * d.in_h * d.in_w * d.in_c, oh * d.stride_h - d.pad_h,
          ow * d.stride_w - d.pad_w};
}

/// Walks output pixels forward without divisions (one resolve, then steps).
struct pixel_cursor {
  index_t p;
  int n, oh, ow;
  __device__ static pixel_cursor at(const conv_dims& d, index_t p) {
    const int q = static_cast<int>(p < d.pixels() ? p : d.pixels()), t = q / d.out_w;
    const int n = t / d.out_h;
    return {p, n, t - n * d.out_h, q - t * d.out_w};
  }
  __device__ void advance(const conv_dims& d, int k) {
    p += k, ow += k;
    while (ow >= d.out_w) ow -= d.out_w, ++oh;
    while (oh >= d.out_h) oh -= d.out_h, ++n;
  }
  __device__ pixel_origin origin(const conv_dims& d) const {
    if (p >= d.pixels()) return {-1, 0, 0};
    return {static_cast<index_t>(n) * d.in_h * d.in_w * d.in_c, oh * d.stride_h - d.pad_h,
            ow * d.stride_w - d.pad_w};
  }
};

/// K-column k as (row offset, column offset, channel) of the kernel window.
struct tap_offset {
  int dh, dw, c;  // kh·dil_h, kw·dil_w, channel; dh < 0 marks padding
};
__device__ __forceinline__ tap_offset resolve_k(const conv_dims& d, index_t k) {
  if (k < 0) return {-1, 0, 0};
  const int kk = static_cast<int>(k);
  const int tap = kk / d.in_c, c = kk - tap * d.in_c;
  const int r = tap / d.kw, s = tap - r * d.kw;
  return {r * d.dil_h, s * d.dil_w, c};
}

/// Index of X(pixel, k) in the NHWC input, or −1 outside the image (zero padding).
__device__ __forceinline__ index_t im2col_index(const conv_dims& d, const pixel_origin& o,
                                                const tap_offset& t) {
  if (o.image < 0 || t.dh < 0) return -1;
  const int ih = o.ih0 + t.dh, iw = o.iw0 + t.dw;
  if (ih < 0 || ih >= d.in_h || iw < 0 || iw >= d.in_w) return -1;
  return o.image + (static_cast<index_t>(ih) * d.in_w + iw) * d.in_c + t.c;
}

}  // namespace stco::kernel::cuda::gather_tc
