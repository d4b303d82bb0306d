// Sparse GEMM and sparse convolution on the CPU, forward and backward, per layout, against the two
// peers a user would otherwise pick, measured in the same process:
//   - Eigen dense GEMM (Eigen 3.4, OpenMP, 2 threads) on the dense shape: W·X, Wᵀ·dY, dY·Xᵀ;
//   - Eigen SparseMatrix<float, RowMajor> (CSR) × dense on the same mask as the stco weight.
//
// For every problem (square matmul, or a conv layer of VGG16 / ResNet-18) and layout, four
// benchmarks: fwd (Y = W·X), dx (dX = Wᵀ·dY), dw (dW at W's kept addresses) and step (the three
// in a row). Counters (per repetition; the median aggregate is what run.sh tabulates):
//   vs_eigen_dense, vs_eigen_csr   peer time / stco time of the same op (above 1: stco faster)
//   gflops                         useful work of stco: 2·kept·N per product
//   eigen_dense_gflops             the dense peer's rate on the full 2·R·K·N
//   eigen_csr_gflops               the CSR peer's rate on 2·kept·N
//   eigen_dense_ms, eigen_csr_ms   the peers' medians
//   density                        kept / (R·K)
//
// Peers are timed in their own phase, right before the first benchmark of each problem × layout
// (median of ≥ 3 runs after a warm-up). The stco kernels run on stco's pool, whose workers sleep
// on a condition variable; libgomp's workers instead spin after each Eigen region (GOMP_SPINCOUNT,
// about 300,000 pauses by default) and would steal one of the two cores from stco's first
// iterations: after the peer phase this program sleeps until those spins are over (run.sh also
// sets a short GOMP_SPINCOUNT). See bench/cpu/run.sh.
//
//   ./bench_ops --benchmark_filter='mm1024/nm<2,4>' --benchmark_counters_tabular=true
//   extra flags: --reps=N (repetitions, default 5; at most 3 for mm4096), --min_time=S (seconds
//   per repetition, default 0.05)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <Eigen/Core>
#include <Eigen/SparseCore>

#include <stco/interop/eigen.hpp>
#include <stco/stco.hpp>

#include "eigen_peers.hpp"
#include "networks.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

using stco::index_t;
// Random data, median timing, the libgomp settle and the Eigen peers: bench/common/eigen_peers.hpp.
using namespace stco_bench::cpu;

constexpr int kThreads = 2;

// ---------------------------------------------------------------------------------------------
// Problems

/// One GEMM problem: W [R, K] times X [K, N]; for a convolution R = Cout, K = KH·KW·Cin and
/// N = batch·OH·OW (the implicit GEMM), with the NHWC input [batch, hw, hw, cin].
struct problem {
  std::string name;
  index_t R = 0, K = 0, N = 0;
  bool is_conv = false;
  index_t batch = 0, hw = 0, cin = 0;
  stco::conv params{};
  std::string label;
};

problem square(index_t n) {
  problem p;
  p.name = "mm" + std::to_string(n);
  p.R = p.K = p.N = n;
  p.label = "W[" + std::to_string(n) + "," + std::to_string(n) + "] X[" + std::to_string(n) + "," +
            std::to_string(n) + "]";
  return p;
}

problem conv_problem(const std::string& net, const stco_bench::conv_layer& l, index_t batch) {
  problem p;
  p.name = net + "." + l.name;
  p.is_conv = true;
  p.batch = batch;
  p.hw = l.in_hw;
  p.cin = l.cin;
  p.R = l.cout;
  p.K = l.gemm_k();
  p.N = batch * l.out_hw() * l.out_hw();
  p.params = stco::conv{}.kernel(l.kernel).stride(l.stride).pad(l.pad).group(l.groups);
  p.label = std::to_string(l.cin) + "->" + std::to_string(l.cout) + " k" +
            std::to_string(l.kernel) + " s" + std::to_string(l.stride) + " in " +
            std::to_string(batch) + "x" + std::to_string(l.in_hw) + "x" + std::to_string(l.in_hw) +
            ": GEMM R=" + std::to_string(p.R) + " K=" + std::to_string(p.K) +
            " N=" + std::to_string(p.N);
  return p;
}

// The CPU-sized convolution problems: batch 8, each network at the input where one dense step
// (forward + dX + dW) of every distinct layer takes about 1–30 ms at Eigen's speed on 2 cores.
// VGG16 keeps its full resolution through the early stages, so it runs at 64×64 (its layers at
// 64, 32, 16, 8, 4); ResNet-18's stem divides by 4 at once, so it runs at its native 224×224
// (layers at 56 .. 7). Only distinct shapes are measured (repeats are summed in networks.hpp).
constexpr index_t kConvBatch = 8;
constexpr int kVggResolution = 64, kResnetResolution = 224;

