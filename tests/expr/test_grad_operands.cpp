// grad(...).wrt() identifies X and b by data pointer AND extents, and checks wrt_into's output
// extents: a view of part of an operand's memory (or of all of it under another shape) is refused
// before anything is written, for every layout, matmul and conv2d. And a gradient object is a
// value: a copy stays right after the original (which recomputed the activation inputs itself)
// is destroyed and its memory reused.
#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "../layout/layout_list.hpp"
#include "../support/expect_error.hpp"
#include "../support/reference_epilogue.hpp"
#include "conv_support.hpp"
#include "stco/kernel/reference/dense.hpp"
#include "stco/stco.hpp"

namespace {

using namespace stco_test;
using stco::index_t;

constexpr float sentinel = 12345.0f;

/// A sentinel-filled buffer of `size` floats; outputs are views at its start, so a write past an
/// output's extents changes the sentinels after it (caught without a sanitizer).
struct guarded {
  std::vector<float> buf;
  explicit guarded(index_t size) : buf(static_cast<std::size_t>(size), sentinel) {}
  template <class Ext>
  stco::basic_tensor_view<float, Ext> view(const Ext& e) {
    REQUIRE(e.size() <= static_cast<index_t>(buf.size()));
    return stco::basic_tensor_view<float, Ext>(buf.data(), e);
  }
  bool untouched() const {
    for (float v : buf)
      if (!(v == sentinel)) return false;
    return true;
  }
};

/// Views of X's memory other than X [K, N] itself, and of b's memory other than b [R].
template <class G, class XV, class Ext>
void check_aliases(const G& g, const float* x, const Ext& x_ext, const std::vector<Ext>& wrong,
                   const float* b, index_t R) {
  for (const auto& ext : wrong) {
    CAPTURE(ext.array());
    const XV v(x, ext);
    guarded out(x_ext.size() + 64);
    stco_test::expect_error<stco::argument_error>(
        [&] { g.wrt_into(v, out.view(ext)); },
        {"stco::grad", "wrt(X)", "not the expression's input"});
    CHECK(out.untouched());
    stco_test::expect_error<stco::argument_error>(
        [&] { static_cast<void>(g.wrt(v)); },
        {"stco::grad", "wrt(X)", "not the expression's input"});
  }
  for (index_t n : {index_t{1}, R - 1}) {
    CAPTURE(n);
    const stco::tensor_view<const float, 1> v(b, stco::dextents<1>(n));
    guarded out(R + 64);
    stco_test::expect_error<stco::argument_error>(
        [&] { g.wrt_into(v, out.view(stco::dextents<1>(n))); },
        {"stco::grad", "wrt(b)", "not the expression's bias"});
    CHECK(out.untouched());
    stco_test::expect_error<stco::argument_error>(
        [&] { static_cast<void>(g.wrt(v)); },
        {"stco::grad", "wrt(b)", "not the expression's bias"});
  }
}

/// The right operand with an output of its size but other extents, or of a smaller size.
template <class G, class Ext>
void check_outputs(const G& g, const stco::basic_tensor_view<const float, Ext>& x,
                   const std::vector<Ext>& wrong, const stco::tensor_view<const float, 1>& b) {
  for (const auto& ext : wrong) {
    CAPTURE(ext.array());
    guarded out(x.size() + 64);
    stco_test::expect_error<stco::shape_error>(
        [&] { g.wrt_into(x, out.view(ext)); },
        {"stco::grad", "wrt_into(X, out)", "does not match X"});
    CHECK(out.untouched());
  }
  guarded out(b.size() + 64);
  stco_test::expect_error<stco::shape_error>(
      [&] { g.wrt_into(b, out.view(stco::dextents<1>(b.size() - 1))); },
      {"stco::grad", "wrt_into(b, out)", "does not match b"});
  CHECK(out.untouched());
}

template <class L>
void matmul_aliases() {
  CAPTURE(L::name());
  const index_t R = 8, K = 16, N = 4;
  const auto W = stco::prune<L>(random_matrix<float>(R, K));
  const auto X = random_matrix<float>(K, N);
  const auto b = random_vector<float>(R);
  const auto dY = random_matrix<float>(R, N);
  const auto g = stco::grad(stco::relu(stco::matmul(W, X) + stco::bias(b)), dY);
  using D = stco::dextents<2>;
  check_aliases<decltype(g), stco::matrix_view<const float>>(
      g, X.data(), X.extents(), {D(1, 1), D(K - 1, N), D(K, N - 1), D(N, K), D(K * N, 1)}, b.data(),
      R);
  check_outputs(g, X.view(), {D(N, K), D(K * N, 1), D(K - 1, N)},
                stco::tensor_view<const float, 1>(b.view()));
  // The operand itself, by tensor and by a view of all of it, is accepted.
  guarded out(K * N + 64);
  g.wrt_into(stco::matrix_view<const float>(X.data(), X.extents()), out.view(D(K, N)));
  const auto dX = g.wrt(X);
  CHECK(std::equal(dX.begin(), dX.end(), out.buf.begin()));
  CHECK(out.buf[static_cast<std::size_t>(K * N)] == sentinel);
}

template <class L>
void conv_aliases() {
  CAPTURE(L::name());
  const index_t Nb = 2, H = 4, Wd = 4, C = 2, Cout = 8;
  const auto W = stco::prune<L>(random_matrix<float>(Cout, 9 * C));
  const auto X = random_tensor4<float>(Nb, H, Wd, C);
  const auto b = random_vector<float>(Cout);
  const auto dY = random_tensor4<float>(Nb, H, Wd, Cout);
  const auto g =
      stco::grad(stco::relu(stco::conv2d(W, X, stco::conv{}.pad(1)) + stco::bias(b)), dY);
  using D = stco::dextents<4>;
  check_aliases<decltype(g), stco::tensor_view<const float, 4>>(
      g, X.data(), X.extents(),
      {D(1, 1, 1, 1), D(1, H, Wd, C), D(Nb, H, Wd, 1), D(Nb, Wd, H * C, 1), D(Nb, H, C, Wd)},
      b.data(), Cout);
  check_outputs(g, stco::tensor_view<const float, 4>(X.view()),
                {D(Nb, H, C, Wd), D(1, Nb * H, Wd, C), D(1, H, Wd, C)},
                stco::tensor_view<const float, 1>(b.view()));
  guarded out(X.size() + 64);
  g.wrt_into(stco::tensor_view<const float, 4>(X.data(), X.extents()), out.view(X.extents()));
  const auto dX = g.wrt(X);
  CHECK(std::equal(dX.begin(), dX.end(), out.buf.begin()));
  CHECK(out.buf[static_cast<std::size_t>(X.size())] == sentinel);
}

/// Allocates and fills blocks of `bytes`: the allocator hands a just-freed block of that size to
/// the next request, so a gradient still reading a destroyed original's buffer reads these.
void reuse_freed_memory(std::size_t bytes) {
  std::vector<std::unique_ptr<std::vector<unsigned char>>> blocks;
  for (int i = 0; i < 8; ++i)
    blocks.push_back(std::make_unique<std::vector<unsigned char>>(bytes, 0xff));  // NaN floats
}

/// Reference dZ and db for relu(z + b): element i belongs to channel (i / inner) % C (matmul's
/// [R, N]: inner = N; NHWC: inner = 1).
std::vector<double> relu_dz(const std::vector<double>& z, const stco::tensor<float, 1>& b,
                            std::size_t inner, const std::vector<double>& dy,
                            std::vector<double>& db) {
  const std::size_t C = static_cast<std::size_t>(b.size());
  std::vector<double> dz(z.size());
  db.assign(C, 0.0);
  for (std::size_t i = 0; i < z.size(); ++i) {
    const std::size_t c = (i / inner) % C;
    const double pre = z[i] + static_cast<double>(b[static_cast<index_t>(c)]);
    dz[i] = pre > 0 ? dy[i] : 0.0;
    db[c] += dz[i];
  }
  return dz;
}

template <class G, class W, class X>
void check_grads(const G& g, const W& Wm, const X& x, const stco::tensor<float, 1>& b,
                 const std::vector<double>& dWref, const std::vector<double>& dXref,
                 const std::vector<double>& dbref, index_t terms) {
  CHECK(max_rel_error(to_doubles(stco::decode(g.wrt(Wm))), dWref) <= tolerance<float>(terms));
  CHECK(max_rel_error(to_doubles(g.wrt(x)), dXref) <= tolerance<float>(terms));
  CHECK(max_rel_error(to_doubles(g.wrt(b)), dbref) <= tolerance<float>(terms));
}

}  // namespace

