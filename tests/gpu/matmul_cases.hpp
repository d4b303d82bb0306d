// The matmul shapes every device layout test runs: ragged (K not a multiple of M, BC or the
// kernels' tiles, R not a multiple of T or BR), tiny, and large enough for several blocks in
// every grid dimension.
#pragma once

#include "gpu_support.hpp"

namespace stco_gpu_test {

template <class L, class T, class Epis>
void check_matmul_shapes(Epis epilogues) {
  CAPTURE(L::name());
  const std::vector<std::array<index_t, 3>> shapes =
      quick() ? std::vector<std::array<index_t, 3>>{{37, 70, 45}, {150, 300, 260}}
              : std::vector<std::array<index_t, 3>>{
                    {8, 16, 16}, {37, 70, 45}, {5, 9, 3}, {96, 256, 200}, {150, 300, 260}};
  for (const auto& s : shapes) {
    CAPTURE(s);
    for (double sp : sparsities<L>()) {
      if (sp >= 1.0 || (quick() && sp != L::default_sparsity)) continue;
      CAPTURE(sp);
      check_matmul<L, T>(s[0], s[1], s[2], sp, epilogues);
    }
  }
}

}  // namespace stco_gpu_test
