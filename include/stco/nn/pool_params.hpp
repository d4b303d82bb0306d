// stco/nn/pool_params.hpp — the window of a pooling layer and its output-shape inference.
#pragma once

#include "stco/core/error.hpp"
#include "stco/nn/backend.hpp"

namespace stco::nn {

/// A pooling window: kernel, stride (defaults to the kernel) and zero padding, per spatial
/// dimension. Output extents follow floor mode, as PyTorch's default.
struct pool2d {
  index_t kernel_h = 2, kernel_w = 2;
  index_t stride_h = 0, stride_w = 0;  // 0: same as the kernel
  index_t pad_h = 0, pad_w = 0;

  static pool2d square(index_t k, index_t stride = 0, index_t pad = 0) {
    return {k, k, stride, stride, pad, pad};
  }
  index_t sh() const { return stride_h ? stride_h : kernel_h; }
  index_t sw() const { return stride_w ? stride_w : kernel_w; }

  /// NHWC output shape for input `in`; argument_error for a bad window, shape_error when it does
  /// not fit the input.
  shape4 out_shape(const shape4& in, const char* op) const {
    if (kernel_h < 1 || kernel_w < 1 || sh() < 1 || sw() < 1 || pad_h < 0 || pad_w < 0 ||
        2 * pad_h > kernel_h || 2 * pad_w > kernel_w)
      throw argument_error(stco::detail::message(
          "stco::nn::", op, ": bad window: kernel ", kernel_h, "x", kernel_w, ", stride ", sh(),
          "x", sw(), ", pad ", pad_h, "x", pad_w, " (kernel, stride ≥ 1, 0 ≤ pad ≤ kernel/2)"));
    const index_t oh = (in[1] + 2 * pad_h - kernel_h) / sh() + 1;
    const index_t ow = (in[2] + 2 * pad_w - kernel_w) / sw() + 1;
    if (in[1] + 2 * pad_h < kernel_h || in[2] + 2 * pad_w < kernel_w)
      throw shape_error(stco::detail::message(
          "stco::nn::", op, ": input ", detail::shape_text(in), " (NHWC) is smaller than the ",
          kernel_h, "x", kernel_w, " window with padding ", pad_h, "x", pad_w));
    return {in[0], oh, ow, in[3]};
  }
};

}  // namespace stco::nn