TEST_CASE_TEMPLATE("grad: wrt(X) / wrt(b) of a view of an operand's memory is refused (matmul)", L,
                   STCO_TEST_NM_LAYOUTS, STCO_TEST_OTHER_LAYOUTS) {
  matmul_aliases<L>();
}

TEST_CASE_TEMPLATE("grad: wrt(X) / wrt(b) of a view of an operand's memory is refused (conv2d)", L,
                   STCO_TEST_NM_LAYOUTS, STCO_TEST_OTHER_LAYOUTS) {
  conv_aliases<L>();
}

TEST_CASE("grad: wrt(W) of a copy of W is refused, naming identity by address") {
  const auto W = stco::prune<stco::nm<2, 4>>(random_matrix<float>(8, 16));
  const auto X = random_matrix<float>(16, 4);
  const auto dY = random_matrix<float>(8, 4);
  const auto g = stco::grad(stco::matmul(W, X), dY);
  const auto W_copy = W;
  stco_test::expect_error<stco::argument_error>(
      [&] { static_cast<void>(g.wrt(W_copy)); },
      {"stco::grad", "not the expression's weight", "address"});
}

TEST_CASE("grad: a copy of a gradient outlives the original (matmul, recomputed activations)") {
  const index_t R = 24, K = 40, N = 16;
  const auto W = stco::prune<stco::nm<2, 4>>(random_matrix<float>(R, K));
  const auto X = random_matrix<float>(K, N);
  const auto b = random_vector<float>(R);
  const auto dY = random_matrix<float>(R, N);
  const auto e = stco::relu(stco::matmul(W, X) + stco::bias(b));

  const auto Wd = to_doubles(stco::decode(W)), Xd = to_doubles(X);
  std::vector<double> dbref, dWref, dXref;
  const auto dz = relu_dz(stco::reference::matmul(Wd, Xd, R, K, N), b, N, to_doubles(dY), dbref);
  stco::reference::matmul_grads(Wd, Xd, dz, R, K, N, dWref, dXref);
  zero_dropped(W.entity(), dWref);

  using G = decltype(stco::grad(e, dY));
  std::optional<G> original(stco::grad(e, dY));  // no stash: it recomputes z itself
  G copy = *original;
  const auto dY2 = random_matrix<float>(R, N);
  G assigned = stco::grad(e, dY2);
  assigned = *original;
  original.reset();
  reuse_freed_memory(static_cast<std::size_t>(R * N) * sizeof(stco::acc_t<float>));
  check_grads(copy, W, X, b, dWref, dXref, dbref, K);
  G moved = std::move(copy);
  reuse_freed_memory(static_cast<std::size_t>(R * N) * sizeof(stco::acc_t<float>));
  check_grads(moved, W, X, b, dWref, dXref, dbref, K);
  check_grads(assigned, W, X, b, dWref, dXref, dbref, K);
}

