// train.hpp — the training runs of train_fashion_mnist, written once for both backends of
// stco::nn (the CPU, and the CUDA device in train_cuda.cu): the model, the recipe, evaluation,
// the save/reload check, the table, the CSV curves and the chart. A backend plugs in through
// backend_io<B> (how a host batch becomes the model's input, the optimizer, the file suffix and
// the device's name).
#pragma once

#include <stco/nn.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "idx.hpp"
#include "progress.hpp"
#include "svg_chart.hpp"

namespace fmnist {

namespace nn = stco::nn;
using stco::index_t;
using clk = std::chrono::steady_clock;

constexpr double kPi = 3.14159265358979323846;

struct options {
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::string out = "fashion_mnist_out";
  std::string device = "cpu";
  std::vector<std::string> layouts{"dense", "nm", "tile_wise"};
  int epochs = 1;
  long limit = 0;  // 0: the whole data set
  int batch = 64;
  int threads = 0;  // 0: stco's default
  std::uint64_t seed = 1;
  double lr = 0.05;
  double warmup = 1.0;  // epochs of dense training before the sparse runs prune
  bool skip_missing_data = false;
};

/// What a backend adds to the runs; specialized per backend (the CPU's below, the device's in
/// train_cuda.cu).
template <class B>
struct backend_io;

template <>
struct backend_io<nn::cpu> {
  using input = stco::tensor<float, 4>;
  /// The model's input for host batch x (the CPU takes it as it is).
  static const stco::tensor<float, 4>& input_of(const stco::tensor<float, 4>& x, input&) {
    return x;
  }
  static nn::cpu::optimizer sgd(float lr, float momentum, float decay, bool nesterov) {
    return stco::optim::sgd(lr, momentum, decay, nesterov);
  }
  static void synchronize() {}
  static std::string suffix() { return ""; }
  static std::string title() { return "CPU"; }
  static std::string device_name() {
    return "CPU, " + std::to_string(stco::num_threads()) + " threads";
  }
};

/// The CNN, its sparse layers in layout L. The four weighted layers take explicit seeds (seed, +1,
/// +2, +3), so --full reproduces the README's numbers from before Sequential derived layer seeds.
template <class B, class L>
nn::Sequential<float, B> build_model(std::uint64_t seed) {
  nn::Sequential<float, B> m(seed);
  const auto k3 = stco::conv{}.kernel(3).pad(1);
  m.template add<nn::Conv2d<float, stco::dense, B>>(1, 32, k3, false, seed);
  m.template add<nn::BatchNorm2d<float, B>>(32);
  m.template add<nn::ReLU<float, B>>();
  m.template add<nn::MaxPool2d<float, B>>(2);
  m.template add<nn::Conv2d<float, L, B>>(32, 64, k3, false, seed + 1);
  m.template add<nn::BatchNorm2d<float, B>>(64);
  m.template add<nn::ReLU<float, B>>();
  m.template add<nn::MaxPool2d<float, B>>(2);
  m.template add<nn::Flatten<float, B>>();
  m.template add<nn::Linear<float, L, B>>(7 * 7 * 64, 128, true, seed + 2);
  m.template add<nn::ReLU<float, B>>();
  m.template add<nn::Linear<float, stco::dense, B>>(128, 10, true, seed + 3);
  return m;
}

template <class B>
struct run_spec {
  std::string key, label;
  double sparsity;  // 0 for dense
  std::function<nn::Sequential<float, B>(std::uint64_t)> build;
};

template <class B>
run_spec<B> spec_of(const std::string& key) {
  if (key == "nm") return {key, "nm<2,4>", 0.5, build_model<B, stco::nm<2, 4>>};
  if (key == "tile_wise")
    return {key, "tile_wise<32> 75%", 0.75, build_model<B, stco::tile_wise<32>>};
  return {key, "dense", 0.0, build_model<B, stco::dense>};
}

struct data_set {
  labeled_images train, test;
};

/// Normalized NHWC batch [n, 28, 28, 1] of images order[b0 .. b0 + n).
inline void fill_batch(const labeled_images& d, const std::vector<index_t>& order, index_t b0,
                       index_t n, stco::tensor<float, 4>& x, std::vector<int>& y) {
  constexpr float mean = 0.2860f, inv_std = 1.0f / 0.3530f;
  const index_t px = d.rows * d.cols;
  if (x.extent(0) != n) x = stco::tensor<float, 4>(stco::dextents<4>(n, d.rows, d.cols, 1));
  y.resize(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) {
    const index_t s = order[b0 + i];
    const std::uint8_t* p = d.pixels.data() + s * px;
    for (index_t k = 0; k < px; ++k) x[i * px + k] = (p[k] / 255.0f - mean) * inv_std;
    y[i] = d.labels[s];
  }
}

/// Steps of dense training before the sparse runs prune: --warmup epochs, at most half the run.
inline index_t warmup_steps_of(const options& o, index_t steps_per_epoch) {
  const index_t total = steps_per_epoch * o.epochs;
  return std::max<index_t>(
      1, std::min<index_t>(static_cast<index_t>(o.warmup * static_cast<double>(steps_per_epoch)),
                           total / 2));
}

struct eval_result {
  double loss = 0, accuracy = 0;
};

template <class B>
eval_result evaluate(nn::Sequential<float, B>& m, const labeled_images& d, index_t count) {
  m.eval();
  std::vector<index_t> order(static_cast<std::size_t>(count));
  std::iota(order.begin(), order.end(), 0);
  stco::tensor<float, 4> x;
  typename backend_io<B>::input xin;
  std::vector<int> y;
  double loss = 0;
  index_t correct = 0;
  for (index_t b0 = 0; b0 < count; b0 += 500) {
    const index_t n = std::min<index_t>(500, count - b0);
    fill_batch(d, order, b0, n, x, y);
    const auto& z = m.forward(backend_io<B>::input_of(x, xin));
    loss += nn::softmax_cross_entropy(z, y.data()).loss * static_cast<double>(n);
    correct += nn::count_correct(z, y.data());
  }
  m.train();
  return {loss / static_cast<double>(count),
          static_cast<double>(correct) / static_cast<double>(count)};
}

template <class B>
struct run_result {
  run_spec<B> spec;
  eval_result final_eval;
  double train_seconds = 0, sparse_epoch_seconds = 0, dense_epoch_seconds = 0;
  double first_loss = 0, last_loss = 0;
  std::size_t weight_bytes = 0;
  series loss_curve, acc_curve;
  bool reload_ok = false;
};

template <class B>
run_result<B> train(const run_spec<B>& spec, const data_set& d, const options& o, index_t n_train,
                    index_t n_test, std::FILE* epochs_csv, std::FILE* loss_csv) {
  run_result<B> r;
  r.spec = spec;
  r.loss_curve.name = r.acc_curve.name = spec.label;
  nn::Sequential<float, B> model = spec.build(o.seed);
  typename B::optimizer opt = backend_io<B>::sgd(static_cast<float>(o.lr), 0.9f, 5e-4f, true);
  const index_t steps_per_epoch = (n_train + o.batch - 1) / o.batch;
  const index_t total = steps_per_epoch * o.epochs;
  const index_t warmup_steps = warmup_steps_of(o, steps_per_epoch);
  const nn::pruning_schedule sched =
      spec.sparsity > 0 ? nn::pruning_schedule::one_shot(warmup_steps - 1, spec.sparsity)
                        : nn::pruning_schedule();
  std::mt19937_64 rng(o.seed);
  std::vector<index_t> order(static_cast<std::size_t>(n_train));
  std::iota(order.begin(), order.end(), 0);
  stco::tensor<float, 4> x;
  typename backend_io<B>::input xin;
  std::vector<int> y;
  std::vector<double> losses;
  double seconds = 0, sparse_seconds = 0;
  index_t step = 0, sparse_steps = 0;
  const index_t curve_every = std::max<index_t>(1, steps_per_epoch / 20);
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    progress bar(
        spec.label + " epoch " + std::to_string(epoch + 1) + "/" + std::to_string(o.epochs),
        static_cast<long>(steps_per_epoch));
    double window = 0;
    index_t in_window = 0;
    for (index_t b = 0; b < steps_per_epoch; ++b, ++step) {
      const index_t b0 = b * o.batch, n = std::min<index_t>(o.batch, n_train - b0);
      fill_batch(d.train, order, b0, n, x, y);
      const auto t0 = clk::now();
      const double lr =
          0.5 * o.lr * (1 + std::cos(kPi * static_cast<double>(step) / static_cast<double>(total)));
      nn::set_learning_rate(opt, static_cast<float>(lr));
      const auto& z = model.forward(backend_io<B>::input_of(x, xin));
      const auto l = nn::softmax_cross_entropy(z, y.data());
      sched.before_backward(model, step);
      model.backward(l.dlogits);
      model.step(opt);
      const std::string event = sched.after_step(model, step, opt);
      backend_io<B>::synchronize();  // the step's device work is done before the clock stops
      const double dt = std::chrono::duration<double>(clk::now() - t0).count();
      seconds += dt;
      if (spec.sparsity > 0 && step >= warmup_steps) sparse_seconds += dt, ++sparse_steps;
      losses.push_back(l.loss);
      window += l.loss, ++in_window;
      if ((b + 1) % curve_every == 0 || b + 1 == steps_per_epoch) {
        const double ep = static_cast<double>(step + 1) / static_cast<double>(steps_per_epoch);
        r.loss_curve.x.push_back(ep);
        r.loss_curve.y.push_back(window / static_cast<double>(in_window));
        std::fprintf(loss_csv, "%s,%.4f,%lld,%.5f\n", spec.key.c_str(), ep,
                     static_cast<long long>(step + 1), window / static_cast<double>(in_window));
        window = 0, in_window = 0;
      }
      bar.update(static_cast<long>(b + 1), r.loss_curve.y.empty() ? l.loss : r.loss_curve.y.back(),
                 seconds);
      if (!event.empty()) {
        bar.finish();
        std::fprintf(stderr, "  %s: step %lld: %s\n", spec.label.c_str(),
                     static_cast<long long>(step + 1), event.c_str());
      }
    }
    bar.finish();
    const eval_result e = evaluate(model, d.test, n_test);
    r.acc_curve.x.push_back(epoch + 1);
    r.acc_curve.y.push_back(e.accuracy);
    std::fprintf(epochs_csv, "%s,%d,%.4f,%.4f,%.2f\n", spec.key.c_str(), epoch + 1, e.loss,
                 e.accuracy, seconds);
    std::fflush(epochs_csv), std::fflush(loss_csv);
    std::fprintf(stderr, "  %s: epoch %d: test accuracy %.2f%%, test loss %.4f, %.1fs training\n",
                 spec.label.c_str(), epoch + 1, 100 * e.accuracy, e.loss, seconds);
    r.final_eval = e;
  }
  r.train_seconds = seconds;
  r.dense_epoch_seconds = seconds / o.epochs;
  r.sparse_epoch_seconds = sparse_steps ? sparse_seconds / static_cast<double>(sparse_steps) *
                                              static_cast<double>(steps_per_epoch)
                                        : r.dense_epoch_seconds;
  const std::size_t k = std::max<std::size_t>(1, losses.size() / 10);
  r.first_loss = std::accumulate(losses.begin(), losses.begin() + static_cast<long>(k), 0.0) /
                 static_cast<double>(k);
  r.last_loss = std::accumulate(losses.end() - static_cast<long>(k), losses.end(), 0.0) /
                static_cast<double>(k);
  for (const auto& p : model.parameters())
    if (p.trainable) r.weight_bytes += p.bytes;

