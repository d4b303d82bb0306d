// stco/kernel/reference/dense.hpp — plain double-precision loops over dense operands: the oracle
// the tests compare every kernel with. Deliberately simple: no layout, no blocking, no threads.
#pragma once

#include <vector>

#include "stco/core/index.hpp"
#include "stco/expr/conv_params.hpp"

namespace stco::reference {

/// Z[R, N] = W[R, K]·X[K, N] (row-major).
inline std::vector<double> matmul(const std::vector<double>& W, const std::vector<double>& X,
                                  index_t R, index_t K, index_t N) {
  std::vector<double> Z(static_cast<std::size_t>(R * N), 0.0);
  for (index_t r = 0; r < R; ++r)
    for (index_t k = 0; k < K; ++k) {
      const double w = W[r * K + k];
      if (w != 0)
        for (index_t n = 0; n < N; ++n) Z[r * N + n] += w * X[k * N + n];
    }
  return Z;
}

/// dX[K, N] = Wᵀ·dZ and dW[R, K] = dZ·Xᵀ (dense: every position).
inline void matmul_grads(const std::vector<double>& W, const std::vector<double>& X,
                         const std::vector<double>& dZ, index_t R, index_t K, index_t N,
                         std::vector<double>& dW, std::vector<double>& dX) {
  dW.assign(static_cast<std::size_t>(R * K), 0.0);
  dX.assign(static_cast<std::size_t>(K * N), 0.0);
  for (index_t r = 0; r < R; ++r)
    for (index_t k = 0; k < K; ++k)
      for (index_t n = 0; n < N; ++n) {
        dW[r * K + k] += dZ[r * N + n] * X[k * N + n];
        dX[k * N + n] += W[r * K + k] * dZ[r * N + n];
      }
}

/// Calls f(n, oh, ow, co, kk, x_index) for every (output, tap) pair whose input lies inside the
/// image: the definition of grouped, strided, dilated, padded NHWC convolution.
template <class F>
void for_each_conv_term(const conv_geometry& g, F&& f) {
  const index_t cg = g.cin_g(), og = g.cout_g();
  for (index_t n = 0; n < g.batch; ++n)
    for (index_t oh = 0; oh < g.out_h; ++oh)
      for (index_t ow = 0; ow < g.out_w; ++ow)
        for (index_t co = 0; co < g.out_c; ++co) {
          const index_t grp = co / og;
          for (index_t kh = 0; kh < g.kh; ++kh)
            for (index_t kw = 0; kw < g.kw; ++kw) {
              const index_t ih = oh * g.stride_h - g.pad_h + kh * g.dil_h;
              const index_t iw = ow * g.stride_w - g.pad_w + kw * g.dil_w;
              if (ih < 0 || ih >= g.in_h || iw < 0 || iw >= g.in_w) continue;
              for (index_t c = 0; c < cg; ++c)
                f(((n * g.out_h + oh) * g.out_w + ow) * g.out_c + co,
                  co * g.k() + (kh * g.kw + kw) * cg + c,
                  ((n * g.in_h + ih) * g.in_w + iw) * g.in_c + grp * cg + c);
            }
        }
}

/// Z (NHWC) = conv(W, X).
inline std::vector<double> conv2d(const std::vector<double>& W, const std::vector<double>& X,
                                  const conv_geometry& g) {
  std::vector<double> Z(static_cast<std::size_t>(g.pixels() * g.out_c), 0.0);
  for_each_conv_term(g, [&](index_t y, index_t w, index_t x) { Z[y] += W[w] * X[x]; });
  return Z;
}

inline void conv2d_grads(const std::vector<double>& W, const std::vector<double>& X,
                         const std::vector<double>& dZ, const conv_geometry& g,
                         std::vector<double>& dW, std::vector<double>& dX) {
  dW.assign(W.size(), 0.0);
  dX.assign(X.size(), 0.0);
  for_each_conv_term(g, [&](index_t y, index_t w, index_t x) {
    dW[w] += dZ[y] * X[x];
    dX[x] += W[w] * dZ[y];
  });
}

}  // namespace stco::reference