TEST_CASE("grad: a copy of a gradient outlives the original (conv2d, recomputed activations)") {
  const index_t Nb = 2, H = 5, Wd = 5, C = 4, Cout = 8;
  const auto W = stco::prune<stco::tile_wise<4>>(random_matrix<float>(Cout, 9 * C), 0.5);
  const auto X = random_tensor4<float>(Nb, H, Wd, C);
  const auto b = random_vector<float>(Cout);
  const auto dY = random_tensor4<float>(Nb, H, Wd, Cout);
  const stco::conv p = stco::conv{}.pad(1);
  const auto e = stco::relu(stco::conv2d(W, X, p) + stco::bias(b));

  conv_setting s{"3x3 pad 1", Nb, H, Wd, C, Cout, 3, 3, 1, 1, 1, 1, 1, 1, 1, false};
  const auto geo = reference_geometry(s);
  const auto Wr = to_doubles(stco::decode(W)), Xr = to_doubles(X);
  std::vector<double> dbref, dWref, dXref;
  const auto dz = relu_dz(stco::reference::conv2d(Wr, Xr, geo), b, 1, to_doubles(dY), dbref);
  stco::reference::conv2d_grads(Wr, Xr, dz, geo, dWref, dXref);
  zero_dropped(W.entity(), dWref);

  using G = decltype(stco::grad(e, dY));
  auto original = std::make_unique<G>(stco::grad(e, dY));
  G copy = *original;
  original.reset();
  reuse_freed_memory(static_cast<std::size_t>(Nb * H * Wd * Cout) * sizeof(stco::acc_t<float>));
  check_grads(copy, W, X, b, dWref, dXref, dbref, 9 * C);
}
