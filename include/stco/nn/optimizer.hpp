// stco/nn/optimizer.hpp — the optimizer a model steps with: one of stco::optim's, held by value.
//
// Layers hold weights of many types (each layout, dense biases), and stco::optim's optimizers take
// each parameter by its own type; a closed variant lets every layer call the right step without a
// virtual member template. The optimizer keeps its state per parameter object (sharing a sparse
// weight's index entity), so a model's parameters must not move while it trains.
#pragma once

#include <variant>

#include "stco/optim.hpp"

namespace stco::nn {

using optimizer = std::variant<optim::sgd, optim::adam, optim::adamw>;

/// The optimizer's current learning rate (any backend's optimizer variant).
template <class... O>
float learning_rate(const std::variant<O...>& opt) {
  return std::visit([](const auto& o) { return o.lr; }, opt);
}
/// Sets the learning rate (for a schedule); checked at the next step.
template <class... O>
void set_learning_rate(std::variant<O...>& opt, float lr) {
  std::visit([lr](auto& o) { o.lr = lr; }, opt);
}

}  // namespace stco::nn
