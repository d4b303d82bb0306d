// Finite-difference checks, in double, of every stco::nn layer's gradients: Conv2d and Linear for
// each layout family (dense, nm, tile_wise, tile_vector, block, channel, csr; with and without
// bias and fused ReLU), the dense weight gradient given on request, BatchNorm2d in training and
// eval mode (with fused ReLU), max and average pooling, ReLU, Flatten and the softmax
// cross-entropy loss.
#include <doctest/doctest.h>

#include "support.hpp"

using namespace nn_test;
namespace nn = stco::nn;

namespace {

/// Checks dW (at kept positions; zero elsewhere), db and dx of an affine layer against finite
/// differences of L = Σ y ⊙ R.
template <class Layer>
void check_affine(Layer& layer, tensor4 x) {
  const auto out = layer.output_shape(nn::detail::shape_of(x));
  const tensor4 R = random4(out[0], out[1], out[2], out[3]);
  layer.forward(x);
  const tensor4 dx = layer.backward(R, true);
  const auto dW = layer.weight_grad_dense();
  const stco::tensor<double, 1> db = layer.bias_grad();
  auto W = layer.weight_dense();
  std::vector<unsigned char> kept(static_cast<std::size_t>(W.size()), 1);
  if (const auto* s = layer.sparse()) {
    const auto m = stco::kept_mask(s->entity());
    std::copy(m.begin(), m.end(), kept.begin());
  }
  auto loss = [&] { return dot(layer.forward(x), R); };
  auto loss_w = [&] {
    layer.set_weight(W);
    return loss();
  };
  const index_t stride = std::max<index_t>(1, W.size() / 150);
  for (index_t i = 0; i < W.size(); i += stride) {
    if (!kept[i]) {
      INFO(layer.name() << ": dW at pruned position " << i << " must be 0");
      CHECK(dW[i] == 0.0);
      continue;
    }
    check_fd(loss_w, W[i], dW[i], layer.name() + ": dL/dW[" + std::to_string(i) + "]");
  }
  layer.set_weight(W);
  if (layer.has_bias())
    for (index_t c = 0; c < layer.bias().size(); ++c)
      check_fd(loss, layer.bias()[c], db[c], layer.name() + ": dL/db[" + std::to_string(c) + "]");
  auto fx = [&] { return loss(); };
  const index_t xs = std::max<index_t>(1, x.size() / 150);
  for (index_t i = 0; i < x.size(); i += xs)
    check_fd(fx, x[i], dx[i], layer.name() + ": dL/dx[" + std::to_string(i) + "]");
}

template <class L>
void prune_if_sparse(nn::affine_layer<double, L, nn::cpu>& layer, double s) {
  if constexpr (!std::is_same_v<L, stco::dense>) {
    nn::optimizer opt = stco::optim::sgd(0.1f);
    layer.prune(std::clamp(s, L::min_sparsity, L::max_sparsity), opt);
    REQUIRE(layer.is_pruned());
    CHECK(layer.sparse()->entity_ptr() != nullptr);
  }
}

}  // namespace

#define NN_LAYOUTS                                                                                \
  stco::dense, stco::nm<2, 4>, stco::tile_wise<4>, stco::tile_vector<4, 2, 4>, stco::block<2, 2>, \
      stco::channel, stco::csr

TEST_CASE_TEMPLATE("Conv2d gradients match finite differences", L, NN_LAYOUTS) {
  struct cfg {
    index_t cin, cout, k, stride, pad, h, w;
    bool bias, relu;
  };
  // Ragged: K = 27 (not a multiple of 4), Cout = 6 (not a multiple of the tile height 4).
  for (const cfg c : {cfg{3, 6, 3, 1, 1, 5, 6, true, true}, cfg{3, 6, 3, 2, 0, 7, 6, false, false},
                      cfg{4, 5, 1, 1, 0, 4, 3, true, false}}) {
    CAPTURE(c.k);
    CAPTURE(c.stride);
    CAPTURE(c.bias);
    CAPTURE(c.relu);
    nn::Conv2d<double, L> conv(c.cin, c.cout, stco::conv{}.kernel(c.k).stride(c.stride).pad(c.pad),
                               c.bias, stco_test::rng()());
    if (c.relu) conv.fuse_relu();
    prune_if_sparse(conv, 0.5);
    check_affine(conv, random4(2, c.h, c.w, c.cin));
  }
}

