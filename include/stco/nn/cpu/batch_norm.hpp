// stco/nn/cpu/batch_norm.hpp — batch normalization over NHWC activations on the CPU backend, with
// an optional fused ReLU.
//
// Channels are the innermost dimension, so per-channel statistics are sums over `pixels` rows of
// C values: each task sums a slice of rows into its own per-channel partial (in double), and the
// partials are added in slice order, so the result does not depend on thread timing.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "stco/core/parallel.hpp"
#include "stco/nn/backend.hpp"

namespace stco::nn {

namespace detail {
/// out[c] = Σ over rows p of f(p, c, acc) (f adds into acc[0..C) itself), slice by slice.
template <class F>
std::vector<double> channel_reduce(index_t rows, index_t C, index_t terms, F&& f) {
  const index_t slices = std::max<index_t>(1, std::min<index_t>(4 * num_threads(), rows / 64));
  std::vector<double> part(static_cast<std::size_t>(slices * terms * C), 0.0);
  parallel_for(slices, [&](index_t s) {
    double* acc = part.data() + s * terms * C;
    for (index_t p = rows * s / slices; p < rows * (s + 1) / slices; ++p) f(p, acc);
  });
  std::vector<double> out(static_cast<std::size_t>(terms * C), 0.0);
  for (index_t s = 0; s < slices; ++s)
    for (index_t i = 0; i < terms * C; ++i) out[i] += part[s * terms * C + i];
  return out;
}
}  // namespace detail

/// Training-mode forward over `rows` = N·H·W rows of C channels: mean and biased variance per
/// channel, y = γ·(x − μ)/√(σ² + eps) + β (then max(·, 0) if relu). Writes μ and 1/√(σ² + eps)
/// into mean/invstd (C each) and the unbiased variance into var_unbiased.
template <class T>
void batch_norm2d_forward_train(cpu, const T* x, index_t rows, index_t C, const T* gamma,
                                const T* beta, double eps, bool relu, T* y, T* mean, T* invstd,
                                T* var_unbiased) {
  const auto sum = detail::channel_reduce(rows, C, 1, [&](index_t p, double* acc) {
    const T* xp = x + p * C;
    for (index_t c = 0; c < C; ++c) acc[c] += static_cast<double>(xp[c]);
  });
  std::vector<double> mu(static_cast<std::size_t>(C));
  for (index_t c = 0; c < C; ++c) mu[c] = rows ? sum[c] / static_cast<double>(rows) : 0.0;
  // Centered second pass: no cancellation for channels with a large mean.
  const auto sq = detail::channel_reduce(rows, C, 1, [&](index_t p, double* acc) {
    const T* xp = x + p * C;
    for (index_t c = 0; c < C; ++c) {
      const double d = static_cast<double>(xp[c]) - mu[c];
      acc[c] += d * d;
    }
  });
  std::vector<T> scale(static_cast<std::size_t>(C)), shift(static_cast<std::size_t>(C));
  for (index_t c = 0; c < C; ++c) {
    const double var = rows ? sq[c] / static_cast<double>(rows) : 0.0;
    const double is = 1.0 / std::sqrt(var + eps);
    mean[c] = static_cast<T>(mu[c]);
    invstd[c] = static_cast<T>(is);
    var_unbiased[c] = static_cast<T>(rows > 1 ? sq[c] / static_cast<double>(rows - 1) : var);
    scale[c] = static_cast<T>(static_cast<double>(gamma[c]) * is);
    shift[c] =
        static_cast<T>(static_cast<double>(beta[c]) - mu[c] * static_cast<double>(gamma[c]) * is);
  }
  parallel_for(ceil_div(rows, 256), [&](index_t b) {
    for (index_t p = b * 256; p < std::min(rows, b * 256 + 256); ++p)
      for (index_t c = 0; c < C; ++c) {
        const T v = x[p * C + c] * scale[c] + shift[c];
        y[p * C + c] = relu && v < T(0) ? T(0) : v;
      }
  });
}

/// Eval-mode forward: y = γ·(x − running_mean)/√(running_var + eps) + β (then ReLU if asked).
template <class T>
void batch_norm2d_forward_eval(cpu, const T* x, index_t rows, index_t C, const T* gamma,
                               const T* beta, const T* running_mean, const T* running_var,
                               double eps, bool relu, T* y) {
  std::vector<T> scale(static_cast<std::size_t>(C)), shift(static_cast<std::size_t>(C));
  for (index_t c = 0; c < C; ++c) {
    const double is = 1.0 / std::sqrt(static_cast<double>(running_var[c]) + eps);
    scale[c] = static_cast<T>(static_cast<double>(gamma[c]) * is);
    shift[c] =
        static_cast<T>(static_cast<double>(beta[c]) -
                       static_cast<double>(running_mean[c]) * static_cast<double>(gamma[c]) * is);
  }
  parallel_for(ceil_div(rows, 256), [&](index_t b) {
    for (index_t p = b * 256; p < std::min(rows, b * 256 + 256); ++p)
      for (index_t c = 0; c < C; ++c) {
        const T v = x[p * C + c] * scale[c] + shift[c];
        y[p * C + c] = relu && v < T(0) ? T(0) : v;
      }
  });
}

/// Training-mode backward. x is the forward input, y its output (for the fused ReLU's mask), mean
/// and invstd the batch statistics it used. Writes dγ, dβ (C each) and, if dx is not null, dx.
template <class T>
void batch_norm2d_backward_train(cpu, const T* x, const T* y, const T* dy, index_t rows, index_t C,
                                 const T* gamma, const T* mean, const T* invstd, bool relu,
                                 T* dgamma, T* dbeta, T* dx) {
  auto g = [&](index_t i) { return relu && !(y[i] > T(0)) ? T(0) : dy[i]; };
  const auto s = detail::channel_reduce(rows, C, 2, [&](index_t p, double* acc) {
    for (index_t c = 0; c < C; ++c) {
      const double gi = static_cast<double>(g(p * C + c));
      const double xh = (static_cast<double>(x[p * C + c]) - static_cast<double>(mean[c])) *
                        static_cast<double>(invstd[c]);
      acc[c] += gi;
      acc[C + c] += gi * xh;
    }
  });
  for (index_t c = 0; c < C; ++c)
    dbeta[c] = static_cast<T>(s[c]), dgamma[c] = static_cast<T>(s[C + c]);
  if (!dx) return;
  // dx = γ·invstd/M · (M·g − Σg − x̂·Σ(g·x̂))
  const double M = static_cast<double>(rows);
  std::vector<T> a(static_cast<std::size_t>(C)), b(static_cast<std::size_t>(C)),
      k(static_cast<std::size_t>(C));
  for (index_t c = 0; c < C; ++c) {
    const double gs = static_cast<double>(gamma[c]) * static_cast<double>(invstd[c]);
    a[c] = static_cast<T>(gs);                                                  // multiplies g
    k[c] = static_cast<T>(gs * s[C + c] / M * static_cast<double>(invstd[c]));  // multiplies x − μ
    b[c] = static_cast<T>(gs * s[c] / M);                                       // constant
  }
  parallel_for(ceil_div(rows, 256), [&](index_t blk) {
    for (index_t p = blk * 256; p < std::min(rows, blk * 256 + 256); ++p)
      for (index_t c = 0; c < C; ++c) {
        const index_t i = p * C + c;
        dx[i] = a[c] * g(i) - b[c] - k[c] * (x[i] - mean[c]);
      }
  });
}

/// Eval-mode backward: the running statistics are constants, so dx = g·γ/√(running_var + eps).
template <class T>
void batch_norm2d_backward_eval(cpu, const T* x, const T* y, const T* dy, index_t rows, index_t C,
                                const T* gamma, const T* running_mean, const T* running_var,
                                double eps, bool relu, T* dgamma, T* dbeta, T* dx) {
  std::vector<T> invstd(static_cast<std::size_t>(C));
  for (index_t c = 0; c < C; ++c)
    invstd[c] = static_cast<T>(1.0 / std::sqrt(static_cast<double>(running_var[c]) + eps));
  auto g = [&](index_t i) { return relu && !(y[i] > T(0)) ? T(0) : dy[i]; };
  const auto s = detail::channel_reduce(rows, C, 2, [&](index_t p, double* acc) {
    for (index_t c = 0; c < C; ++c) {
      const double gi = static_cast<double>(g(p * C + c));
      acc[c] += gi;
      acc[C + c] += gi *
                    (static_cast<double>(x[p * C + c]) - static_cast<double>(running_mean[c])) *
                    static_cast<double>(invstd[c]);
    }
  });
  for (index_t c = 0; c < C; ++c)
    dbeta[c] = static_cast<T>(s[c]), dgamma[c] = static_cast<T>(s[C + c]);
  if (!dx) return;
  parallel_for(ceil_div(rows, 256), [&](index_t blk) {
    for (index_t p = blk * 256; p < std::min(rows, blk * 256 + 256); ++p)
      for (index_t c = 0; c < C; ++c) dx[p * C + c] = g(p * C + c) * gamma[c] * invstd[c];
  });
}

/// running = (1 − m)·running + m·batch, for the mean and the (unbiased) variance of C channels.
template <class T>
void batch_norm2d_update_running(cpu, index_t C, T m, const T* batch_mean, const T* batch_var,
                                 T* mean, T* var) {
  for (index_t c = 0; c < C; ++c) {
    mean[c] = (T(1) - m) * mean[c] + m * batch_mean[c];
    var[c] = (T(1) - m) * var[c] + m * batch_var[c];
  }
}

}  // namespace stco::nn
