// Cost of building an index entity (prune, encode) and of decoding, per layout. Encoding is set
// against Eigen building CSR from the same dense matrix (`sparseView`), measured in the same run:
// the counter `vs_eigen_csr` is Eigen's time over stco's (above 1: stco is faster).
//
//   ./bench_layouts --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <chrono>
#include <random>

#include <stco/interop/eigen.hpp>
#include <stco/stco.hpp>

namespace {

constexpr stco::index_t R = 512, K = 1152;  // a VGG16 3x3 conv (128 -> 512 channels is 1152 x 512)

const stco::tensor<float, 2>& weight() {
  static const stco::tensor<float, 2> w = [] {
    stco::tensor<float, 2> t({R, K});
    std::mt19937 g(7);
    std::normal_distribution<float> n(0.0f, 1.0f);
    for (auto& x : t) x = n(g);
    return t;
  }();
  return w;
}

// Eigen's CSR build from a dense matrix (`sparseView`), in seconds, the mean of a few runs.
double eigen_csr_seconds(const stco::tensor<float, 2>& pruned) {
  const auto m = stco::as_eigen(pruned);
  const int reps = 5;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) {
    Eigen::SparseMatrix<float, Eigen::RowMajor> s = m.sparseView();
    benchmark::DoNotOptimize(s.nonZeros());
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
}

template <class L>
double bench_sparsity() {
  return L::min_sparsity == L::max_sparsity ? L::min_sparsity : 0.75;
}

// Magnitude pruning: selection plus index construction (no peer does N:M / tile selection on the
// CPU).
template <class L>
void BM_prune(benchmark::State& state) {
  const auto& w = weight();
  for (auto _ : state) {
    auto p = stco::prune<L>(w, bench_sparsity<L>());
    benchmark::DoNotOptimize(p.values());
  }
}

// Encoding an already-pruned dense weight, against Eigen building CSR from the same matrix.
template <class L>
void BM_encode(benchmark::State& state) {
  const auto pruned = stco::decode(stco::prune<L>(weight(), bench_sparsity<L>()));
  const double eigen_s = eigen_csr_seconds(pruned);
  for (auto _ : state) {
    auto p = stco::encode<L>(pruned);
    benchmark::DoNotOptimize(p.values());
  }
  state.counters["eigen_csr_ms"] = eigen_s * 1e3;
  // Eigen's time over ours: a rate of eigen_s per iteration divided by our elapsed time.
  state.counters["vs_eigen_csr"] = benchmark::Counter(
      eigen_s * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

template <class L>
void BM_decode(benchmark::State& state) {
  const auto p = stco::prune<L>(weight(), bench_sparsity<L>());
  stco::tensor<float, 2> out({R, K});
  for (auto _ : state) {
    stco::decode_into(p, out.view());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(p.bytes() + out.size() * 4));
}

}  // namespace

BENCHMARK_TEMPLATE(BM_prune, stco::nm<2, 4>)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_prune, stco::block<4, 4>)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_prune, stco::tile_wise<32>)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_prune, stco::tile_vector<32, 2, 4>)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_prune, stco::channel)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_prune, stco::csr)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_encode, stco::nm<2, 4>)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_encode, stco::tile_wise<32>)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_encode, stco::block<4, 4>)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_encode, stco::csr)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_decode, stco::nm<2, 4>)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_decode, stco::tile_wise<32>)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_decode, stco::csr)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
