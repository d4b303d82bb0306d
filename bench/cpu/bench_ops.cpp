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

#include "networks.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

using stco::index_t;
using clock_type = std::chrono::steady_clock;
using dense_t = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using csr_t = Eigen::SparseMatrix<float, Eigen::RowMajor>;

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
// Data and timing helpers

/// Uniform values in [-1, 1): a fast generator, since the big problems fill ~10^8 entries.
struct rng {
  std::uint64_t s;
  explicit rng(std::uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  float next() {
    s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
    const std::uint64_t x = s * 0x2545F4914F6CDD1Dull;
    return static_cast<float>(static_cast<double>(x >> 40) * (2.0 / 16777216.0) - 1.0);
  }
};
template <class It>
void fill_random(It begin, It end, std::uint64_t seed) {
  rng g(seed);
  for (auto it = begin; it != end; ++it) *it = g.next();
}
void fill_random(float* p, index_t n, std::uint64_t seed) { fill_random(p, p + n, seed); }

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// Median time of f in seconds: one warm-up call, then at least 3 and at most 15 timed calls,
/// until 0.2 s have been spent.
double median_seconds(const std::function<void()>& f) {
  f();
  std::vector<double> t;
  double total = 0;
  while (t.size() < 3 || (t.size() < 15 && total < 0.2)) {
    const auto t0 = clock_type::now();
    f();
    t.push_back(seconds_since(t0));
    total += t.back();
  }
  std::sort(t.begin(), t.end());
  const std::size_t n = t.size();
  return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/// CPU time this process spent while the calling thread slept `ms` milliseconds: what other
/// threads (libgomp's spinning workers) burn after a parallel region.
double busy_while_sleeping_ms(int ms) {
  timespec a{}, b{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
  return (static_cast<double>(b.tv_sec - a.tv_sec) * 1e3 +
          static_cast<double>(b.tv_nsec - a.tv_nsec) * 1e-6);
}

/// Waits until libgomp's workers stop spinning (at most ~1 s), so that stco's timed iterations
/// have both cores.
void settle_after_openmp() {
  for (int i = 0; i < 50; ++i)
    if (busy_while_sleeping_ms(20) < 1.0) return;
}

// ---------------------------------------------------------------------------------------------
// Peers

/// Medians of the three products, in seconds.
struct peer_times {
  double fwd = 0, dx = 0, dw = 0;
  double step() const { return fwd + dx + dw; }
};

/// The dense operands of a problem as Eigen sees them; for a convolution the GEMM runs on the
/// im2col shapes and the im2col itself is not timed (the peer gets it for free: conservative).
struct eigen_operands {
  dense_t W, X, dY;   // W [R, K], X [K, N], dY [R, N]
  dense_t Y, dX, dW;  // outputs
  explicit eigen_operands(const problem& p)
      : W(p.R, p.K), X(p.K, p.N), dY(p.R, p.N), Y(p.R, p.N), dX(p.K, p.N), dW(p.R, p.K) {
    fill_random(W.data(), W.size(), 11);
    fill_random(X.data(), X.size(), 12);
    fill_random(dY.data(), dY.size(), 13);
    Y.setZero(), dX.setZero(), dW.setZero();  // touch the pages before timing
  }
};

peer_times time_eigen_dense(eigen_operands& e) {
  peer_times t;
  t.fwd = median_seconds([&] { e.Y.noalias() = e.W * e.X; });
  t.dx = median_seconds([&] { e.dX.noalias() = e.W.transpose() * e.dY; });
  t.dw = median_seconds([&] { e.dW.noalias() = e.dY * e.X.transpose(); });
  return t;
}

/// Eigen CSR on a mask:
///   fwd  Y  = S·X, Eigen's row-parallel sparse × dense product (OpenMP);
///   dx   dX = Sᵀ·dY through a row-major copy of Sᵀ built before timing: on the row-major S,
///        `S.transpose() * dY` runs serially in Eigen 3.4, and a trainer would have to refresh
///        the copy's values every step, so leaving that out makes the peer faster (conservative);
///   dw   Eigen has no sampled product (SDDMM), so a CSR user computes the dense gradient
///        dY·Xᵀ with Eigen's GEMM and reads the kept entries out of it through S's pattern
///        (both timed). Per-entry dot products dY[r,:]·X[k,:] cost more at these densities.
struct eigen_csr {
  csr_t S, St;
  std::vector<float> dvals;
  explicit eigen_csr(const stco::tensor<unsigned char, 2>& mask) {
    const index_t R = mask.extent(0), K = mask.extent(1);
    std::vector<Eigen::Triplet<float>> trip;
    rng g(21);
    for (index_t r = 0; r < R; ++r)
      for (index_t k = 0; k < K; ++k)
        if (mask(r, k)) trip.emplace_back(static_cast<int>(r), static_cast<int>(k), g.next());
    S.resize(R, K);
    S.setFromTriplets(trip.begin(), trip.end());
    S.makeCompressed();
    St = S.transpose();
    St.makeCompressed();
    dvals.assign(static_cast<std::size_t>(S.nonZeros()), 0.0f);
  }
  void gather_dw(const dense_t& dW) {
    const int* outer = S.outerIndexPtr();
    const int* inner = S.innerIndexPtr();
    float* out = dvals.data();
    const index_t R = S.rows(), K = S.cols();
    const float* d = dW.data();
    for (index_t r = 0; r < R; ++r)
      for (int p = outer[r]; p < outer[r + 1]; ++p) out[p] = d[r * K + inner[p]];
  }
};

peer_times time_eigen_csr(eigen_csr& c, eigen_operands& e) {
  peer_times t;
  t.fwd = median_seconds([&] { e.Y.noalias() = c.S * e.X; });
  t.dx = median_seconds([&] { e.dX.noalias() = c.St * e.dY; });
  t.dw = median_seconds([&] {
    e.dW.noalias() = e.dY * e.X.transpose();
    c.gather_dw(e.dW);
  });
  return t;
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
    eigen_operands e(p);
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

  stco::set_num_threads(kThreads);
  Eigen::setNbThreads(kThreads);
#ifdef _OPENMP
  const bool eigen_openmp = true;
#else
  const bool eigen_openmp = false;
  std::fprintf(stderr, "bench_ops: built without OpenMP: the Eigen peers run on one thread\n");
#endif
  benchmark::AddCustomContext("stco_threads", std::to_string(stco::num_threads()));
  benchmark::AddCustomContext("eigen_threads", std::to_string(Eigen::nbThreads()));
  benchmark::AddCustomContext("eigen_openmp", eigen_openmp ? "yes" : "no");
  benchmark::AddCustomContext("eigen_version", std::to_string(EIGEN_WORLD_VERSION) + "." +
                                                   std::to_string(EIGEN_MAJOR_VERSION) + "." +
                                                   std::to_string(EIGEN_MINOR_VERSION));
  benchmark::AddCustomContext("simd_bytes", std::to_string(stco::kernel::cpu::simd_bytes));
  benchmark::AddCustomContext("bench_build",
#if defined(__OPTIMIZE__) && defined(NDEBUG)
                              "optimized, NDEBUG"
#elif defined(__OPTIMIZE__)
                              "optimized, assertions on"
#else
                              "NOT optimized"
#endif
  );
  benchmark::AddCustomContext("repetitions", std::to_string(opt.reps) + " (at most 3 for " +
                                                 "problems of ≥ 1e11 flops per product)");
  benchmark::AddCustomContext("conv_batch", std::to_string(kConvBatch));
  benchmark::AddCustomContext("conv_inputs", "vgg16 " + std::to_string(kVggResolution) + "x" +
                                                 std::to_string(kVggResolution) + ", resnet18 " +
                                                 std::to_string(kResnetResolution) + "x" +
                                                 std::to_string(kResnetResolution));
  for (const char* v : {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS"})
    if (const char* s = std::getenv(v)) benchmark::AddCustomContext(v, s);

  static const std::vector<problem> ps = problems();
  register_all(ps, opt);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
