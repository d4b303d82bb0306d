// stco/expr/conv_params.hpp — convolution parameters and output-shape inference.
//
// Activations are NHWC; the weight is [Cout, KH·KW·Cin/groups] with K in (kh, kw, c) order, so a
// convolution is an implicit GEMM whose N runs over output pixels.
#pragma once

#include <array>

#include "stco/core/error.hpp"
#include "stco/core/index.hpp"

namespace stco {

/// Parameters of conv2d. Kernel extents default to 0: then a square kernel is inferred from the
/// weight's K. Strides, padding and dilation are per spatial dimension (h, w).
///
///     stco::conv p;  p.kernel(3).stride(1).pad(1);            // or aggregate-style setters
struct conv {
  index_t kh = 0, kw = 0;
  index_t stride_h = 1, stride_w = 1;
  index_t pad_h = 0, pad_w = 0;
  index_t dilation_h = 1, dilation_w = 1;
  index_t groups = 1;

  constexpr conv& kernel(index_t k) { return kernel(k, k); }
  constexpr conv& kernel(index_t h, index_t w) { return kh = h, kw = w, *this; }
  constexpr conv& stride(index_t s) { return stride_h = stride_w = s, *this; }
  constexpr conv& stride(index_t h, index_t w) { return stride_h = h, stride_w = w, *this; }
  constexpr conv& pad(index_t p) { return pad_h = pad_w = p, *this; }
  constexpr conv& pad(index_t h, index_t w) { return pad_h = h, pad_w = w, *this; }
  constexpr conv& dilation(index_t d) { return dilation_h = dilation_w = d, *this; }
  constexpr conv& group(index_t g) { return groups = g, *this; }
};

/// A convolution resolved against concrete shapes: every extent the kernels need.
struct conv_geometry {
  index_t batch, in_h, in_w, in_c;  // X [batch, in_h, in_w, in_c]
  index_t out_h, out_w, out_c;      // Y [batch, out_h, out_w, out_c]
  index_t kh, kw, groups;
  index_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
  index_t cin_g() const { return in_c / groups; }
  index_t cout_g() const { return out_c / groups; }
  /// Reduction length of one group: KH·KW·Cin/groups (the weight's K).
  index_t k() const { return kh * kw * cin_g(); }
  index_t pixels() const { return batch * out_h * out_w; }
  std::array<index_t, 4> out_shape() const { return {batch, out_h, out_w, out_c}; }
};

/// Output extent of one spatial dimension (floor mode, as in PyTorch); 0 when the dilated kernel
/// does not fit the padded input. (The span is tested before dividing: C++ division truncates
/// toward zero, so a span short by less than a stride would otherwise still give one output.)
constexpr index_t conv_out_extent(index_t in, index_t k, index_t stride, index_t pad, index_t dil) {
  const index_t span = in + 2 * pad - dil * (k - 1);  // window start positions + 1 at stride 1
  return span < 1 ? 0 : (span - 1) / stride + 1;
}

namespace detail {
inline index_t isqrt(index_t x) {
  index_t r = 0;
  while ((r + 1) * (r + 1) <= x) ++r;
  return r;
}
}  // namespace detail

/// Checks X [N, H, W, C] and W [Cout, Kg] against p and returns the geometry; argument_error /
/// shape_error name the shapes and the parameter that does not fit.
inline conv_geometry resolve_conv(const std::array<index_t, 4>& x, matrix_shape w, const conv& p) {
  auto fail = [&](auto... why) {
    return shape_error(detail::message("stco::conv2d: X [", x[0], ", ", x[1], ", ", x[2], ", ",
                                       x[3], "] (NHWC), W ", w, ": ", why...));
  };
  auto bad = [&](auto... why) {
    return argument_error(detail::message("stco::conv2d: X [", x[0], ", ", x[1], ", ", x[2], ", ",
                                          x[3], "] (NHWC), W ", w, ": ", why...));
  };
  if (p.groups < 1) throw bad("groups ", p.groups, " < 1");
  if (p.stride_h < 1 || p.stride_w < 1 || p.dilation_h < 1 || p.dilation_w < 1 || p.pad_h < 0 ||
      p.pad_w < 0 || p.kh < 0 || p.kw < 0)
    throw bad("bad parameters: kernel ", p.kh, "x", p.kw, ", stride ", p.stride_h, "x", p.stride_w,
              ", pad ", p.pad_h, "x", p.pad_w, ", dilation ", p.dilation_h, "x", p.dilation_w,
              " (strides and dilations must be ≥ 1, padding ≥ 0)");
  conv_geometry g{};
  g.batch = x[0], g.in_h = x[1], g.in_w = x[2], g.in_c = x[3];
  g.out_c = w.rows, g.groups = p.groups;
  if (g.in_c % p.groups) throw fail("Cin = ", g.in_c, " is not divisible by groups = ", p.groups);
  if (g.out_c % p.groups)
    throw fail("Cout = ", g.out_c, " is not divisible by groups = ", p.groups);
  const index_t cin_g = g.in_c / p.groups;
  if (cin_g == 0 || w.cols % cin_g)
    throw fail("K = ", w.cols, " is not a multiple of Cin/groups = ", cin_g);
  g.kh = p.kh, g.kw = p.kw;
  if (g.kh == 0 && g.kw == 0) {
    const index_t taps = w.cols / cin_g, s = detail::isqrt(taps);
    if (s * s != taps)
      throw fail("K/(Cin/groups) = ", taps, " taps is not a square; give the kernel size");
    g.kh = g.kw = s;
  }
  if (g.kh * g.kw * cin_g != w.cols)
    throw fail("K = ", w.cols, " but kernel ", g.kh, "x", g.kw, " × Cin/groups ", cin_g, " = ",
               g.kh * g.kw * cin_g);
  g.stride_h = p.stride_h, g.stride_w = p.stride_w, g.pad_h = p.pad_h, g.pad_w = p.pad_w;
  g.dil_h = p.dilation_h, g.dil_w = p.dilation_w;
  g.out_h = conv_out_extent(g.in_h, g.kh, g.stride_h, g.pad_h, g.dil_h);
  g.out_w = conv_out_extent(g.in_w, g.kw, g.stride_w, g.pad_w, g.dil_w);
  if (g.out_h < 1 || g.out_w < 1)
    throw fail("the dilated kernel (", g.dil_h * (g.kh - 1) + 1, "x", g.dil_w * (g.kw - 1) + 1,
               ") does not fit the padded input (", g.in_h + 2 * g.pad_h, "x", g.in_w + 2 * g.pad_w,
               ")");
  return g;
}

}  // namespace stco
