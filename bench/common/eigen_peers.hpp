// bench/common/eigen_peers.hpp — what the CPU benchmarks share: random data, median timing, the
// libgomp settle, and the two Eigen peers of a sparse GEMM / convolution step measured in the same
// process (bench/cpu/bench_ops.cpp, bench/networks/bench_networks_cpu.cpp), and their thread
// set-up and run context:
//   - Eigen dense GEMM (OpenMP threads) on the dense shape: W·X, Wᵀ·dY, dY·Xᵀ;
//   - Eigen SparseMatrix<float, RowMajor> (CSR) × dense on a given mask.
// For a convolution both peers run on the im2col GEMM shapes (R = Cout, K = KH·KW·Cin, N =
// batch·OH·OW); the im2col itself is not timed (the peers get it for free: conservative).
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <Eigen/Core>
#include <Eigen/SparseCore>

#include <stco/core.hpp>
#include <stco/core/parallel.hpp>

namespace stco_bench::cpu {

using clock_type = std::chrono::steady_clock;
using dense_t = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using csr_t = Eigen::SparseMatrix<float, Eigen::RowMajor>;

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
inline void fill_random(float* p, stco::index_t n, std::uint64_t seed) {
  fill_random(p, p + n, seed);
}

inline double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// Median time of f in seconds: one warm-up call, then at least 3 and at most 15 timed calls,
/// until `budget_s` (default 0.2 s) have been spent.
inline double median_seconds(const std::function<void()>& f, double budget_s = 0.2) {
  f();
  std::vector<double> t;
  double total = 0;
  while (t.size() < 3 || (t.size() < 15 && total < budget_s)) {
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
inline double busy_while_sleeping_ms(int ms) {
  timespec a{}, b{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
  return (static_cast<double>(b.tv_sec - a.tv_sec) * 1e3 +
          static_cast<double>(b.tv_nsec - a.tv_nsec) * 1e-6);
}

/// Waits until libgomp's workers stop spinning (at most ~1 s), so that stco's timed iterations
/// have both cores. libgomp's workers spin after each Eigen region (GOMP_SPINCOUNT, about
/// 300,000 pauses by default) while stco's pool sleeps on a condition variable.
inline void settle_after_openmp() {
  for (int i = 0; i < 50; ++i)
    if (busy_while_sleeping_ms(20) < 1.0) return;
}

/// Medians of the three products, in seconds.
struct peer_times {
  double fwd = 0, dx = 0, dw = 0;
  double step() const { return fwd + dx + dw; }
};

/// The dense operands of a GEMM problem W [R, K] · X [K, N] as Eigen sees them.
struct eigen_operands {
  dense_t W, X, dY;   // W [R, K], X [K, N], dY [R, N]
  dense_t Y, dX, dW;  // outputs
  eigen_operands(stco::index_t R, stco::index_t K, stco::index_t N)
      : W(R, K), X(K, N), dY(R, N), Y(R, N), dX(K, N), dW(R, K) {
    fill_random(W.data(), W.size(), 11);
    fill_random(X.data(), X.size(), 12);
    fill_random(dY.data(), dY.size(), 13);
    Y.setZero(), dX.setZero(), dW.setZero();  // touch the pages before timing
  }
};

inline peer_times time_eigen_dense(eigen_operands& e) {
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
    const stco::index_t R = mask.extent(0), K = mask.extent(1);
    std::vector<Eigen::Triplet<float>> trip;
    rng g(21);
    for (stco::index_t r = 0; r < R; ++r)
      for (stco::index_t k = 0; k < K; ++k)
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
    const stco::index_t R = S.rows(), K = S.cols();
    const float* d = dW.data();
    for (stco::index_t r = 0; r < R; ++r)
      for (int p = outer[r]; p < outer[r + 1]; ++p) out[p] = d[r * K + inner[p]];
  }
};

inline peer_times time_eigen_csr(eigen_csr& c, eigen_operands& e) {
  peer_times t;
  t.fwd = median_seconds([&] { e.Y.noalias() = c.S * e.X; });
  t.dx = median_seconds([&] { e.dX.noalias() = c.St * e.dY; });
  t.dw = median_seconds([&] {
    e.dW.noalias() = e.dY * e.X.transpose();
    c.gather_dw(e.dW);
  });
  return t;
}

/// `threads` threads on both sides (stco's pool, Eigen's OpenMP), and the run context the CPU
/// benchmarks share: thread counts, Eigen's version and OpenMP, the build, the OpenMP
/// environment. `program` names the binary in the warning printed without OpenMP.
inline void set_threads_and_context(const char* program, int threads) {
  stco::set_num_threads(threads);
  Eigen::setNbThreads(threads);
#ifdef _OPENMP
  const bool eigen_openmp = true;
#else
  const bool eigen_openmp = false;
  std::fprintf(stderr, "%s: built without OpenMP: the Eigen peers run on one thread\n", program);
#endif
  (void)program;
  benchmark::AddCustomContext("stco_threads", std::to_string(stco::num_threads()));
  benchmark::AddCustomContext("eigen_threads", std::to_string(Eigen::nbThreads()));
  benchmark::AddCustomContext("eigen_openmp", eigen_openmp ? "yes" : "no");
  benchmark::AddCustomContext("eigen_version", std::to_string(EIGEN_WORLD_VERSION) + "." +
                                                   std::to_string(EIGEN_MAJOR_VERSION) + "." +
                                                   std::to_string(EIGEN_MINOR_VERSION));
  benchmark::AddCustomContext("bench_build",
#if defined(__OPTIMIZE__) && defined(NDEBUG)
                              "optimized, NDEBUG"
#elif defined(__OPTIMIZE__)
                              "optimized, assertions on"
#else
                              "NOT optimized"
#endif
  );
  for (const char* v : {"OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS"})
    if (const char* s = std::getenv(v)) benchmark::AddCustomContext(v, s);
}

}  // namespace stco_bench::cpu
