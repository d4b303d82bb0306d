// stco/kernel/cuda/portable/conv_dims.cuh — a convolution's extents as 32-bit integers for
// device index arithmetic, and the pixel and tap decompositions the conv kernels share.
#pragma once

#include "stco/config.hpp"
#include "stco/core/error.hpp"
#include "stco/expr/conv_params.hpp"
#include "stco/layout/cuda/device_index_list.cuh"

namespace stco::kernel::cuda {

struct conv_dims {
  int batch, in_h, in_w, in_c;
  int out_h, out_w, out_c;
  int kh, kw, groups, cin_g, cout_g;
  int stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;

  /// From a resolved geometry; shape_error if an extent exceeds the device's 32-bit indexing.
  static conv_dims of(const conv_geometry& g) {
    const index_t big[] = {g.batch * g.in_h * g.in_w, g.pixels(), g.in_c, g.out_c, g.k()};
    for (index_t v : big)
      if (v > stco::cuda::device_index_limit)
        throw shape_error(stco::detail::message("stco::cuda::conv2d: extent ", v,
                                                " exceeds the device kernels' 2^31 - 1 limit"));
    auto i = [](index_t v) { return static_cast<int>(v); };
    return {i(g.batch),    i(g.in_h),     i(g.in_w),  i(g.in_c),   i(g.out_h),   i(g.out_w),
            i(g.out_c),    i(g.kh),       i(g.kw),    i(g.groups), i(g.cin_g()), i(g.cout_g()),
            i(g.stride_h), i(g.stride_w), i(g.pad_h), i(g.pad_w),  i(g.dil_h),   i(g.dil_w)};
  }
  /// Output pixels (the implicit GEMM's N) and input pixels.
  STCO_HD int pixels() const { return batch * out_h * out_w; }
  STCO_HD int in_pixels() const { return batch * in_h * in_w; }
  /// The weight's K: KH·KW·Cin/groups.
  STCO_HD int k() const { return kh * kw * cin_g; }
  STCO_HD int taps() const { return kh * kw; }

  /// Input position (ih, iw) that output pixel p reads through tap (th, tw); the image in `img`.
  STCO_HD void source(int p, int th, int tw, int& img, int& ih, int& iw) const {
    img = p / (out_h * out_w);
    const int rem = p - img * out_h * out_w;
    const int oh = rem / out_w, ow = rem - oh * out_w;
    ih = oh * stride_h - pad_h + th * dil_h;
    iw = ow * stride_w - pad_w + tw * dil_w;
  }
  STCO_HD bool inside(int ih, int iw) const { return ih >= 0 && ih < in_h && iw >= 0 && iw < in_w; }
  /// The output pixel that reads input pixel q through tap (th, tw), or -1.
  STCO_HD int target(int q, int th, int tw) const {
    const int img = q / (in_h * in_w);
    const int rem = q - img * in_h * in_w;
    const int ih = rem / in_w, iw = rem - ih * in_w;
    const int yh = ih + pad_h - th * dil_h, yw = iw + pad_w - tw * dil_w;
    if (yh < 0 || yw < 0 || yh % stride_h != 0 || yw % stride_w != 0) return -1;
    const int oh = yh / stride_h, ow = yw / stride_w;
    if (oh >= out_h || ow >= out_w) return -1;
    return (img * out_h + oh) * out_w + ow;
  }
  /// Element offset of input pixel (img, ih, iw), channel c.
  STCO_HD index_t x_offset(int img, int ih, int iw, int c) const {
    return ((static_cast<index_t>(img) * in_h + ih) * in_w + iw) * in_c + c;
  }
};

}  // namespace stco::kernel::cuda
