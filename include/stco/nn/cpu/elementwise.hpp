// stco/nn/cpu/elementwise.hpp — ReLU and the [rows, cols] ↔ [cols, rows] transpose that Linear uses
// to move between NHWC activations (one row per sample) and the GEMM's [features, batch] operand,
// on the CPU backend.
#pragma once

#include <algorithm>

#include "stco/core/parallel.hpp"
#include "stco/nn/backend.hpp"

namespace stco::nn {

/// y = max(x, 0) over n values.
template <class T>
void relu_forward(cpu, const T* x, index_t n, T* y) {
  parallel_for(ceil_div(n, 4096), [&](index_t b) {
    for (index_t i = b * 4096; i < std::min(n, b * 4096 + 4096); ++i)
      y[i] = x[i] > T(0) ? x[i] : T(0);
  });
}

/// dx = dy where the output y is positive, else 0.
template <class T>
void relu_backward(cpu, const T* y, const T* dy, index_t n, T* dx) {
  parallel_for(ceil_div(n, 4096), [&](index_t b) {
    for (index_t i = b * 4096; i < std::min(n, b * 4096 + 4096); ++i)
      dx[i] = y[i] > T(0) ? dy[i] : T(0);
  });
}

/// out[i] = in[i] for n values.
template <class T>
void copy_values(cpu, const T* in, index_t n, T* out) {
  std::copy(in, in + n, out);
}

/// out[c][r] = in[r][c] for an in of rows × cols, in 32×32 blocks.
template <class T>
void transpose(cpu, const T* in, index_t rows, index_t cols, T* out) {
  constexpr index_t B = 32;
  parallel_for(ceil_div(cols, B), [&](index_t cb) {
    const index_t c0 = cb * B, c1 = std::min(cols, c0 + B);
    for (index_t r0 = 0; r0 < rows; r0 += B)
      for (index_t c = c0; c < c1; ++c)
        for (index_t r = r0; r < std::min(rows, r0 + B); ++r) out[c * rows + r] = in[r * cols + c];
  });
}

}  // namespace stco::nn
