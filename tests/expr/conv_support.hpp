// Test support for conv2d: convolution settings, output extents worked out independently of the
// library, the geometry the double reference takes, and random NHWC tensors.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "../support/random.hpp"
#include "stco/stco.hpp"

namespace stco_test {

/// One convolution: X [batch, h, w, cin] (NHWC), a kh×kw kernel, Cout output channels.
struct conv_setting {
  const char* name;
  stco::index_t batch, h, w, cin, cout;
  stco::index_t kh, kw;
  stco::index_t stride_h, stride_w, pad_h, pad_w, dil_h, dil_w;
  stco::index_t groups;
  bool explicit_kernel;  // pass kh, kw; else the library infers a square kernel from K

  stco::index_t cin_g() const { return cin / groups; }
  /// The weight's reduction length: KH·KW·Cin/groups in (kh, kw, c) order.
  stco::index_t k() const { return kh * kw * cin_g(); }

  stco::conv params() const {
    stco::conv p;
    p.stride(stride_h, stride_w).pad(pad_h, pad_w).group(groups);
    p.dilation_h = dil_h;
    p.dilation_w = dil_w;
    if (explicit_kernel) p.kernel(kh, kw);
    return p;
  }
};

/// Output extent of one spatial dimension, by counting window placements: a window that starts at
/// o·stride (in padded coordinates) covers o·stride … o·stride + dil·(k − 1) and fits while that
/// last tap is inside the padded extent in + 2·pad. This is floor((in + 2·pad − dil·(k − 1) − 1) /
/// stride) + 1 when the kernel fits at all, and 0 when it does not.
inline stco::index_t expected_out_extent(stco::index_t in, stco::index_t k, stco::index_t stride,
                                         stco::index_t pad, stco::index_t dil) {
  stco::index_t o = 0;
  while (o * stride + dil * (k - 1) <= in + 2 * pad - 1) ++o;
  return o;
}

/// The expected output shape [batch, out_h, out_w, cout].
inline std::array<stco::index_t, 4> expected_out_shape(const conv_setting& s) {
  return {s.batch, expected_out_extent(s.h, s.kh, s.stride_h, s.pad_h, s.dil_h),
          expected_out_extent(s.w, s.kw, s.stride_w, s.pad_w, s.dil_w), s.cout};
}

/// The geometry the double reference loops take, filled field by field from the setting and the
/// independently computed output extents (not from the library's resolve_conv).
inline stco::conv_geometry reference_geometry(const conv_setting& s) {
  const auto o = expected_out_shape(s);
  stco::conv_geometry g{};
  g.batch = s.batch, g.in_h = s.h, g.in_w = s.w, g.in_c = s.cin;
  g.out_h = o[1], g.out_w = o[2], g.out_c = s.cout;
  g.kh = s.kh, g.kw = s.kw, g.groups = s.groups;
  g.stride_h = s.stride_h, g.stride_w = s.stride_w, g.pad_h = s.pad_h, g.pad_w = s.pad_w;
  g.dil_h = s.dil_h, g.dil_w = s.dil_w;
  return g;
}

/// A random rank-4 tensor (entries as random_matrix: uniform in [-1, 1], never zero).
template <class T>
stco::tensor<T, 4> random_tensor4(stco::index_t a, stco::index_t b, stco::index_t c,
                                  stco::index_t d) {
  const auto m = random_matrix<T>(a * b * c, d);
  stco::tensor<T, 4> t(stco::dextents<4>(a, b, c, d));
  std::copy(m.begin(), m.end(), t.data());
  return t;
}

template <class T>
stco::tensor<T, 1> random_vector(stco::index_t n) {
  const auto m = random_matrix<T>(1, n);
  stco::tensor<T, 1> t{stco::dextents<1>(n)};
  std::copy(m.begin(), m.end(), t.data());
  return t;
}

template <class T>
std::array<stco::index_t, 4> shape_of(const stco::tensor<T, 4>& t) {
  return {t.extent(0), t.extent(1), t.extent(2), t.extent(3)};
}

}  // namespace stco_test