  // Save, reload into a fresh model and check that it predicts exactly the same.
  const std::string path = o.out + "/model_" + spec.key + backend_io<B>::suffix() + ".stco";
  model.save(path);
  nn::Sequential<float, B> again = spec.build(o.seed + 100);
  if (spec.sparsity > 0) {  // the fresh model must be pruned into its layout to take the file
    typename B::optimizer scratch = backend_io<B>::sgd(0.1f, 0, 0, false);
    for (auto& [i, p] : again.prunable_layers()) p->prune(spec.sparsity, scratch);
  }
  again.load(path);
  const eval_result e2 = evaluate(again, d.test, n_test);
  r.reload_ok = e2.accuracy == r.final_eval.accuracy && e2.loss == r.final_eval.loss;
  return r;
}

inline std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

/// Trains every run of o.layouts on backend B, prints the table and writes the curves, the chart
/// and results<suffix>.md into o.out. Returns the process's exit status.
template <class B>
int run_all(const options& o, const data_set& d, index_t n_train, index_t n_test) {
  std::filesystem::create_directories(o.out);
  const std::string sfx = backend_io<B>::suffix();
  std::FILE* epochs_csv = std::fopen((o.out + "/epochs" + sfx + ".csv").c_str(), "w");
  std::FILE* loss_csv = std::fopen((o.out + "/loss_curve" + sfx + ".csv").c_str(), "w");
  if (!epochs_csv || !loss_csv)
    throw stco::argument_error("train_fashion_mnist: cannot write into '" + o.out + "'");
  std::fprintf(epochs_csv, "run,epoch,test_loss,test_accuracy,training_seconds\n");
  std::fprintf(loss_csv, "run,epoch,step,train_loss\n");

  std::vector<run_result<B>> results;
  for (const auto& key : o.layouts) {
    const run_spec<B> spec = spec_of<B>(key);
    std::fprintf(stderr, "run %s:\n%s", spec.label.c_str(),
                 spec.build(o.seed).summary({o.batch, 28, 28, 1}).c_str());
    results.push_back(train(spec, d, o, n_train, n_test, epochs_csv, loss_csv));
  }
  std::fclose(epochs_csv);
  std::fclose(loss_csv);

  const run_result<B>* dense = nullptr;
  for (const auto& r : results)
    if (r.spec.key == "dense") dense = &r;
  std::string table =
      "| run | test accuracy | vs dense | training time | time vs dense | epoch time after "
      "pruning | vs dense | weights + index |\n|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : results) {
    const bool d0 = dense != nullptr;
    table +=
        "| " + r.spec.label + " | " + fmt("%.2f%%", 100 * r.final_eval.accuracy) + " | " +
        (d0 ? fmt("%+.2f pt", 100 * (r.final_eval.accuracy - dense->final_eval.accuracy)) : "–") +
        " | " + fmt("%.1f s", r.train_seconds) + " | " +
        (d0 ? fmt("%.2f×", r.train_seconds / dense->train_seconds) : "–") + " | " +
        fmt("%.1f s", r.sparse_epoch_seconds) + " | " +
        (d0 ? fmt("%.2f×", r.sparse_epoch_seconds / dense->dense_epoch_seconds) : "–") + " | " +
        fmt("%.0f KiB", static_cast<double>(r.weight_bytes) / 1024.0) + " |\n";
  }
  std::printf("\n%s\n", table.c_str());
  std::vector<series> loss, acc;
  for (const auto& r : results) loss.push_back(r.loss_curve), acc.push_back(r.acc_curve);
  const index_t spe = (n_train + o.batch - 1) / o.batch;
  const double prune_at = static_cast<double>(warmup_steps_of(o, spe)) / static_cast<double>(spe);
  write_chart(
      o.out + "/fashion_mnist" + sfx + ".svg",
      "Fashion-MNIST CNN: dense vs structured sparse (stco, " + backend_io<B>::title() + ")", loss,
      acc, prune_at, "sparse runs pruned");
  std::ofstream(o.out + "/results" + sfx + ".md")
      << "Device: " << backend_io<B>::device_name() << "\n\n"
      << table;
  std::printf(
      "device: %s\ncurves: %s/epochs%s.csv, %s/loss_curve%s.csv; chart: "
      "%s/fashion_mnist%s.svg\n",
      backend_io<B>::device_name().c_str(), o.out.c_str(), sfx.c_str(), o.out.c_str(), sfx.c_str(),
      o.out.c_str(), sfx.c_str());

  bool ok = true;
  for (const auto& r : results) {
    std::printf(
        "%s: training loss %.4f -> %.4f (first and last tenth of the steps): %s; "
        "saved model reloads %s\n",
        r.spec.label.c_str(), r.first_loss, r.last_loss,
        r.last_loss < r.first_loss ? "loss fell" : "LOSS DID NOT FALL",
        r.reload_ok ? "with identical predictions" : "WITH DIFFERENT PREDICTIONS");
    ok = ok && r.last_loss < r.first_loss && r.reload_ok;
  }
  return ok ? 0 : 3;
}

}  // namespace fmnist
