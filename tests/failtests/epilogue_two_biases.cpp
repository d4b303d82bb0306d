// An epilogue chain holds one bias: W·X + b + c is refused at compile time.
#include "stco/stco.hpp"
int main() {
  const auto W = stco::prune<stco::nm<2, 4>>(stco::tensor<float, 2>(stco::dextents<2>(4, 8)));
  const stco::tensor<float, 2> X(stco::dextents<2>(8, 3));
  const stco::tensor<float, 1> b{stco::dextents<1>(4)}, c{stco::dextents<1>(4)};
  stco::tensor<float, 2> Y(stco::dextents<2>(4, 3));
#ifdef STCO_FAILTEST_OK
  Y = stco::relu(stco::matmul(W, X) + stco::bias(b));
  static_cast<void>(c);
#else
  Y = stco::relu(stco::matmul(W, X) + stco::bias(b)) + stco::bias(c);
#endif
  return static_cast<int>(Y[0]);
}