TEST_CASE_TEMPLATE("Linear gradients match finite differences", L, NN_LAYOUTS) {
  for (const bool relu : {false, true}) {
    CAPTURE(relu);
    nn::Linear<double, L> fc(2 * 3 * 5, 7, true, stco_test::rng()());  // K = 30, R = 7: ragged
    if (relu) fc.fuse_relu();
    prune_if_sparse(fc, 0.5);
    check_affine(fc, random4(5, 2, 3, 5));
  }
  nn::Linear<double, L> nobias(13, 9, false, stco_test::rng()());
  prune_if_sparse(nobias, 0.5);
  check_affine(nobias, random4(3, 1, 1, 13));
}

TEST_CASE_TEMPLATE("the dense weight gradient on request equals the dense layer's", L,
                   stco::nm<2, 4>, stco::tile_wise<4>, stco::csr) {
  nn::Conv2d<double, L> conv(3, 6, stco::conv{}.kernel(3).pad(1), true, stco_test::rng()());
  conv.fuse_relu();
  prune_if_sparse(conv, 0.5);
  nn::Conv2d<double> ref(3, 6, stco::conv{}.kernel(3).pad(1), true, 7);
  ref.fuse_relu();
  ref.set_weight(conv.weight_dense());
  ref.bias() = conv.bias();
  const tensor4 x = random4(2, 5, 5, 3), R = random4(2, 5, 5, 6);
  conv.forward(x);
  conv.backward(R, false);
  CHECK(conv.dense_weight_grad() == nullptr);  // not computed unless asked
  conv.request_dense_grad(true);
  conv.forward(x);
  conv.backward(R, false);
  REQUIRE(conv.dense_weight_grad() != nullptr);
  ref.forward(x);
  ref.backward(R, false);
  const auto want = ref.weight_grad_dense();
  const auto& got = *conv.dense_weight_grad();
  for (index_t i = 0; i < want.size(); ++i) REQUIRE(near(got[i], want[i], 1e-12));
}

TEST_CASE("BatchNorm2d gradients match finite differences, training and eval mode") {
  for (const bool relu : {false, true})
    for (const bool training : {true, false}) {
      CAPTURE(relu);
      CAPTURE(training);
      nn::BatchNorm2d<double> bn(5);
      if (relu) bn.fuse_relu();
      tensor4 x = random4(3, 4, 3, 5, 2.0);
      for (index_t i = 0; i < x.size(); ++i) x[i] += 0.5 * static_cast<double>(i % 5);  // offsets
      for (index_t c = 0; c < 5; ++c) {
        bn.gamma()[c] = 0.5 + 0.3 * static_cast<double>(c);
        bn.beta()[c] = 0.1 * static_cast<double>(c) - 0.2;
        bn.running_mean()[c] = 0.2 * static_cast<double>(c);
        bn.running_var()[c] = 1.0 + 0.5 * static_cast<double>(c);
      }
      bn.train(training);
      const tensor4 R = random4(3, 4, 3, 5);
      check_input_grad(bn, x, R);
      bn.forward(x);
      bn.backward(R, false);
      const auto dg = bn.gamma_grad(), dbeta = bn.beta_grad();
      auto f = [&] { return dot(bn.forward(x), R); };
      for (index_t c = 0; c < 5; ++c) {
        check_fd(f, bn.gamma()[c], dg[c], "dL/dgamma");
        check_fd(f, bn.beta()[c], dbeta[c], "dL/dbeta");
      }
    }
}

TEST_CASE("BatchNorm2d normalizes with batch statistics and tracks running averages") {
  nn::BatchNorm2d<double> bn(3, 1e-5, 0.25);
  tensor4 x = random4(4, 3, 2, 3, 3.0);
  const auto& y = bn.forward(x);
  for (index_t c = 0; c < 3; ++c) {
    double m = 0, v = 0, xm = 0, xv = 0;
    const index_t M = 4 * 3 * 2;
    for (index_t p = 0; p < M; ++p) m += y[p * 3 + c], xm += x[p * 3 + c];
    m /= M, xm /= M;
    for (index_t p = 0; p < M; ++p)
      v += (y[p * 3 + c] - m) * (y[p * 3 + c] - m), xv += (x[p * 3 + c] - xm) * (x[p * 3 + c] - xm);
    CHECK(std::fabs(m) < 1e-12);
    CHECK(near(v / M, xv / M / (xv / M + 1e-5), 1e-10));
    CHECK(near(bn.running_mean()[c], 0.25 * xm, 1e-12));
    CHECK(near(bn.running_var()[c], 0.75 + 0.25 * xv / (M - 1), 1e-12));
  }
}

