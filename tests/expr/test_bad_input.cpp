// Bad input to expressions, eval and grad: each throws the right stco::error subclass, its message
// names the operation and the shapes (or the offending parameter), and the output — filled with a
// sentinel beforehand — is left untouched.
#include <doctest/doctest.h>

#include <initializer_list>
#include <string>

#include "../support/expect_error.hpp"
#include "../support/reference_epilogue.hpp"
#include "conv_support.hpp"
#include "stco/stco.hpp"

namespace {

using namespace stco_test;
using stco::index_t;

constexpr float sentinel = 12345.0f;

template <class T>
T filled(T t) {
  t.fill(sentinel);
  return t;
}
template <class T>
bool untouched(const T& t) {
  for (index_t i = 0; i < t.size(); ++i)
    if (!(t[i] == sentinel)) return false;
  return true;
}

/// "[a, b, c, d]", as the library prints a shape.
std::string shape_text(const stco::dextents<4>& e) {
  return stco::detail::message("[", e.extent(0), ", ", e.extent(1), ", ", e.extent(2), ", ",
                               e.extent(3), "]");
}

struct matmul_operands {
  stco::sparse_matrix<float, stco::nm<2, 4>> W =
      stco::prune<stco::nm<2, 4>>(random_matrix<float>(8, 12));
  stco::tensor<float, 2> X = random_matrix<float>(12, 5);
  stco::tensor<float, 1> b = random_vector<float>(8);
  stco::tensor<float, 2> Rt = random_matrix<float>(8, 5);
  stco::tensor<float, 2> dY = random_matrix<float>(8, 5);
  stco::tensor<float, 2> Y = filled(stco::tensor<float, 2>(stco::dextents<2>(8, 5)));
};

}  // namespace

TEST_CASE("matmul: mismatched shapes throw shape_error naming the shapes") {
  matmul_operands m;
  const auto X_bad = random_matrix<float>(10, 5);
  expect_error<stco::shape_error>([&] { m.Y = stco::matmul(m.W, X_bad); },
                                  {"stco::matmul", "[8, 12]", "[10, 5]"});
  CHECK(untouched(m.Y));

  const auto b7 = random_vector<float>(7);
  expect_error<stco::shape_error>([&] { m.Y = stco::matmul(m.W, m.X) + stco::bias(b7); },
                                  {"stco::bias", "7 values", "8 output channels"});
  CHECK(untouched(m.Y));

  const auto R_bad = random_matrix<float>(8, 4);
  expect_error<stco::shape_error>(
      [&] { m.Y = stco::relu(stco::matmul(m.W, m.X)) + stco::residual(R_bad); },
      {"stco::residual", "32 values", "output of 40"});
  CHECK(untouched(m.Y));
}

TEST_CASE("eval: an output of the wrong shape throws and is left untouched") {
  matmul_operands m;
  for (auto ext : {stco::dextents<2>(8, 6), stco::dextents<2>(5, 8), stco::dextents<2>(0, 0)}) {
    auto Y = filled(stco::tensor<float, 2>(ext));
    const std::string have = stco::detail::message(Y.shape());
    expect_error<stco::shape_error>(
        [&] { stco::eval(Y, stco::relu(stco::matmul(m.W, m.X) + stco::bias(m.b))); },
        {"stco::matmul", have.c_str(), "[8, 5]"});
    CHECK(untouched(Y));
  }
  // An output that overlaps an operand is refused before anything is written.
  auto X_copy = m.X;
  const auto before = to_doubles(X_copy);
  stco::matrix_view<float> aliased(X_copy.data(), stco::dextents<2>(8, 5));
  expect_error<stco::argument_error>([&] { stco::eval(aliased, stco::matmul(m.W, X_copy)); },
                                     {"stco::matmul", "overlaps"});
  CHECK(to_doubles(X_copy) == before);
}

