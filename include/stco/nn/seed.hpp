// stco/nn/seed.hpp — how a model's seed becomes each layer's: layer i of a Sequential built with
// model seed s draws its initial weights from layer_seed(s, i), the (i + 1)-th output of a
// splitmix64 stream started at s. Layers of the same shape therefore start different, and the same
// model seed rebuilds the same net.
#pragma once

#include <cstddef>
#include <cstdint>

namespace stco::nn {

/// The model seed of a Sequential built without one, and the seed source of a layer built alone
/// without one (which takes layer_seed(default_model_seed, 0)).
inline constexpr std::uint64_t default_model_seed = 1;

/// Seed of layer `index` of a model seeded with `model_seed` (splitmix64, Steele et al. 2014).
constexpr std::uint64_t layer_seed(std::uint64_t model_seed, std::size_t index) noexcept {
  std::uint64_t z = model_seed + 0x9E3779B97F4A7C15ull * (static_cast<std::uint64_t>(index) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace stco::nn
