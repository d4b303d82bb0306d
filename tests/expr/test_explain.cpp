// stco::explain on host expressions: each layout's forward, dX and dW lines name the kernel its
// layout_kernel specialization provides (a table written here, independently of the kernels'
// own names), with the compute type and the thread count.
#include <doctest/doctest.h>

#include <string>

#include "../support/random.hpp"
#include "stco/stco.hpp"

namespace {

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

template <class L>
void check_lines(double sparsity, const char* fwd, const char* dx, const char* dw) {
  const auto W = stco::prune<L>(stco_test::random_matrix<float>(32, 48), sparsity);
  const auto X = stco_test::random_matrix<float>(48, 20);
  const auto e = stco::explain(stco::relu(stco::matmul(W, X)));
  INFO(e);
  const std::string at = ": cpu/" + L::name() + ": ";
  CHECK(has(e.forward, "matmul forward" + at + fwd));
  CHECK(has(e.grad_x, "matmul dX" + at + dx));
  CHECK(has(e.grad_w, "matmul dW" + at + dw));
  CHECK(has(e.forward, "(float, "));
}

}  // namespace

TEST_CASE("explain names each layout's CPU kernels") {
  check_lines<stco::tile_wise<16>>(0.5, "tile_wise: each tile a dense GEMM",
                                   "tile_wise: the tiles'", "tile_wise: register dot tiles");
  check_lines<stco::block<4, 4>>(0.5, "block: one register tile per block",
                                 "block: blocks scattered transposed", "block: register dot tiles");
  check_lines<stco::nm<2, 4>>(0.5, "nm: offsets decoded in registers", "generic: the cached column",
                              "nm: offsets decoded in registers");
  check_lines<stco::tile_vector<4, 2, 4>>(0.5, "tile_vector: tile lists plus N:M offsets",
                                          "generic: the cached column", "generic: one dot product");
  check_lines<stco::channel>(0.5, "channel: kept rows", "channel: kept rows read transposed",
                             "channel: register dot tiles");
  check_lines<stco::dense>(0.0, "dense: shared-row register tile", "dense: rows read transposed",
                           "dense: register dot tiles");
  check_lines<stco::csr>(0.7, "generic: each row's slot list", "generic: the cached column",
                         "generic: one dot product");
}

TEST_CASE("explain: conv2d, the compute type of 16-bit values, and the thread count") {
  const int threads = stco::num_threads();
  stco::set_num_threads(2);
  const auto W = stco::prune<stco::tile_wise<8>>(stco_test::random_matrix<stco::half>(16, 72), 0.5);
  stco::tensor<stco::half, 4> X(stco::dextents<4>(1, 6, 6, 8));
  const auto e = stco::explain(stco::conv2d(W, X, stco::conv{}.kernel(3).pad(1)));
  INFO(e);
  CHECK(has(e.forward, "conv2d forward: cpu/tile_wise<8>: tile_wise:"));
  CHECK(has(e.forward, "(float, "));  // half accumulates in float
  CHECK(has(e.forward, "the implicit im2col"));
  CHECK(has(e.grad_w, ", 2 threads)"));
  stco::set_num_threads(threads);
}
