// stco/nn/cuda/pooling.cuh — max and average pooling over NHWC activations on the CUDA backend.
//
// One thread per output value forward; backward is a gather, one thread per input value, over the
// windows that cover it (no atomics: the result does not depend on scheduling, overlapping windows
// included). Max pooling records the offset of each output's maximum within its image; average
// pooling divides by the full window (padding counted), as the CPU backend.
#pragma once

#include "stco/nn/cuda/backend.cuh"
#include "stco/nn/pool_params.hpp"

namespace stco::nn {

namespace detail {
/// The geometry a pooling kernel needs, by value.
struct pool_geo {
  index_t H, W, C, OH, OW, kh, kw, sh, sw, ph, pw;
  static pool_geo of(const shape4& in, const pool2d& p, const shape4& out) {
    return {in[1],      in[2],  in[3],  out[1],  out[2], p.kernel_h,
            p.kernel_w, p.sh(), p.sw(), p.pad_h, p.pad_w};
  }
  /// The outputs whose window covers input row ih: [lo, hi).
  __device__ void covering(index_t i, index_t k, index_t s, index_t pad, index_t O, index_t& lo,
                           index_t& hi) const {
    // o·s − pad ≤ i ≤ o·s − pad + k − 1
    const index_t a = i + pad - k + 1;
    lo = a <= 0 ? 0 : (a + s - 1) / s;
    hi = (i + pad) / s + 1;
    if (hi > O) hi = O;
  }
};

template <class T>
struct max_pool_op {
  const T* x;
  pool_geo g;
  T* y;
  index_t* argmax;
  __device__ void operator()(index_t o) const {
    const index_t c = o % g.C, ow = (o / g.C) % g.OW, oh = (o / (g.C * g.OW)) % g.OH,
                  n = o / (g.C * g.OW * g.OH);
    const T* xi = x + n * g.H * g.W * g.C;
    T best = T(0);
    index_t at = -1;
    for (index_t kh = 0; kh < g.kh; ++kh) {
      const index_t ih = oh * g.sh - g.ph + kh;
      if (ih < 0 || ih >= g.H) continue;
      for (index_t kw = 0; kw < g.kw; ++kw) {
        const index_t iw = ow * g.sw - g.pw + kw;
        if (iw < 0 || iw >= g.W) continue;
        const index_t off = (ih * g.W + iw) * g.C + c;
        if (at < 0 || xi[off] > best) best = xi[off], at = off;
      }
    }
    y[o] = best;
    argmax[o] = at;
  }
};

template <class T>
struct max_pool_grad_op {
  const T* dy;
  const index_t* argmax;
  pool_geo g;
  T* dx;
  __device__ void operator()(index_t i) const {
    const index_t c = i % g.C, iw = (i / g.C) % g.W, ih = (i / (g.C * g.W)) % g.H,
                  n = i / (g.C * g.W * g.H);
    const index_t own = (ih * g.W + iw) * g.C + c;
    index_t h0, h1, w0, w1;
    g.covering(ih, g.kh, g.sh, g.ph, g.OH, h0, h1);
    g.covering(iw, g.kw, g.sw, g.pw, g.OW, w0, w1);
    T sum = T(0);
    for (index_t oh = h0; oh < h1; ++oh)
      for (index_t ow = w0; ow < w1; ++ow) {
        const index_t o = ((n * g.OH + oh) * g.OW + ow) * g.C + c;
        if (argmax[o] == own) sum += dy[o];
      }
    dx[i] = sum;
  }
};

template <class T>
struct avg_pool_op {
  const T* x;
  pool_geo g;
  T inv;
  T* y;
  __device__ void operator()(index_t o) const {
    const index_t c = o % g.C, ow = (o / g.C) % g.OW, oh = (o / (g.C * g.OW)) % g.OH,
                  n = o / (g.C * g.OW * g.OH);
    const T* xi = x + n * g.H * g.W * g.C;
    T sum = T(0);
    for (index_t kh = 0; kh < g.kh; ++kh) {
      const index_t ih = oh * g.sh - g.ph + kh;
      if (ih < 0 || ih >= g.H) continue;
      for (index_t kw = 0; kw < g.kw; ++kw) {
        const index_t iw = ow * g.sw - g.pw + kw;
        if (iw < 0 || iw >= g.W) continue;
        sum += xi[(ih * g.W + iw) * g.C + c];
      }
    }
    y[o] = sum * inv;
  }
};

template <class T>
struct avg_pool_grad_op {
  const T* dy;
  pool_geo g;
  T inv;
  T* dx;
  __device__ void operator()(index_t i) const {
    const index_t c = i % g.C, iw = (i / g.C) % g.W, ih = (i / (g.C * g.W)) % g.H,
                  n = i / (g.C * g.W * g.H);
    index_t h0, h1, w0, w1;
    g.covering(ih, g.kh, g.sh, g.ph, g.OH, h0, h1);
    g.covering(iw, g.kw, g.sw, g.pw, g.OW, w0, w1);
    T sum = T(0);
    for (index_t oh = h0; oh < h1; ++oh)
      for (index_t ow = w0; ow < w1; ++ow) sum += dy[((n * g.OH + oh) * g.OW + ow) * g.C + c];
    dx[i] = sum * inv;
  }
};
}  // namespace detail

/// y = max over each window; argmax[i] = offset of output i's maximum within its image.
template <class T>
void max_pool2d_forward(cuda_device, const T* x, const shape4& in, const pool2d& p,
                        const shape4& out, T* y, index_t* argmax) {
  detail::for_each_index(out[0] * out[1] * out[2] * out[3],
                         detail::max_pool_op<T>{x, detail::pool_geo::of(in, p, out), y, argmax});
}
/// dx[i] = Σ dy over the outputs (of the windows covering input i) whose maximum is input i.
template <class T>
void max_pool2d_backward(cuda_device, const T* dy, const index_t* argmax, const shape4& in,
                         const pool2d& p, const shape4& out, T* dx) {
  detail::for_each_index(
      in[0] * in[1] * in[2] * in[3],
      detail::max_pool_grad_op<T>{dy, argmax, detail::pool_geo::of(in, p, out), dx});
}
template <class T>
void avg_pool2d_forward(cuda_device, const T* x, const shape4& in, const pool2d& p,
                        const shape4& out, T* y) {
  const T inv = T(1) / static_cast<T>(p.kernel_h * p.kernel_w);
  detail::for_each_index(out[0] * out[1] * out[2] * out[3],
                         detail::avg_pool_op<T>{x, detail::pool_geo::of(in, p, out), inv, y});
}
template <class T>
void avg_pool2d_backward(cuda_device, const T* dy, const shape4& in, const pool2d& p,
                         const shape4& out, T* dx) {
  const T inv = T(1) / static_cast<T>(p.kernel_h * p.kernel_w);
  detail::for_each_index(
      in[0] * in[1] * in[2] * in[3],
      detail::avg_pool_grad_op<T>{dy, detail::pool_geo::of(in, p, out), inv, dx});
}

}  // namespace stco::nn
