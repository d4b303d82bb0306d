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
// --device cuda trains the same runs on the GPU (train_cuda.cu, built when CUDA is found) and
// writes its files with the suffix _cuda.
#include "train.hpp"

using namespace fmnist;

#ifdef STCO_EXAMPLE_CUDA
namespace fmnist {
/// train_cuda.cu: run_all on the CUDA backend.
int run_cuda(const options& o, const data_set& d, index_t n_train, index_t n_test);
}  // namespace fmnist
#endif

namespace {

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

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
#ifndef STCO_EXAMPLE_CUDA
  if (o.device == "cuda") {
    std::fprintf(stderr,
                 "train_fashion_mnist: --device cuda: this build has no CUDA support (it was "
                 "configured without a CUDA compiler; reconfigure where nvcc is found to build the "
                 "example's CUDA part); run with --device cpu\n");
    return 2;
  }
#endif
  if (o.device != "cpu" && o.device != "cuda")
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
#ifdef STCO_EXAMPLE_CUDA
    if (o.device == "cuda") return run_cuda(o, d, n_train, n_test);
#endif
    return run_all<nn::cpu>(o, d, n_train, n_test);
  } catch (const stco::error& e) {
    std::fprintf(stderr, "train_fashion_mnist: %s\n", e.what());
    return 1;
  }
}
