// matmul of a weight with a rank-4 X is refused at compile time, with one clear message.
#include "stco/stco.hpp"
int main() {
  const auto W = stco::prune<stco::nm<2, 4>>(stco::tensor<float, 2>(stco::dextents<2>(4, 8)));
#ifdef STCO_FAILTEST_OK
  const stco::tensor<float, 2> X(stco::dextents<2>(8, 3));
#else
  const stco::tensor<float, 4> X(stco::dextents<4>(1, 2, 4, 3));
#endif
  const auto Y = stco::evaluate(stco::matmul(W, X));
  return static_cast<int>(Y[0]);
}