TEST_CASE("grad: dY shape, stash size and non-operands") {
  matmul_operands m;
  const auto e = stco::relu(stco::matmul(m.W, m.X) + stco::bias(m.b));

  const auto dY_bad = random_matrix<float>(8, 4);
  expect_error<stco::shape_error>([&] { static_cast<void>(stco::grad(e, dY_bad)); },
                                  {"stco::grad", "[8, 4]", "[8, 5]"});

  // A stash from another expression (other N), and one never filled.
  const auto X3 = random_matrix<float>(12, 3);
  stco::activation_stash<float> other, empty;
  stco::tensor<float, 2> Y3(stco::dextents<2>(8, 3));
  stco::eval(Y3, stco::relu(stco::matmul(m.W, X3)), other);
  expect_error<stco::shape_error>([&] { static_cast<void>(stco::grad(e, m.dY, other)); },
                                  {"stco::grad", "stash holds 24", "output has 40"});
  expect_error<stco::shape_error>([&] { static_cast<void>(stco::grad(e, m.dY, empty)); },
                                  {"stco::grad", "stash holds 0", "output has 40"});

  stco::activation_stash<float> stash;
  stco::eval(m.Y, e, stash);
  const auto g = stco::grad(e, m.dY, stash);

  // wrt() of tensors that are not the expression's operands, even of the right shape.
  const auto X_other = m.X;
  auto dX = filled(stco::tensor<float, 2>(stco::dextents<2>(12, 5)));
  expect_error<stco::argument_error>([&] { g.wrt_into(X_other.view(), dX.view()); },
                                     {"stco::grad", "X is not the expression's input"});
  CHECK(untouched(dX));
  const auto b_other = m.b;
  auto db = filled(stco::tensor<float, 1>{stco::dextents<1>(8)});
  expect_error<stco::argument_error>([&] { g.wrt_into(b_other.view(), db.view()); },
                                     {"stco::grad", "b is not the expression's bias"});
  CHECK(untouched(db));
  const auto W_copy = m.W;  // same entity, another object
  auto dW = W_copy.zeros_like();
  std::fill(dW.values(), dW.values() + dW.value_count(), sentinel);
  expect_error<stco::argument_error>([&] { g.wrt_into(W_copy, dW); },
                                     {"stco::grad", "W is not the expression's weight"});
  expect_error<stco::argument_error>([&] { static_cast<void>(g.wrt(W_copy)); },
                                     {"stco::grad", "W is not the expression's weight"});
  // dW over another entity (same layout and shape).
  auto dW_other = stco::prune<stco::nm<2, 4>>(random_matrix<float>(8, 12)).zeros_like();
  std::fill(dW_other.values(), dW_other.values() + dW_other.value_count(), sentinel);
  expect_error<stco::argument_error>([&] { g.wrt_into(m.W, dW_other); },
                                     {"stco::grad", "does not share W's index entity"});
  bool same = true;
  for (index_t i = 0; i < dW_other.value_count(); ++i)
    same = same && dW_other.values()[i] == sentinel;
  CHECK(same);
  same = true;
  for (index_t i = 0; i < dW.value_count(); ++i) same = same && dW.values()[i] == sentinel;
  CHECK(same);

  // An output of the wrong shape for dX.
  auto dX_bad = filled(stco::tensor<float, 2>(stco::dextents<2>(12, 4)));
  expect_error<stco::shape_error>([&] { g.wrt_into(m.X.view(), dX_bad.view()); },
                                  {"stco::grad", "wrt_into(X, out)", "[12, 4]", "X [12, 5]"});
  CHECK(untouched(dX_bad));

  // wrt(b) of an expression without a bias.
  const auto plain = stco::matmul(m.W, m.X);
  const auto gp = stco::grad(plain, m.dY);
  expect_error<stco::argument_error>([&] { static_cast<void>(gp.wrt(m.b)); },
                                     {"stco::grad", "b is not the expression's bias"});
}

namespace {

/// X [2, 6, 6, 6] (NHWC) and outputs for conv2d.
struct conv_operands {
  stco::tensor<float, 4> X = random_tensor4<float>(2, 6, 6, 6);
  stco::tensor<float, 4> Y = filled(stco::tensor<float, 4>(stco::dextents<4>(2, 6, 6, 8)));
  static stco::sparse_matrix<float, stco::dense> weight(index_t rows, index_t cols) {
    return stco::prune<stco::dense>(random_matrix<float>(rows, cols), 0.0);
  }
};

}  // namespace

