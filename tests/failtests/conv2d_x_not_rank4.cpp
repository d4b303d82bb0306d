// conv2d over a rank-2 X is refused at compile time, with one clear message.
#include "stco/stco.hpp"
int main() {
  const auto W = stco::prune<stco::nm<2, 4>>(stco::tensor<float, 2>(stco::dextents<2>(4, 18)));
#ifdef STCO_FAILTEST_OK
  const stco::tensor<float, 4> X(stco::dextents<4>(1, 5, 5, 2));
#else
  const stco::tensor<float, 2> X(stco::dextents<2>(25, 2));
#endif
  const auto Y = stco::evaluate(stco::conv2d(W, X, stco::conv{}.pad(1)));
  return static_cast<int>(Y[0]);
}