std::vector<problem> problems() {
  std::vector<problem> out = {square(1024), square(2048), square(4096)};
  const std::pair<const stco_bench::network*, int> nets[] = {
      {&stco_bench::vgg16(), kVggResolution}, {&stco_bench::resnet18(), kResnetResolution}};
  for (const auto& [net, res] : nets)
    for (const auto& l : stco_bench::distinct_layers(stco_bench::at_resolution(*net, res)))
      out.push_back(conv_problem(net->name, l, kConvBatch));
  return out;
}

// ---------------------------------------------------------------------------------------------
// stco side

enum class op { fwd, dx, dw, step };
const char* op_name(op o) {
  switch (o) {
    case op::fwd:
      return "fwd";
    case op::dx:
      return "dx";
    case op::dw:
      return "dw";
    default:
      return "step";
  }
}

/// A problem × layout, built on first use and kept while its benchmarks run: the pruned weight,
/// stco's operands, and the peers' medians timed when it was built.
struct case_base {
  virtual ~case_base() = default;
  virtual void run(op o) = 0;
  std::string key;
  double kept = 0, density = 0;
  double dense_flops = 0;  // 2·R·K·N
  peer_times dense, csr;
};

template <class L>
struct case_data final : case_base {
  const problem& p;
  stco::sparse_matrix<float, L> W, dW;
  stco::tensor<float, 2> X2, Y2, dY2, dX2;  // matmul
  stco::tensor<float, 4> X4, Y4, dY4, dX4;  // conv, NHWC

  case_data(const problem& prob, double sparsity)
      : p(prob), W(make_weight(prob, sparsity)), dW(W.zeros_like()) {
    if (p.is_conv) {
      const index_t oh = stco::conv_out_extent(p.hw, p.params.kh, p.params.stride_h, p.params.pad_h,
                                               p.params.dilation_h);
      X4 = stco::tensor<float, 4>(stco::dextents<4>(p.batch, p.hw, p.hw, p.cin));
      Y4 = stco::tensor<float, 4>(stco::dextents<4>(p.batch, oh, oh, p.R));
      dY4 = stco::tensor<float, 4>(stco::dextents<4>(p.batch, oh, oh, p.R));
      dX4 = stco::tensor<float, 4>(stco::dextents<4>(p.batch, p.hw, p.hw, p.cin));
      fill_random(X4.data(), X4.size(), 2);
      fill_random(dY4.data(), dY4.size(), 3);
    } else {
      X2 = stco::tensor<float, 2>(stco::dextents<2>(p.K, p.N));
      Y2 = stco::tensor<float, 2>(stco::dextents<2>(p.R, p.N));
      dY2 = stco::tensor<float, 2>(stco::dextents<2>(p.R, p.N));
      dX2 = stco::tensor<float, 2>(stco::dextents<2>(p.K, p.N));
      fill_random(X2.data(), X2.size(), 2);
      fill_random(dY2.data(), dY2.size(), 3);
    }
    kept = static_cast<double>(W.kept());
    density = W.density();
    dense_flops =
        2.0 * static_cast<double>(p.R) * static_cast<double>(p.K) * static_cast<double>(p.N);
  }

  static stco::sparse_matrix<float, L> make_weight(const problem& p, double sparsity) {
    stco::tensor<float, 2> w(stco::dextents<2>(p.R, p.K));
    fill_random(w.data(), w.size(), 1);
    return stco::prune<L>(w, sparsity);
  }

  void fwd() {
    if (p.is_conv)
      stco::eval(Y4, stco::conv2d(W, X4, p.params));
    else
      stco::eval(Y2, stco::matmul(W, X2));
  }
  // Gradients through the public interface: grad(expr, dY).wrt_into(...).
  void dx() {
    if (p.is_conv)
      stco::grad(stco::conv2d(W, X4, p.params), dY4).wrt_into(X4.view(), dX4.view());
    else
      stco::grad(stco::matmul(W, X2), dY2).wrt_into(X2.view(), dX2.view());
  }
  void dw() {
    if (p.is_conv)
      stco::grad(stco::conv2d(W, X4, p.params), dY4).wrt_into(W, dW);
    else
      stco::grad(stco::matmul(W, X2), dY2).wrt_into(W, dW);
  }
  void run(op o) override {
    switch (o) {
      case op::fwd:
        fwd();
        break;
      case op::dx:
        dx();
        break;
      case op::dw:
        dw();
        break;
      case op::step:
        fwd(), dx(), dw();
        break;
    }
    benchmark::ClobberMemory();
  }
};

std::unique_ptr<case_base> current;  // one case alive at a time: the big ones take ~1 GB

/// The case for (p, L, sparsity): built, its peers timed, and stco warmed up (the transposed
/// traversal is built and cached in the entity on the first dX) when the key changes.
template <class L>
case_base& get_case(const problem& p, double sparsity, const std::string& key) {
  if (current && current->key == key) return *current;
  current.reset();
  auto c = std::make_unique<case_data<L>>(p, sparsity);
  c->key = key;
  {
    eigen_operands e(p.R, p.K, p.N);
    c->dense = time_eigen_dense(e);
    eigen_csr s(stco::kept_mask(c->W.entity()));
    c->csr = time_eigen_csr(s, e);
  }
  settle_after_openmp();
  c->run(op::step);
  current = std::move(c);
  return *current;
}

