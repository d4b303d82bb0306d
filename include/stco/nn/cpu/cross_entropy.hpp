// stco/nn/cpu/cross_entropy.hpp — softmax cross-entropy over a batch of logits on the CPU backend.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "stco/core/parallel.hpp"
#include "stco/nn/backend.hpp"

namespace stco::nn {

/// For `batch` rows of `classes` logits and integer labels: returns the mean over the batch of
/// −log softmax(z)[label] and writes dz = (softmax(z) − onehot(label)) / batch. Each row is shifted
/// by its maximum before exponentiation (log-sum-exp), so large logits do not overflow. Per-row
/// losses are summed in row order (deterministic).
template <class T, class Label>
double softmax_cross_entropy(cpu, const T* z, const Label* labels, index_t batch, index_t classes,
                             T* dz) {
  std::vector<double> row_loss(static_cast<std::size_t>(batch));
  parallel_for(ceil_div(batch, 64), [&](index_t b) {
    for (index_t n = b * 64; n < std::min(batch, b * 64 + 64); ++n) {
      const T* zn = z + n * classes;
      double mx = static_cast<double>(zn[0]);
      for (index_t c = 1; c < classes; ++c) mx = std::max(mx, static_cast<double>(zn[c]));
      double sum = 0;
      for (index_t c = 0; c < classes; ++c) sum += std::exp(static_cast<double>(zn[c]) - mx);
      const double lse = mx + std::log(sum);
      const index_t y = static_cast<index_t>(labels[n]);
      row_loss[n] = lse - static_cast<double>(zn[y]);
      if (dz)
        for (index_t c = 0; c < classes; ++c) {
          const double p = std::exp(static_cast<double>(zn[c]) - lse);
          dz[n * classes + c] =
              static_cast<T>((p - (c == y ? 1.0 : 0.0)) / static_cast<double>(batch));
        }
    }
  });
  double total = 0;
  for (double l : row_loss) total += l;
  return batch ? total / static_cast<double>(batch) : 0.0;
}

}  // namespace stco::nn
