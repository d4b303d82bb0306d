// stco::nn's CUDA backend: Conv2d and Linear per layout family on the device against the CPU
// layers in double on fresh random data — forward (fused bias + ReLU), dx, dW at the kept
// positions only (zeros elsewhere), db — with and without bias and fused ReLU.
#include "nn_support.hpp"

namespace {
using namespace nn_gpu_test;

template <class L>
void conv_cases(double sparsity) {
  for (bool bias : {true, false})
    for (bool relu : {true, false}) {
      const auto p = stco::conv{}.kernel(3).pad(1);
      nn::Conv2d<float, L, D> dev(16, 32, p, bias, 7);
      nn::Conv2d<double, L, nn::cpu> host(16, 32, p, bias, 7);
      compare_affine(dev, host, {3, 7, 6, 16}, sparsity, relu);
    }
  const auto p2 = stco::conv{}.kernel(3).stride(2).pad(1);
  nn::Conv2d<float, L, D> dev(8, 32, p2, true, 3);
  nn::Conv2d<double, L, nn::cpu> host(8, 32, p2, true, 3);
  compare_affine(dev, host, {2, 9, 9, 8}, sparsity, true);
}

template <class L>
void linear_cases(double sparsity) {
  for (bool bias : {true, false})
    for (bool relu : {true, false}) {
      nn::Linear<float, L, D> dev(72, 40, bias, 5);
      nn::Linear<double, L, nn::cpu> host(72, 40, bias, 5);
      compare_affine(dev, host, {5, 3, 3, 8}, sparsity, relu);  // a 4-D input, flattened
    }
}

}  // namespace

TEST_CASE("nn cuda: Conv2d per layout against the CPU layer in double") {
  conv_cases<stco::dense>(0.0);
  conv_cases<stco::nm<2, 4>>(0.5);
  conv_cases<stco::tile_wise<8>>(0.75);
  conv_cases<stco::block<4, 4>>(0.5);
}

TEST_CASE("nn cuda: Linear per layout against the CPU layer in double") {
  linear_cases<stco::dense>(0.0);
  linear_cases<stco::nm<2, 4>>(0.5);
  linear_cases<stco::tile_wise<8>>(0.75);
  linear_cases<stco::tile_vector<8, 2, 4>>(0.5);
  linear_cases<stco::csr>(0.7);
}
