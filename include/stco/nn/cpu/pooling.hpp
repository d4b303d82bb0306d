// stco/nn/cpu/pooling.hpp — max and average pooling over NHWC activations on the CPU backend.
//
// One task per image. Max pooling records the input offset of each output's maximum, so its
// backward pass is a scatter; average pooling divides by the full window (padding counted, as
// PyTorch's count_include_pad=True).
#pragma once

#include <algorithm>
#include <limits>

#include "stco/core/parallel.hpp"
#include "stco/nn/backend.hpp"
#include "stco/nn/pool_params.hpp"

namespace stco::nn {

/// y = max over each window; argmax[i] = offset of output i's maximum within its image.
template <class T>
void max_pool2d_forward(cpu, const T* x, const shape4& in, const pool2d& p, const shape4& out, T* y,
                        index_t* argmax) {
  const index_t H = in[1], W = in[2], C = in[3], OH = out[1], OW = out[2];
  parallel_for(in[0], [&](index_t n) {
    const T* xi = x + n * H * W * C;
    for (index_t oh = 0; oh < OH; ++oh)
      for (index_t ow = 0; ow < OW; ++ow) {
        const index_t o = ((n * OH + oh) * OW + ow) * C;
        T* yo = y + o;
        index_t* ao = argmax + o;
        for (index_t c = 0; c < C; ++c) yo[c] = -std::numeric_limits<T>::infinity(), ao[c] = -1;
        for (index_t kh = 0; kh < p.kernel_h; ++kh) {
          const index_t ih = oh * p.sh() - p.pad_h + kh;
          if (ih < 0 || ih >= H) continue;
          for (index_t kw = 0; kw < p.kernel_w; ++kw) {
            const index_t iw = ow * p.sw() - p.pad_w + kw;
            if (iw < 0 || iw >= W) continue;
            const index_t base = (ih * W + iw) * C;
            for (index_t c = 0; c < C; ++c)
              if (xi[base + c] > yo[c] || ao[c] < 0) yo[c] = xi[base + c], ao[c] = base + c;
          }
        }
      }
  });
}

/// dx = 0, then dx[argmax[i]] += dy[i] image by image (the window is in argmax).
template <class T>
void max_pool2d_backward(cpu, const T* dy, const index_t* argmax, const shape4& in, const pool2d&,
                         const shape4& out, T* dx) {
  const index_t image = in[1] * in[2] * in[3], oimage = out[1] * out[2] * out[3];
  parallel_for(in[0], [&](index_t n) {
    T* d = dx + n * image;
    std::fill(d, d + image, T(0));
    for (index_t i = n * oimage; i < (n + 1) * oimage; ++i) d[argmax[i]] += dy[i];
  });
}

/// y = mean over each window (divisor kernel_h·kernel_w, padding included).
template <class T>
void avg_pool2d_forward(cpu, const T* x, const shape4& in, const pool2d& p, const shape4& out,
                        T* y) {
  const index_t H = in[1], W = in[2], C = in[3], OH = out[1], OW = out[2];
  const T inv = T(1) / static_cast<T>(p.kernel_h * p.kernel_w);
  parallel_for(in[0], [&](index_t n) {
    const T* xi = x + n * H * W * C;
    for (index_t oh = 0; oh < OH; ++oh)
      for (index_t ow = 0; ow < OW; ++ow) {
        T* yo = y + ((n * OH + oh) * OW + ow) * C;
        std::fill(yo, yo + C, T(0));
        for (index_t kh = 0; kh < p.kernel_h; ++kh) {
          const index_t ih = oh * p.sh() - p.pad_h + kh;
          if (ih < 0 || ih >= H) continue;
          for (index_t kw = 0; kw < p.kernel_w; ++kw) {
            const index_t iw = ow * p.sw() - p.pad_w + kw;
            if (iw < 0 || iw >= W) continue;
            const T* xs = xi + (ih * W + iw) * C;
            for (index_t c = 0; c < C; ++c) yo[c] += xs[c];
          }
        }
        for (index_t c = 0; c < C; ++c) yo[c] *= inv;
      }
  });
}

/// The adjoint of avg_pool2d_forward.
template <class T>
void avg_pool2d_backward(cpu, const T* dy, const shape4& in, const pool2d& p, const shape4& out,
                         T* dx) {
  const index_t H = in[1], W = in[2], C = in[3], OH = out[1], OW = out[2];
  const T inv = T(1) / static_cast<T>(p.kernel_h * p.kernel_w);
  parallel_for(in[0], [&](index_t n) {
    T* d = dx + n * H * W * C;
    std::fill(d, d + H * W * C, T(0));
    for (index_t oh = 0; oh < OH; ++oh)
      for (index_t ow = 0; ow < OW; ++ow) {
        const T* g = dy + ((n * OH + oh) * OW + ow) * C;
        for (index_t kh = 0; kh < p.kernel_h; ++kh) {
          const index_t ih = oh * p.sh() - p.pad_h + kh;
          if (ih < 0 || ih >= H) continue;
          for (index_t kw = 0; kw < p.kernel_w; ++kw) {
            const index_t iw = ow * p.sw() - p.pad_w + kw;
            if (iw < 0 || iw >= W) continue;
            T* ds = d + (ih * W + iw) * C;
            for (index_t c = 0; c < C; ++c) ds[c] += g[c] * inv;
          }
        }
      }
  });
}

}  // namespace stco::nn
