// An epilogue chain holds one activation: relu(gelu(W·X)) is refused at compile time.
#include "stco/stco.hpp"
int main() {
  const auto W = stco::prune<stco::nm<2, 4>>(stco::tensor<float, 2>(stco::dextents<2>(4, 8)));
  const stco::tensor<float, 2> X(stco::dextents<2>(8, 3));
  stco::tensor<float, 2> Y(stco::dextents<2>(4, 3));
#ifdef STCO_FAILTEST_OK
  Y = stco::relu(stco::matmul(W, X) * 0.5);
#else
  Y = stco::relu(stco::gelu(stco::matmul(W, X)) * 0.5);
#endif
  return static_cast<int>(Y[0]);
}