TEST_CASE("pooling, ReLU and Flatten gradients match finite differences") {
  tensor4 x = random4(2, 7, 6, 3);
  const nn::pool2d windows[] = {nn::pool2d::square(2), nn::pool2d::square(3, 2, 1),
                                nn::pool2d{3, 2, 2, 1, 1, 0}};
  for (const auto& p : windows) {
    nn::MaxPool2d<double> mp(p);
    nn::AvgPool2d<double> ap(p);
    const auto o = mp.output_shape(nn::detail::shape_of(x));
    check_input_grad(mp, x, random4(o[0], o[1], o[2], o[3]));
    check_input_grad(ap, x, random4(o[0], o[1], o[2], o[3]));
  }
  nn::ReLU<double> relu;
  check_input_grad(relu, x, random4(2, 7, 6, 3));
  nn::Flatten<double> flat;
  check_input_grad(flat, x, random4(2, 1, 1, 7 * 6 * 3));
}

TEST_CASE("max and average pooling compute the window's max and mean") {
  tensor4 x = random4(1, 4, 4, 2);
  nn::MaxPool2d<double> mp(2);
  nn::AvgPool2d<double> ap(2);
  const auto& m = mp.forward(x);
  const auto& a = ap.forward(x);
  for (index_t oh = 0; oh < 2; ++oh)
    for (index_t ow = 0; ow < 2; ++ow)
      for (index_t c = 0; c < 2; ++c) {
        double mx = -1e300, s = 0;
        for (index_t kh = 0; kh < 2; ++kh)
          for (index_t kw = 0; kw < 2; ++kw) {
            const double v = x(0, 2 * oh + kh, 2 * ow + kw, c);
            mx = std::max(mx, v), s += v;
          }
        CHECK(m(0, oh, ow, c) == mx);
        CHECK(near(a(0, oh, ow, c), s / 4, 1e-15));
      }
  CHECK_THROWS_AS(mp.forward(random4(1, 1, 1, 2)), stco::shape_error);
  CHECK_THROWS_AS(nn::MaxPool2d<double>(0), stco::argument_error);
}

TEST_CASE("softmax cross-entropy: value, gradient, stability and bad labels") {
  tensor4 z = random4(6, 1, 1, 5, 3.0);
  const std::vector<int> y{0, 4, 2, 2, 1, 3};
  const auto r = nn::softmax_cross_entropy(z, y.data());
  double want = 0;
  for (index_t n = 0; n < 6; ++n) {
    double s = 0;
    for (index_t c = 0; c < 5; ++c) s += std::exp(z(n, 0, 0, c));
    want += std::log(s) - z(n, 0, 0, y[n]);
  }
  CHECK(near(r.loss, want / 6, 1e-13));
  auto f = [&] { return nn::softmax_cross_entropy(z, y.data()).loss; };
  for (index_t i = 0; i < z.size(); ++i) check_fd(f, z[i], r.dlogits[i], "dloss/dlogits");
  // Logits of 1000 would overflow exp() without the max shift.
  tensor4 big(stco::dextents<4>(1, 1, 1, 3));
  big[0] = 1000, big[1] = 999, big[2] = -1000;
  const int l0 = 1;
  const auto b = nn::softmax_cross_entropy(big, &l0);
  CHECK(std::isfinite(b.loss));
  CHECK(near(b.loss, std::log(1 + std::exp(1.0)), 1e-12));
  const int bad = 5;
  CHECK_THROWS_AS(nn::softmax_cross_entropy(big, &bad), stco::argument_error);
  CHECK_THROWS_AS(nn::softmax_cross_entropy(random4(2, 2, 1, 3), y.data()), stco::shape_error);
}

TEST_CASE("layers reject inputs of the wrong shape") {
  nn::Conv2d<double> conv(3, 4, stco::conv{}.kernel(3));
  CHECK_THROWS_AS(conv.forward(random4(1, 5, 5, 2)), stco::shape_error);
  nn::Linear<double> fc(12, 3);
  CHECK_THROWS_AS(fc.forward(random4(2, 1, 1, 11)), stco::shape_error);
  nn::BatchNorm2d<double> bn(4);
  CHECK_THROWS_AS(bn.forward(random4(2, 2, 2, 3)), stco::shape_error);
  CHECK_THROWS_AS(conv.backward(random4(1, 3, 3, 4)), stco::argument_error);      // no forward yet
  CHECK_THROWS_AS(nn::Conv2d<double>(3, 4, stco::conv{}), stco::argument_error);  // no kernel
}
