// eval into an output of another value type is refused at compile time (no silent conversion).
#include "stco/stco.hpp"
int main() {
  const auto W = stco::prune<stco::nm<2, 4>>(stco::tensor<float, 2>(stco::dextents<2>(4, 8)));
  const stco::tensor<float, 2> X(stco::dextents<2>(8, 3));
#ifdef STCO_FAILTEST_OK
  stco::tensor<float, 2> Y(stco::dextents<2>(4, 3));
#else
  stco::tensor<double, 2> Y(stco::dextents<2>(4, 3));
#endif
  stco::eval(Y, stco::matmul(W, X));
  return static_cast<int>(Y[0]);
}
