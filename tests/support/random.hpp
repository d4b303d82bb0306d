// Test support: one logged seed per run, random matrices of every value type.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <random>

#include "stco/core.hpp"

namespace stco_test {

/// The run's seed: STCO_TEST_SEED if set, else fresh from the OS.
inline std::uint64_t seed() {
  static const std::uint64_t s = [] {
    if (const char* e = std::getenv("STCO_TEST_SEED"))
      return static_cast<std::uint64_t>(std::strtoull(e, nullptr, 10));
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }();
  return s;
}

inline std::mt19937_64& rng() {
  static std::mt19937_64 g(seed());
  return g;
}

/// An R×K matrix of T with entries uniform in [-1, 1] (rounded to T), never exactly zero, so that
/// "kept" and "nonzero" coincide.
template <class T>
stco::tensor<T, 2> random_matrix(stco::index_t rows, stco::index_t cols) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  stco::tensor<T, 2> t(stco::dextents<2>(rows, cols));
  for (auto& x : t) {
    double d;
    do d = u(rng());
    while (stco::to_double(stco::from_double<T>(d)) == 0.0);
    x = stco::from_double<T>(d);
  }
  return t;
}

}  // namespace stco_test