TEST_CASE("conv2d: wrong parameters throw naming the shapes and the parameter") {
  conv_operands c;
  const char* x = "X [2, 6, 6, 6]";
  const auto W54 = c.weight(8, 54);  // 3x3 over 6 channels
  auto run = [&](const auto& W, const stco::conv& p) { c.Y = stco::conv2d(W, c.X, p); };

  {  // groups that do not divide Cin, or Cout
    const auto W = c.weight(8, 18);
    expect_error<stco::shape_error>([&] { run(W, stco::conv{}.pad(1).group(4)); },
                                    {"stco::conv2d", x, "W [8, 18]", "Cin = 6", "groups = 4"});
    expect_error<stco::shape_error>([&] { run(W, stco::conv{}.pad(1).group(3)); },
                                    {"stco::conv2d", x, "W [8, 18]", "Cout = 8", "groups = 3"});
  }
  expect_error<stco::argument_error>([&] { run(W54, stco::conv{}.group(0)); },
                                     {"stco::conv2d", x, "W [8, 54]", "groups 0"});
  expect_error<stco::argument_error>([&] { run(W54, stco::conv{}.stride(0, 1)); },
                                     {"stco::conv2d", x, "W [8, 54]", "stride 0x1"});
  expect_error<stco::argument_error>([&] { run(W54, stco::conv{}.stride(1, -2)); },
                                     {"stco::conv2d", x, "W [8, 54]", "stride 1x-2"});
  {
    stco::conv p;
    p.dilation_w = 0;
    expect_error<stco::argument_error>([&] { run(W54, p); },
                                       {"stco::conv2d", x, "W [8, 54]", "dilation 1x0"});
  }
  expect_error<stco::argument_error>([&] { run(W54, stco::conv{}.pad(-1, 0)); },
                                     {"stco::conv2d", x, "W [8, 54]", "pad -1x0"});
  // A kernel that does not fit the padded input: 3x3 at dilation 4 spans 9 > 6 + 2·1; and one
  // that misses by a single row, where a truncating division would still give one output row.
  expect_error<stco::shape_error>([&] { run(W54, stco::conv{}.pad(1).dilation(4)); },
                                  {"stco::conv2d", x, "W [8, 54]", "9x9", "8x8"});
  expect_error<stco::shape_error>([&] { run(W54, stco::conv{}.stride(2).dilation(3)); },
                                  {"stco::conv2d", x, "W [8, 54]", "7x7", "6x6"});
  // K that is not a multiple of Cin/groups.
  expect_error<stco::shape_error>([&] { run(c.weight(8, 50), stco::conv{}); },
                                  {"stco::conv2d", x, "W [8, 50]", "K = 50", "Cin/groups = 6"});
  expect_error<stco::shape_error>([&] { run(c.weight(8, 50), stco::conv{}.group(2)); },
                                  {"stco::conv2d", x, "W [8, 50]", "K = 50", "Cin/groups = 3"});
  // A non-square tap count needs the kernel extents; wrong extents are named.
  expect_error<stco::shape_error>([&] { run(c.weight(8, 36), stco::conv{}.pad(1)); },
                                  {"stco::conv2d", x, "W [8, 36]", "6 taps"});
  expect_error<stco::shape_error>([&] { run(c.weight(8, 36), stco::conv{}.kernel(3).pad(1)); },
                                  {"stco::conv2d", x, "W [8, 36]", "K = 36", "kernel 3x3"});
  CHECK(untouched(c.Y));
  // The same weights with valid parameters evaluate (the errors above came from the parameters).
  const auto W36 = c.weight(8, 36);
  stco::tensor<float, 4> Y23(stco::dextents<4>(2, 5, 4, 8));
  Y23 = stco::conv2d(W36, c.X, stco::conv{}.kernel(2, 3));
  c.Y = stco::conv2d(W54, c.X, stco::conv{}.pad(1));
  CHECK(!untouched(c.Y));
}

TEST_CASE("conv2d: output, residual and dY of the wrong shape") {
  conv_operands c;
  const auto W = c.weight(8, 54);
  const auto b = random_vector<float>(8);
  const auto e = stco::relu(stco::conv2d(W, c.X, stco::conv{}.pad(1)) + stco::bias(b));
  for (auto ext : {stco::dextents<4>(2, 6, 6, 7), stco::dextents<4>(1, 6, 6, 8),
                   stco::dextents<4>(2, 4, 4, 8)}) {
    auto Y = filled(stco::tensor<float, 4>(ext));
    const std::string have = shape_text(ext);
    expect_error<stco::shape_error>([&] { stco::eval(Y, e); },
                                    {"stco::conv2d", have.c_str(), "[2, 6, 6, 8]"});
    CHECK(untouched(Y));
  }
  const auto R_bad = random_tensor4<float>(2, 6, 6, 4);
  expect_error<stco::shape_error>([&] { c.Y = e + stco::residual(R_bad); },
                                  {"stco::residual", "288 values", "output of 576"});
  const auto b6 = random_vector<float>(6);
  expect_error<stco::shape_error>(
      [&] { c.Y = stco::conv2d(W, c.X, stco::conv{}.pad(1)) + stco::bias(b6); },
      {"stco::bias", "6 values", "8 output channels"});
  CHECK(untouched(c.Y));
  const auto dY_bad = random_tensor4<float>(2, 3, 3, 8);
  expect_error<stco::shape_error>([&] { static_cast<void>(stco::grad(e, dY_bad)); },
                                  {"stco::grad", "[2, 3, 3, 8]", "[2, 6, 6, 8]"});
}
