// train_fashion_mnist — trains a small CNN on Fashion-MNIST three ways (dense, nm<2,4>, and
// tile_wise<32> at 75% sparsity), with the same epochs, seed and recipe, and reports test accuracy,
// training time and the time ratio against dense; writes the curves as CSV and an SVG chart.
//
// Model: conv 3x3 1→32 → BN → ReLU → maxpool 2 → conv 3x3 32→64 → BN → ReLU → maxpool 2 →
// linear 3136→128 → ReLU → linear 128→10. The sparse runs prune the second convolution and the
// first linear layer (99.6% of the weights); the first convolution (K = 9) and the classifier stay
// dense, as is usual. Sparse runs train dense for a warm-up (one epoch by default), prune once by
// magnitude, and train on in the layout: weights, gradients and momentum share one index entity.
// Recipe: SGD with Nesterov momentum 0.9, weight decay 5e-4, learning rate 0.05 on a cosine
// schedule over all steps, batch 64, inputs scaled to zero mean and unit variance, no augmentation.
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

#include "progress.hpp"
#include "svg_chart.hpp"

namespace nn = stco::nn;
using stco::index_t;
using clk = std::chrono::steady_clock;

namespace {

constexpr double kPi = 3.14159265358979323846;

struct options {
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::string out = "fashion_mnist_out";
  std::string device = "cpu";
  std::vector<std::string> layouts{"dense", "nm", "tile_wise"};
  int epochs = 3;
  long limit = 0;  // 0: the whole data set
  int batch = 64;
  int threads = 0;  // 0: stco's default
  std::uint64_t seed = 1;
  double lr = 0.05;
  double warmup = 1.0;  // epochs of dense training before the sparse runs prune
  bool skip_missing_data = false;
};

[[noreturn]] void usage(const char* why) {
  if (why) std::fprintf(stderr, "train_fashion_mnist: %s\n\n", why);
  std::fprintf(stderr,
               "usage: train_fashion_mnist [--data DIR] [--epochs N] [--limit N] [--batch N]\n"
               "                           [--threads N] [--seed N] [--lr X] [--warmup EPOCHS]\n"
               "                           [--out DIR] [--layouts dense,nm,tile_wise]\n"
               "                           [--device cpu|cuda]\n"
               "  --data DIR     Fashion-MNIST IDX files, plain or .gz (default %s)\n"
               "  --epochs N     epochs per run (default 3)\n"
               "  --limit N      use the first N training and N test images\n"
               "  --batch N      batch size (default 64)\n"
               "  --threads N    CPU threads (default: all cores, or STCO_NUM_THREADS)\n"
               "  --seed N       initialization and shuffling seed (default 1)\n"
               "  --lr X         initial learning rate (default 0.05)\n"
               "  --warmup E     dense epochs before the sparse runs prune (default 1; at most\n"
               "                 half of the run)\n"
               "  --out DIR      where the CSV curves, the SVG chart, results.md and the saved\n"
               "                 models go (default fashion_mnist_out)\n"
               "  --layouts L    comma-separated runs: dense, nm (nm<2,4>), tile_wise\n"
               "                 (tile_wise<32> at 75%%)\n",
               options{}.data.c_str());
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  auto value = [&](int& i) -> std::string {
    if (i + 1 >= argc) usage((std::string(argv[i]) + " needs a value").c_str());
    return argv[++i];
  };
  auto number = [&](int& i, double lo) {
    const std::string a = argv[i], v = value(i);
    char* end = nullptr;
    const double d = std::strtod(v.c_str(), &end);
    if (v.empty() || *end || !(d >= lo)) usage((a + ": '" + v + "' is not a valid value").c_str());
    return d;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--data")
      o.data = value(i);
    else if (a == "--out")
      o.out = value(i);
    else if (a == "--device")
      o.device = value(i);
    else if (a == "--epochs")
      o.epochs = static_cast<int>(number(i, 1));
    else if (a == "--limit")
      o.limit = static_cast<long>(number(i, 1));
    else if (a == "--batch")
      o.batch = static_cast<int>(number(i, 1));
    else if (a == "--threads")
      o.threads = static_cast<int>(number(i, 1));
    else if (a == "--seed")
      o.seed = static_cast<std::uint64_t>(number(i, 0));
    else if (a == "--lr")
      o.lr = number(i, 1e-9);
    else if (a == "--warmup")
      o.warmup = number(i, 0);
    else if (a == "--skip-missing-data")
      o.skip_missing_data = true;
    else if (a == "--layouts") {
      o.layouts.clear();
      std::string v = value(i);
      for (std::size_t p = 0; p <= v.size();) {
        const std::size_t q = std::min(v.find(',', p), v.size());
        const std::string name = v.substr(p, q - p);
        if (name == "dense" || name == "nm" || name == "nm<2,4>")
          o.layouts.push_back(name == "dense" ? "dense" : "nm");
        else if (name == "tile_wise" || name == "tile_wise<32>")
          o.layouts.push_back("tile_wise");
        else
          usage(("--layouts: unknown run '" + name + "' (dense, nm, tile_wise)").c_str());
        p = q + 1;
      }
    } else if (a == "-h" || a == "--help")
      usage(nullptr);
    else
      usage(("unknown option " + a).c_str());
  }
  return o;
}

/// The CNN, its sparse layers in layout L.
template <class L>
nn::Sequential<float> build_model(std::uint64_t seed) {
  nn::Sequential<float> m;
  const auto k3 = stco::conv{}.kernel(3).pad(1);
  m.add<nn::Conv2d<float>>(1, 32, k3, false, seed);
  m.add<nn::BatchNorm2d<float>>(32);
  m.add<nn::ReLU<float>>();
  m.add<nn::MaxPool2d<float>>(2);
  m.add<nn::Conv2d<float, L>>(32, 64, k3, false, seed + 1);
  m.add<nn::BatchNorm2d<float>>(64);
  m.add<nn::ReLU<float>>();
  m.add<nn::MaxPool2d<float>>(2);
  m.add<nn::Flatten<float>>();
  m.add<nn::Linear<float, L>>(7 * 7 * 64, 128, true, seed + 2);
  m.add<nn::ReLU<float>>();
  m.add<nn::Linear<float>>(128, 10, true, seed + 3);
  return m;
}

struct run_spec {
  std::string key, label;
  double sparsity;  // 0 for dense
  std::function<nn::Sequential<float>(std::uint64_t)> build;
};

run_spec spec_of(const std::string& key) {
  if (key == "nm") return {key, "nm<2,4>", 0.5, build_model<stco::nm<2, 4>>};
  if (key == "tile_wise") return {key, "tile_wise<32> 75%", 0.75, build_model<stco::tile_wise<32>>};
  return {key, "dense", 0.0, build_model<stco::dense>};
}

struct data_set {
  stco::nn::labeled_images train, test;
};

std::string find_file(const std::string& dir, const std::string& name, bool skip_missing) {
  for (const std::string& p : {dir + "/" + name, dir + "/" + name + ".gz"})
    if (std::filesystem::exists(p)) return p;
  std::fprintf(stderr,
               "train_fashion_mnist: missing '%s/%s' (or .gz). Install Debian's "
               "dataset-fashion-mnist package (apt-get install dataset-fashion-mnist) or point "
               "--data at a directory with the four IDX files.\n",
               dir.c_str(), name.c_str());
  std::exit(skip_missing ? 77 : 1);
}

/// Normalized NHWC batch [n, 28, 28, 1] of images order[b0 .. b0 + n).
void fill_batch(const stco::nn::labeled_images& d, const std::vector<index_t>& order, index_t b0,
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
index_t warmup_steps_of(const options& o, index_t steps_per_epoch) {
  const index_t total = steps_per_epoch * o.epochs;
  return std::max<index_t>(
      1, std::min<index_t>(static_cast<index_t>(o.warmup * static_cast<double>(steps_per_epoch)),
                           total / 2));
}

struct eval_result {
  double loss = 0, accuracy = 0;
};

eval_result evaluate(nn::Sequential<float>& m, const stco::nn::labeled_images& d, index_t count) {
  m.eval();
  std::vector<index_t> order(static_cast<std::size_t>(count));
  std::iota(order.begin(), order.end(), 0);
  stco::tensor<float, 4> x;
  std::vector<int> y;
  double loss = 0;
  index_t correct = 0;
  for (index_t b0 = 0; b0 < count; b0 += 500) {
    const index_t n = std::min<index_t>(500, count - b0);
    fill_batch(d, order, b0, n, x, y);
    const auto& z = m.forward(x);
    loss += nn::softmax_cross_entropy(z, y.data()).loss * static_cast<double>(n);
    correct += nn::count_correct(z, y.data());
  }
  m.train();
  return {loss / static_cast<double>(count),
          static_cast<double>(correct) / static_cast<double>(count)};
}

struct run_result {
  run_spec spec;
  eval_result final_eval;
  double train_seconds = 0, sparse_epoch_seconds = 0, dense_epoch_seconds = 0;
  double first_loss = 0, last_loss = 0;
  std::size_t weight_bytes = 0;
  series loss_curve, acc_curve;
  bool reload_ok = false;
};

run_result train(const run_spec& spec, const data_set& d, const options& o, index_t n_train,
                 index_t n_test, std::FILE* epochs_csv, std::FILE* loss_csv) {
  run_result r;
  r.spec = spec;
  r.loss_curve.name = r.acc_curve.name = spec.label;
  nn::Sequential<float> model = spec.build(o.seed);
  nn::optimizer opt = stco::optim::sgd(static_cast<float>(o.lr), 0.9f, 5e-4f, true);
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
      const auto& z = model.forward(x);
      const auto l = nn::softmax_cross_entropy(z, y.data());
      sched.before_backward(model, step);
      model.backward(l.dlogits);
      model.step(opt);
      const std::string event = sched.after_step(model, step, opt);
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
  const std::string path = o.out + "/model_" + spec.key + ".stco";
  model.save(path);
  nn::Sequential<float> again = spec.build(o.seed + 100);
  if (spec.sparsity > 0) {  // the fresh model must be pruned into its layout to take the file
    nn::optimizer scratch = stco::optim::sgd(0.1f);
    for (auto& [i, p] : again.prunable_layers()) p->prune(spec.sparsity, scratch);
  }
  again.load(path);
  const eval_result e2 = evaluate(again, d.test, n_test);
  r.reload_ok = e2.accuracy == r.final_eval.accuracy && e2.loss == r.final_eval.loss;
  return r;
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  if (o.device == "cuda") {
    std::fprintf(stderr,
                 "train_fashion_mnist: --device cuda: this build has no CUDA support for stco::nn "
                 "yet (the layers' CUDA backend is not written); run with --device cpu\n");
    return 2;
  }
  if (o.device != "cpu")
    usage(("--device: unknown device '" + o.device + "' (cpu or cuda)").c_str());
  try {
    if (o.threads > 0) stco::set_num_threads(o.threads);
    data_set d;
    const auto t0 = clk::now();
    // The four files are looked up in order, so a missing one is reported in a stable order.
    const bool skip = o.skip_missing_data;
    const std::string train_images = find_file(o.data, "train-images-idx3-ubyte", skip);
    const std::string train_labels = find_file(o.data, "train-labels-idx1-ubyte", skip);
    const std::string test_images = find_file(o.data, "t10k-images-idx3-ubyte", skip);
    const std::string test_labels = find_file(o.data, "t10k-labels-idx1-ubyte", skip);
    d.train = nn::read_idx_dataset(train_images, train_labels);
    d.test = nn::read_idx_dataset(test_images, test_labels);
    for (const auto* s : {&d.train, &d.test})
      if (s->rows != 28 || s->cols != 28)
        throw nn::format_error(stco::detail::message("train_fashion_mnist: images are ", s->rows,
                                                     "x", s->cols, ", Fashion-MNIST's are 28x28"));
    const index_t n_train = o.limit ? std::min<index_t>(o.limit, d.train.count) : d.train.count;
    const index_t n_test = o.limit ? std::min<index_t>(o.limit, d.test.count) : d.test.count;
    std::fprintf(stderr,
                 "Fashion-MNIST: %lld training and %lld test images (read in %.1fs); %d epochs, "
                 "batch %d, %d threads, seed %llu\n",
                 static_cast<long long>(n_train), static_cast<long long>(n_test),
                 std::chrono::duration<double>(clk::now() - t0).count(), o.epochs, o.batch,
                 stco::num_threads(), static_cast<unsigned long long>(o.seed));
    std::filesystem::create_directories(o.out);
    std::FILE* epochs_csv = std::fopen((o.out + "/epochs.csv").c_str(), "w");
    std::FILE* loss_csv = std::fopen((o.out + "/loss_curve.csv").c_str(), "w");
    if (!epochs_csv || !loss_csv)
      throw stco::argument_error("train_fashion_mnist: cannot write into '" + o.out + "'");
    std::fprintf(epochs_csv, "run,epoch,test_loss,test_accuracy,training_seconds\n");
    std::fprintf(loss_csv, "run,epoch,step,train_loss\n");

    std::vector<run_result> results;
    for (const auto& key : o.layouts) {
      const run_spec spec = spec_of(key);
      std::fprintf(stderr, "run %s:\n%s", spec.label.c_str(),
                   spec.build(o.seed).summary({o.batch, 28, 28, 1}).c_str());
      results.push_back(train(spec, d, o, n_train, n_test, epochs_csv, loss_csv));
    }
    std::fclose(epochs_csv);
    std::fclose(loss_csv);

    const run_result* dense = nullptr;
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
    write_chart(o.out + "/fashion_mnist.svg",
                "Fashion-MNIST CNN: dense vs structured sparse (stco, CPU)", loss, acc, prune_at,
                "sparse runs pruned");
    std::ofstream(o.out + "/results.md") << table;
    std::printf("curves: %s/epochs.csv, %s/loss_curve.csv; chart: %s/fashion_mnist.svg\n",
                o.out.c_str(), o.out.c_str(), o.out.c_str());

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
  } catch (const stco::error& e) {
    std::fprintf(stderr, "train_fashion_mnist: %s\n", e.what());
    return 1;
  }
}
