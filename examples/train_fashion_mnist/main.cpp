// train_fashion_mnist — trains a small CNN on Fashion-MNIST three ways (dense, nm<2,4>, and
// tile_wise<32> at 75% sparsity), with the same epochs, seed and recipe, and reports test accuracy,
// training time and the time ratio against dense; writes the curves as CSV and an SVG chart.
// By default a quick run (one epoch on the first 10,000 training images: under three minutes of
// training on two cores); --full trains on the whole set for three epochs (about 25 minutes).
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
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <system_error>

#include "idx.hpp"
#include "train.hpp"

using namespace fmnist;

#ifdef STCO_EXAMPLE_CUDA
namespace fmnist {
/// train_cuda.cu: run_all on the CUDA backend.
int run_cuda(const options& o, const data_set& d, index_t n_train, index_t n_test);
}  // namespace fmnist
#endif

namespace {

// The default run and the option ranges. quick_limit: 10,000 images for one epoch, three runs:
// 56-66 s of training, 88-107 s in all (54-71 CPU-s), on the 2-core development machine while
// other builds kept its load average at 4-6; --full is the README's run (about 25 minutes). The
// ranges keep every product of them (steps, warm-up steps) far inside 64 bits.
constexpr long quick_limit = 10000;
constexpr int full_epochs = 3;
constexpr int max_epochs = 1000;
constexpr long max_limit = 1000000000;
constexpr int max_batch = 4096;
constexpr int max_threads = 1024;

void print_usage(std::FILE* to) {
  std::fprintf(to,
               "usage: train_fashion_mnist [--full] [--data DIR] [--epochs N] [--limit N]\n"
               "                           [--batch N] [--threads N] [--seed N] [--lr X]\n"
               "                           [--warmup EPOCHS] [--out DIR]\n"
               "                           [--layouts dense,nm,tile_wise] [--device cpu|cuda]\n"
               "  By default a quick run: one epoch on the first %ld training images (about a\n"
               "  minute of training on two cores), tested on the first %ld test images.\n"
               "  --full         the whole data set for %d epochs (the README's numbers; about\n"
               "                 25 minutes on two cores)\n"
               "  --data DIR     Fashion-MNIST IDX files, plain or .gz (default %s)\n"
               "  --epochs N     epochs per run, 1 to %d (default 1, --full %d)\n"
               "  --limit N      use the first N training and N test images, 1 to %ld\n"
               "                 (default %ld, --full all)\n"
               "  --batch N      batch size, 1 to %d (default 64)\n"
               "  --threads N    CPU threads, 1 to %d (default: all cores, or STCO_NUM_THREADS)\n"
               "  --seed N       model and shuffling seed, 0 to 2^64-1 (default 1)\n"
               "  --lr X         initial learning rate, > 0 (default 0.05)\n"
               "  --warmup E     dense epochs before the sparse runs prune (default 1; at most\n"
               "                 half of the run)\n"
               "  --out DIR      where the CSV curves, the SVG chart, results.md and the saved\n"
               "                 models go (default fashion_mnist_out)\n"
               "  --layouts L    comma-separated runs: dense, nm (nm<2,4>), tile_wise\n"
               "                 (tile_wise<32> at 75%%)\n"
               "  --device D     cpu or cuda (default cpu)\n",
               quick_limit, quick_limit, full_epochs, options{}.data.c_str(), max_epochs,
               full_epochs, max_limit, quick_limit, max_batch, max_threads);
}

/// A usage error: the reason on stderr, exit status 2.
[[noreturn]] void usage_error(const std::string& why) {
  std::fprintf(stderr, "train_fashion_mnist: %s\n(train_fashion_mnist --help lists the options)\n",
               why.c_str());
  std::exit(2);
}

/// `v` as an integer in [lo, hi]: digits only (no sign, exponent, fraction or trailing text).
template <class I>
I parse_integer(const std::string& option, const std::string& v, I lo, I hi) {
  I x{};
  const char* end = v.data() + v.size();
  const auto r = std::from_chars(v.data(), end, x);
  const bool digits = !v.empty() && v[0] >= '0' && v[0] <= '9';
  if (!digits || r.ptr != end || r.ec == std::errc::invalid_argument)
    usage_error(option + ": '" + v + "' is not a whole number (allowed: " + std::to_string(lo) +
                " to " + std::to_string(hi) + ")");
  if (r.ec == std::errc::result_out_of_range || x < lo || x > hi)
    usage_error(option + ": " + v + " is out of range (allowed: " + std::to_string(lo) + " to " +
                std::to_string(hi) + ")");
  return x;
}

/// `v` as a finite real number in [lo, hi].
double parse_real(const std::string& option, const std::string& v, double lo, double hi,
                  const char* range) {
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end || !std::isfinite(d))
    usage_error(option + ": '" + v + "' is not a number (allowed: " + range + ")");
  if (!(d >= lo && d <= hi))
    usage_error(option + ": " + v + " is out of range (allowed: " + range + ")");
  return d;
}

options parse(int argc, char** argv) {
  options o;
  o.epochs = 1;
  o.limit = quick_limit;
  bool full = false;
  long limit = -1;
  int epochs = -1;
  auto value = [&](int& i) -> std::string {
    if (i + 1 >= argc) usage_error(std::string(argv[i]) + " needs a value");
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--data")
      o.data = value(i);
    else if (a == "--out")
      o.out = value(i);
    else if (a == "--device")
      o.device = value(i);
    else if (a == "--full")
      full = true;
    else if (a == "--epochs")
      epochs = parse_integer<int>(a, value(i), 1, max_epochs);
    else if (a == "--limit")
      limit = parse_integer<long>(a, value(i), 1, max_limit);
    else if (a == "--batch")
      o.batch = parse_integer<int>(a, value(i), 1, max_batch);
    else if (a == "--threads")
      o.threads = parse_integer<int>(a, value(i), 1, max_threads);
    else if (a == "--seed")
      o.seed = parse_integer<std::uint64_t>(a, value(i), 0, ~std::uint64_t{0});
    else if (a == "--lr")
      o.lr = parse_real(a, value(i), 1e-9, 1e3, "1e-9 to 1000");
    else if (a == "--warmup")
      o.warmup = parse_real(a, value(i), 0, max_epochs, "0 to 1000 epochs");
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
          usage_error("--layouts: unknown run '" + name + "' (dense, nm, tile_wise)");
        p = q + 1;
      }
    } else if (a == "-h" || a == "--help") {
      print_usage(stdout);
      std::exit(0);
    } else
      usage_error("unknown option " + a);
  }
  if (full) o.epochs = full_epochs, o.limit = 0;
  if (epochs > 0) o.epochs = epochs;
  if (limit > 0) o.limit = limit;
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
    usage_error("--device: unknown device '" + o.device + "' (cpu or cuda)");
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
    d.train = read_idx_dataset(train_images, train_labels);
    d.test = read_idx_dataset(test_images, test_labels);
    for (const auto* s : {&d.train, &d.test})
      if (s->rows != 28 || s->cols != 28)
        throw idx_error(stco::detail::message("train_fashion_mnist: images are ", s->rows, "x",
                                              s->cols, ", Fashion-MNIST's are 28x28"));
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
