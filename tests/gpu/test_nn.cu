// stco::nn on the CUDA backend (stco::nn::cuda_device) against the CPU backend in double on
// fresh random data: every layer's forward and backward (Conv2d and Linear per layout family in
// test_nn_affine.cu; here BatchNorm2d in training and eval mode; max and average pooling,
// overlapping windows included; ReLU; Flatten; softmax cross-entropy), an optimizer step, pruning
// and mask updates on the device, save/load through the host, and a few training steps of a small
// CNN that lower the loss. (The CPU layers themselves are checked against finite differences in
// double in tests/nn.)
#include "nn_support.hpp"

using namespace nn_gpu_test;

TEST_CASE("nn cuda: BatchNorm2d in training and eval mode, with and without fused ReLU") {
  for (bool relu : {false, true}) {
    nn::BatchNorm2d<float, D> dev(12, 1e-5, 0.2);
    nn::BatchNorm2d<double, nn::cpu> host(12, 1e-5, 0.2);
    if (relu) dev.fuse_relu(), host.fuse_relu();
    const auto g = random_f(stco::dextents<1>(12), 1.5), b = random_f(stco::dextents<1>(12));
    dev.gamma() = up(g), dev.beta() = up(b);
    host.gamma() = to_double(g), host.beta() = to_double(b);
    for (int round = 0; round < 2; ++round) {
      compare_plain(dev, host, {4, 5, 6, 12}, 2e-5);
      check_close(down(dev.gamma_grad()), host.gamma_grad(), 2e-5, "dgamma");
      check_close(down(dev.beta_grad()), host.beta_grad(), 2e-5, "dbeta");
      check_close(down(dev.running_mean()), host.running_mean(), 2e-6, "running mean");
      check_close(down(dev.running_var()), host.running_var(), 2e-6, "running variance");
    }
    dev.train(false), host.train(false);
    compare_plain(dev, host, {3, 4, 4, 12}, 2e-5);
    check_close(down(dev.gamma_grad()), host.gamma_grad(), 2e-5, "dgamma (eval)");
    check_close(down(dev.beta_grad()), host.beta_grad(), 2e-5, "dbeta (eval)");
  }
}

TEST_CASE("nn cuda: pooling, ReLU and Flatten") {
  for (const auto& p : {nn::pool2d::square(2), nn::pool2d::square(3, 2, 1),
                        nn::pool2d::square(3, 1, 1), nn::pool2d{2, 3, 1, 2, 0, 1}}) {
    nn::MaxPool2d<float, D> dmax(p);
    nn::MaxPool2d<double, nn::cpu> hmax(p);
    compare_plain(dmax, hmax, {3, 9, 8, 5}, 1e-6);
    nn::AvgPool2d<float, D> davg(p);
    nn::AvgPool2d<double, nn::cpu> havg(p);
    compare_plain(davg, havg, {3, 9, 8, 5}, 1e-6);
  }
  nn::ReLU<float, D> drelu;
  nn::ReLU<double, nn::cpu> hrelu;
  compare_plain(drelu, hrelu, {2, 5, 5, 7}, 0.0);
  nn::Flatten<float, D> dflat;
  nn::Flatten<double, nn::cpu> hflat;
  compare_plain(dflat, hflat, {2, 5, 5, 7}, 0.0);
  CHECK(dflat.forward(up(random_f(stco::dextents<4>(2, 5, 5, 7)))).extent(3) == 175);
}

TEST_CASE("nn cuda: softmax cross-entropy and count_correct") {
  const index_t N = 37, C = 10;
  auto zf = random_f(stco::dextents<4>(N, 1, 1, C), 6.0);
  zf[3] = 80.0f;  // large logits must not overflow
  std::vector<int> labels(N);
  for (index_t n = 0; n < N; ++n) labels[n] = static_cast<int>((n * 7) % C);
  const auto zd = up(zf);
  const auto ld = nn::softmax_cross_entropy(zd, labels.data());
  const auto lh = nn::softmax_cross_entropy(to_double(zf), labels.data());
  CHECK(std::fabs(ld.loss - lh.loss) <= 1e-5 * std::max(1.0, lh.loss));
  check_close(down(ld.dlogits), lh.dlogits, 1e-6, "dlogits");
  CHECK(nn::count_correct(zd, labels.data()) == nn::count_correct(zf, labels.data()));
  labels[5] = 10;
  CHECK_THROWS_AS(nn::softmax_cross_entropy(zd, labels.data()), stco::argument_error);
}

TEST_CASE("nn cuda: an SGD step of a layer matches the host step") {
  nn::Sequential<float, D> dev;
  nn::Sequential<double, nn::cpu> host;
  auto& dl = dev.add<nn::Linear<float, stco::nm<2, 4>, D>>(24, 16, true, 9);
  auto& hl = host.add<nn::Linear<double, stco::nm<2, 4>, nn::cpu>>(24, 16, true, 9);
  same_parameters(dl, hl, 0.5);
  D::optimizer dopt = nn::cuda_sgd(0.05f, 0.9f, 1e-3f, true);
  nn::optimizer hopt = stco::optim::sgd(0.05f, 0.9f, 1e-3f, true);
  for (int step = 0; step < 3; ++step) {
    const auto xf = random_f(stco::dextents<4>(6, 1, 1, 24));
    const auto dyf = random_f(stco::dextents<4>(6, 1, 1, 16));
    const auto xd = up(xf);
    const auto xh = to_double(xf);
    dev.forward(xd);
    host.forward(xh);
    dev.backward(up(dyf));
    host.backward(to_double(dyf));
    dev.step(dopt);
    host.step(hopt);
  }
  check_close(dl.weight_dense(), hl.weight_dense(), 1e-5, "weights after 3 steps");
  check_close(down(dl.bias()), hl.bias(), 1e-5, "bias after 3 steps");
  CHECK(nn::learning_rate(dopt) == 0.05f);
}