template <class L>
void bench_case(benchmark::State& state, const problem& p, double sparsity, op o,
                const std::string& key) {
  case_base& c = get_case<L>(p, sparsity, key);
  const auto t0 = clock_type::now();
  for (auto _ : state) c.run(o);
  const double t = seconds_since(t0) / static_cast<double>(state.iterations());

  const auto pick = [o](const peer_times& pt) {
    switch (o) {
      case op::fwd:
        return pt.fwd;
      case op::dx:
        return pt.dx;
      case op::dw:
        return pt.dw;
      default:
        return pt.step();
    }
  };
  const double products = o == op::step ? 3.0 : 1.0;
  const double useful = 2.0 * c.kept * static_cast<double>(p.N) * products;
  const double td = pick(c.dense), ts = pick(c.csr);
  state.counters["vs_eigen_dense"] = td / t;
  state.counters["vs_eigen_csr"] = ts / t;
  state.counters["gflops"] = useful / t * 1e-9;
  state.counters["eigen_dense_gflops"] = c.dense_flops * products / td * 1e-9;
  state.counters["eigen_csr_gflops"] = useful / ts * 1e-9;
  state.counters["eigen_dense_ms"] = td * 1e3;
  state.counters["eigen_csr_ms"] = ts * 1e3;
  state.counters["density"] = c.density;
  state.SetLabel(p.label);
}

/// Problems of at least this many flops per product run at most 3 repetitions.
constexpr double kHeavyFlops = 1e11;

struct options {
  int reps = 5;
  double min_time = 0.05;
};

template <class L>
void register_case(const problem& p, double sparsity, const options& opt) {
  // One product of the biggest problems (4096³) takes ~0.5 s: 3 repetitions keep the run short.
  const double flops =
      2.0 * static_cast<double>(p.R) * static_cast<double>(p.K) * static_cast<double>(p.N);
  const int reps = flops >= kHeavyFlops ? std::min(opt.reps, 3) : opt.reps;
  char sp[16];
  std::snprintf(sp, sizeof sp, "%.2f", sparsity);
  const std::string key = p.name + "/" + L::name() + "@" + sp;
  for (op o : {op::fwd, op::dx, op::dw, op::step}) {
    benchmark::RegisterBenchmark(
        (key + "/" + op_name(o)).c_str(),
        [&p, sparsity, o, key](benchmark::State& st) { bench_case<L>(st, p, sparsity, o, key); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond)
        ->Repetitions(reps)
        ->MinTime(opt.min_time);
  }
}

/// Problem-major, so that every layout of a problem is measured in the same stretch of time.
void register_all(const std::vector<problem>& ps, const options& opt) {
  for (const problem& p : ps) {
    register_case<stco::nm<2, 4>>(p, 0.5, opt);
    register_case<stco::nm<1, 4>>(p, 0.75, opt);
    for (double s : {0.5, 0.75}) register_case<stco::tile_wise<32>>(p, s, opt);
    for (double s : {0.5, 0.75}) register_case<stco::tile_vector<32, 2, 4>>(p, s, opt);
    for (double s : {0.5, 0.75}) register_case<stco::block<4, 4>>(p, s, opt);
    for (double s : {0.5, 0.75}) register_case<stco::channel>(p, s, opt);
    for (double s : {0.5, 0.75}) register_case<stco::csr>(p, s, opt);
  }
}

/// Flags of this program (GoogleBenchmark's own are removed by benchmark::Initialize first).
options parse_options(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--reps=", 0) == 0)
      o.reps = std::max(1, std::atoi(a.c_str() + 7));
    else if (a.rfind("--min_time=", 0) == 0)
      o.min_time = std::max(0.001, std::atof(a.c_str() + 11));
    else {
      std::fprintf(stderr, "bench_ops: unknown flag %s (own flags: --reps=N --min_time=S)\n",
                   argv[i]);
      std::exit(2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const options opt = parse_options(argc, argv);

  set_threads_and_context("bench_ops", kThreads);
  benchmark::AddCustomContext("simd_bytes", std::to_string(stco::kernel::cpu::simd_bytes));
  benchmark::AddCustomContext("repetitions", std::to_string(opt.reps) + " (at most 3 for " +
                                                 "problems of ≥ 1e11 flops per product)");
  benchmark::AddCustomContext("conv_batch", std::to_string(kConvBatch));
  benchmark::AddCustomContext("conv_inputs", "vgg16 " + std::to_string(kVggResolution) + "x" +
                                                 std::to_string(kVggResolution) + ", resnet18 " +
                                                 std::to_string(kResnetResolution) + "x" +
                                                 std::to_string(kResnetResolution));

  static const std::vector<problem> ps = problems();
  register_all(ps, opt);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
