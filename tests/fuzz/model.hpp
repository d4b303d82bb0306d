// The small model fuzz_model_load loads into, and whose saved file seeds its corpus.
#pragma once

#include "stco/nn.hpp"

namespace stco_fuzz {

/// Input [n, 4, 4, 2] (NHWC) -> conv 3x3 pad 1, nm<2,4> -> batch norm + ReLU -> flatten (64)
/// -> linear tile_vector<4,2,4> (64 -> 8) -> linear CSR (8 -> 3, no bias). Weights pruned, so each
/// sparse layer's entity is its layout's.
inline stco::nn::Sequential<float> small_model() {
  namespace nn = stco::nn;
  nn::Sequential<float> m;
  m.add<nn::Conv2d<float, stco::nm<2, 4>>>(2, 4, stco::conv{}.kernel(3).pad(1), true, 1);
  m.add<nn::BatchNorm2d<float>>(4);
  m.add<nn::ReLU<float>>();
  m.add<nn::Flatten<float>>();
  m.add<nn::Linear<float, stco::tile_vector<4, 2, 4>>>(64, 8, true, 2);
  m.add<nn::Linear<float, stco::csr>>(8, 3, false, 3);
  nn::optimizer opt = stco::optim::sgd(0.1f);
  for (auto& [i, p] : m.prunable_layers()) p->prune(std::max(0.5, p->min_sparsity()), opt);
  return m;
}

}  // namespace stco_fuzz