namespace {
template <class L>
nn::Sequential<float, D> small_cnn(std::uint64_t seed) {
  nn::Sequential<float, D> m;
  m.add<nn::Conv2d<float, stco::dense, D>>(1, 8, stco::conv{}.kernel(3).pad(1), false, seed);
  m.add<nn::BatchNorm2d<float, D>>(8);
  m.add<nn::ReLU<float, D>>();
  m.add<nn::MaxPool2d<float, D>>(2);
  m.add<nn::Conv2d<float, L, D>>(8, 16, stco::conv{}.kernel(3).pad(1), true, seed + 1);
  m.add<nn::ReLU<float, D>>();
  m.add<nn::AvgPool2d<float, D>>(2);
  m.add<nn::Flatten<float, D>>();
  m.add<nn::Linear<float, L, D>>(4 * 4 * 16, 32, true, seed + 2);
  m.add<nn::ReLU<float, D>>();
  m.add<nn::Linear<float, stco::dense, D>>(32, 4, true, seed + 3);
  return m;
}

/// Synthetic 16×16 images of 4 classes (a bright quadrant each, plus noise).
void synthetic(index_t n, stco::tensor<float, 4>& x, std::vector<int>& y) {
  std::normal_distribution<double> noise(0.0, 0.3);
  x = stco::tensor<float, 4>(stco::dextents<4>(n, 16, 16, 1));
  y.resize(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) {
    y[i] = static_cast<int>(i % 4);
    for (index_t r = 0; r < 16; ++r)
      for (index_t c = 0; c < 16; ++c) {
        const int q = (r >= 8) * 2 + (c >= 8);
        x[(i * 16 + r) * 16 + c] = static_cast<float>((q == y[i] ? 1.0 : 0.0) + noise(rng()));
      }
  }
}

template <class L>
void train_small(double sparsity, const nn::mask_rule& rule) {
  auto m = small_cnn<L>(11);
  D::optimizer opt = nn::cuda_sgd(0.05f, 0.9f);
  const auto sched = nn::pruning_schedule::one_shot(4, sparsity).with_mask_updates(5, 100, rule);
  stco::tensor<float, 4> x;
  std::vector<int> y;
  synthetic(64, x, y);
  const auto xd = up(x);
  double first = 0, last = 0;
  for (index_t t = 0; t < 40; ++t) {
    const auto l = nn::softmax_cross_entropy(m.forward(xd), y.data());
    if (t == 0) first = l.loss;
    last = l.loss;
    sched.before_backward(m, t);
    m.backward(l.dlogits);
    m.step(opt);
    sched.after_step(m, t, opt);
  }
  INFO(L::name() << " (" << rule.name() << "): loss " << first << " -> " << last);
  CHECK(last < 0.5 * first);
  for (auto& [i, p] : m.prunable_layers()) {
    CHECK(p->is_pruned());
    CHECK(std::fabs(p->sparsity() - sparsity) < 0.05);
  }

  // Save through the host and load into a fresh device model: the same predictions.
  m.eval();
  const auto before = down(m.forward(xd));
  const auto bytes = m.to_archive().serialize();
  auto again = small_cnn<L>(99);
  D::optimizer scratch = nn::cuda_sgd(0.1f);
  for (auto& [i, p] : again.prunable_layers()) p->prune(sparsity, scratch);
  again.load(nn::archive::parse(bytes, "memory"));
  again.eval();
  check_close(down(again.forward(xd)), before, 0.0, std::string("reloaded ") + L::name());
  // and a host model of the same architecture reads the file too (the format is the backend's)
  auto corrupt = bytes;
  corrupt[corrupt.size() / 2] ^= 0x5a;
  CHECK_THROWS_AS(again.load(nn::archive::parse(corrupt, "corrupt")), nn::format_error);
  again.eval();
  check_close(down(again.forward(xd)), before, 0.0, "after a refused load");
}
}  // namespace

TEST_CASE(
    "nn cuda: a few training steps of a small CNN lower the loss, with pruning and mask "
    "updates on the device") {
  train_small<stco::dense>(0.0, nn::mask_rule{});
  train_small<stco::nm<2, 4>>(0.5, nn::mask_rule{nn::mask_rule::kind::magnitude});
  train_small<stco::tile_wise<8>>(0.75, nn::mask_rule{nn::mask_rule::kind::regrow, 0.5});
  train_small<stco::nm<2, 4>>(0.5, nn::mask_rule{nn::mask_rule::kind::sr_ste, 2e-4});
}
