// Bad input on the device: mismatched shapes, operands in host memory, foreign weights and
// gradients, stale stashes, failing CUDA calls. Each throws a stco::error subclass whose message
// names the operation and the shapes, and leaves its outputs untouched.
#include <memory>

#include "gpu_support.hpp"

namespace {
using namespace stco_gpu_test;

/// Y filled with 7s, for checking that a failed evaluation leaves it alone.
sc::device_tensor<float, 2> sevens(index_t r, index_t c) {
  stco::tensor<float, 2> h(stco::dextents<2>(r, c));
  h.fill(7.0f);
  return upload(h);
}
bool all_sevens(const sc::device_tensor<float, 2>& y) {
  for (float v : y.to_host(test_stream()))
    if (v != 7.0f) return false;
  return true;
}
}  // namespace

TEST_CASE("device expressions refuse mismatched shapes with the shapes in the message") {
  const auto s = test_stream();
  const auto Wd = sc::device_sparse_matrix<float, stco::nm<2, 4>>::from_host(
      stco::prune<stco::nm<2, 4>>(random_matrix<float>(16, 24)), s);
  const auto Xbad = upload(random_matrix<float>(20, 8));
  CHECK_THROWS_WITH_AS(stco::matmul(Wd, Xbad), doctest::Contains("[16, 24] times X [20, 8]"),
                       stco::shape_error);
  const auto X = upload(random_matrix<float>(24, 8));
  auto Y = sevens(16, 9);
  CHECK_THROWS_WITH_AS(stco::eval(Y, stco::matmul(Wd, X), s),
                       doctest::Contains("output [16, 9] does not match the expression's shape "
                                         "[16, 8]"),
                       stco::shape_error);
  CHECK(all_sevens(Y));
  const auto b = upload(random_vector<float>(15));
  CHECK_THROWS_WITH_AS(stco::matmul(Wd, X) + stco::bias(b),
                       doctest::Contains("15 values for 16 output channels"), stco::shape_error);
  const auto Xc = upload(random_nhwc<float>(1, 5, 5, 5));
  CHECK_THROWS_WITH_AS(stco::conv2d(Wd, Xc, stco::conv{}.kernel(3)),
                       doctest::Contains("K = 24 is not a multiple of Cin/groups = 5"),
                       stco::shape_error);
}

TEST_CASE("host memory in a device expression is refused; the output is untouched") {
  const auto s = test_stream();
  const auto Wd = sc::device_sparse_matrix<float, stco::csr>::from_host(
      stco::prune<stco::csr>(random_matrix<float>(12, 10), 0.5), s);
  const auto X = upload(random_matrix<float>(10, 6));
  const auto bh = random_vector<float>(12);  // a host bias
  auto Y = sevens(12, 6);
  CHECK_THROWS_WITH_AS(stco::eval(Y, stco::relu(stco::matmul(Wd, X) + stco::bias(bh)), s),
                       doctest::Contains("the bias is not device memory"), stco::argument_error);
  CHECK(all_sevens(Y));
  // The output may not alias an operand.
  auto Xsq = upload(random_matrix<float>(10, 10));
  const auto Wsq = sc::device_sparse_matrix<float, stco::dense>::from_host(
      stco::prune<stco::dense>(random_matrix<float>(10, 10)), s);
  CHECK_THROWS_WITH_AS(stco::eval(Xsq, stco::matmul(Wsq, Xsq), s),
                       doctest::Contains("overlaps an operand"), stco::argument_error);
}

TEST_CASE("device gradients refuse foreign operands and stale stashes") {
  const auto s = test_stream();
  const auto W = stco::prune<stco::tile_wise<4>>(random_matrix<float>(12, 16), 0.5);
  const auto Wd = sc::device_sparse_matrix<float, stco::tile_wise<4>>::from_host(W, s);
  const auto Vd = sc::device_sparse_matrix<float, stco::tile_wise<4>>::from_host(
      stco::prune<stco::tile_wise<4>>(random_matrix<float>(12, 16), 0.5), s);
  const auto X = upload(random_matrix<float>(16, 5));
  const auto X2 = upload(random_matrix<float>(16, 5));
  const auto b = upload(random_vector<float>(12));
  const auto dY = upload(random_matrix<float>(12, 5));
  const auto e = stco::relu(stco::matmul(Wd, X) + stco::bias(b));
  sc::activation_stash<float> stash;
  CHECK_THROWS_WITH_AS(stco::grad(e, dY, stash, s), doctest::Contains("the stash holds 0"),
                       stco::shape_error);
  sc::device_tensor<float, 2> Y(stco::dextents<2>(12, 5), s);
  stco::eval(Y, e, stash, s);
  const auto g = stco::grad(e, dY, stash, s);
  CHECK_THROWS_WITH_AS(g.wrt(Vd), doctest::Contains("not the expression's weight"),
                       stco::argument_error);
  CHECK_THROWS_WITH_AS(g.wrt(X2), doctest::Contains("not the expression's input"),
                       stco::argument_error);
  auto foreign = Vd.zeros_like(s);
  CHECK_THROWS_WITH_AS(g.wrt_into(Wd, foreign), doctest::Contains("does not share W's device"),
                       stco::argument_error);
  const auto dYbad = upload(random_matrix<float>(12, 6));
  CHECK_THROWS_WITH_AS(stco::grad(e, dYbad, stash, s),
                       doctest::Contains("dY [12, 6] does not match the expression's output "
                                         "[12, 5]"),
                       stco::shape_error);
  // A host matrix over another entity cannot receive these values.
  auto other = stco::prune<stco::tile_wise<4>>(random_matrix<float>(12, 16), 0.5);
  CHECK_THROWS_WITH_AS(Wd.copy_to_host(other, s), doctest::Contains("not over this matrix's"),
                       stco::shape_error);
}

