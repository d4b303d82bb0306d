// The layouts and shapes every layout test runs over.
#pragma once

#include <algorithm>
#include <type_traits>
#include <vector>

#include "stco/layouts.hpp"

namespace stco_test {

template <class L, class T>
struct lt {
  using layout = L;
  using value = T;
};

// Shapes include ragged ones (K not a multiple of M or BC, R not a multiple of T or BR), K < M,
// and empty extents.
inline const std::vector<stco::matrix_shape>& shapes() {
  static const std::vector<stco::matrix_shape> s{{1, 1}, {7, 13}, {33, 70},  {64, 64}, {5, 3},
                                                 {0, 7}, {3, 0},  {40, 130}, {17, 33}};
  return s;
}

/// The sparsities a layout accepts among a spread of interesting ones.
template <class L>
std::vector<double> sparsities() {
  std::vector<double> out;
  for (double s : {L::min_sparsity, 0.25, 0.5, 0.75, 0.875, L::max_sparsity, L::default_sparsity})
    if (s >= L::min_sparsity && s <= L::max_sparsity &&
        std::find(out.begin(), out.end(), s) == out.end())
      out.push_back(s);
  return out;
}

template <class L>
struct is_tile_vector : std::false_type {};
template <int T, int N, int M>
struct is_tile_vector<stco::tile_vector<T, N, M>> : std::true_type {};

}  // namespace stco_test

// N:M at 1:2, 2:4, 1:4, 2:8, 4:8, 1:8, plus odd M and the widest M.
#define STCO_TEST_NM_LAYOUTS                                                                      \
  stco::nm<1, 2>, stco::nm<2, 4>, stco::nm<1, 4>, stco::nm<2, 8>, stco::nm<4, 8>, stco::nm<1, 8>, \
      stco::nm<2, 3>, stco::nm<5, 16>
#define STCO_TEST_OTHER_LAYOUTS                                                               \
  stco::dense, stco::block<4, 4>, stco::block<2, 8>, stco::tile_wise<4>, stco::tile_wise<16>, \
      stco::tile_vector<4, 2, 4>, stco::tile_vector<8, 1, 8>, stco::tile_vector<3, 2, 3>,     \
      stco::channel, stco::csr