TEST_CASE("failing CUDA calls throw cuda_error naming the call; 64-bit indices are refused") {
  const auto s = test_stream();
  using huge = sc::device_tensor<float, 2>;
  const auto too_big = stco::dextents<2>(index_t{1} << 25, index_t{1} << 25);  // 4 PiB
  CHECK_THROWS_WITH_AS(huge(too_big, s), doctest::Contains("cudaMallocAsync"), stco::cuda_error);
  using csr_matrix = sc::device_sparse_matrix<float, stco::csr>;
  CHECK_THROWS_AS(csr_matrix(nullptr, s), stco::argument_error);
}

TEST_CASE("device gradients check operand and output extents, not only addresses") {
  const auto s = test_stream();
  const auto W = stco::prune<stco::nm<2, 4>>(random_matrix<float>(8, 16));
  const auto Wd = sc::device_sparse_matrix<float, stco::nm<2, 4>>::from_host(W, s);
  const auto b = upload(random_vector<float>(8));
  const auto dY = upload(random_matrix<float>(8, 4));
  auto X = std::make_unique<sc::device_tensor<float, 2>>(upload(random_matrix<float>(16, 4)));
  const auto e = stco::relu(stco::matmul(Wd, *X) + stco::bias(b));
  using G = decltype(stco::grad(e, dY, s));
  static_assert(!std::is_copy_constructible_v<G> && std::is_move_constructible_v<G>,
                "a device gradient owns device memory: move-only");

  // Outputs of the operand's size but not its extents are refused, and left alone.
  const auto g = stco::grad(e, dY, s);
  auto dX_t = sevens(4, 16);
  CHECK_THROWS_WITH_AS(g.wrt_into(*X, dX_t),
                       doctest::Contains("wrt_into(X, out): out [4, 16] does not match X [16, 4]"),
                       stco::shape_error);
  CHECK(all_sevens(dX_t));
  sc::device_tensor<float, 1> db7(stco::dextents<1>(7), s);
  CHECK_THROWS_WITH_AS(g.wrt_into(b, db7), doctest::Contains("out [7] does not match b [8]"),
                       stco::shape_error);
  // A copy of the weight is refused, saying the weight is identified by address.
  CHECK_THROWS_WITH_AS(g.wrt(sc::device_sparse_matrix<float, stco::nm<2, 4>>::from_host(W, s)),
                       doctest::Contains("identified by address"), stco::argument_error);

  // A moved gradient (which recomputed z itself) gives the stash-based gradient's values.
  sc::activation_stash<float> stash;
  sc::device_tensor<float, 2> Y(stco::dextents<2>(8, 4), s);
  stco::eval(Y, e, stash, s);
  const auto with_stash = stco::grad(e, dY, stash, s);
  auto first = stco::grad(e, dY, s);
  const G moved = std::move(first);
  CHECK(max_rel_error(to_doubles(moved.wrt(*X).to_host(s)),
                      to_doubles(with_stash.wrt(*X).to_host(s))) <= gpu_tolerance<float>(8));
  CHECK(max_rel_error(to_doubles(moved.wrt(b).to_host(s)),
                      to_doubles(with_stash.wrt(b).to_host(s))) <= gpu_tolerance<float>(4));

  // A tensor of X's size under another shape, which the stream-ordered pool places at X's freed
  // address, is not X (where the pool places it elsewhere there is nothing to confuse).
  const void* x_address = X->data();
  X.reset();
  sc::device_tensor<float, 2> X1(stco::dextents<2>(4, 16), s);
  if (X1.data() == x_address) {
    auto out = sevens(4, 16);
    CHECK_THROWS_WITH_AS(g.wrt_into(X1, out),
                         doctest::Contains("a tensor [4, 16] at its address, X is [16, 4]"),
                         stco::argument_error);
    CHECK(all_sevens(out));
  } else {
    MESSAGE("the pool did not reuse X's address; the aliasing case was not exercised");
  }
}
