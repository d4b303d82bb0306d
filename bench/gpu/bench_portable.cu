// bench/gpu/bench_portable.cu — the portable CUDA kernels (the correctness baseline and the
// fallback of every layout) with the fast paths switched off: matmul forward (bias + ReLU fused),
// dX and dW at M = K = N = 4096, float and half, against cuBLAS (cuBLASLt, bench/gpu/peers: fp32
// without TF32 / fp16 in, fp32 compute, the best of its heuristic algorithms and operand orders)
// in the same binary. CUDA events, median after warm-up (peers/timer.hpp); the operands of one
// call (W, X, Y: 96 MiB in half) exceed L2 together, so inputs are not rotated.
//
// Each layout row also times cuBLAS on the same op with the dense model's weight (dense-random:
// uniform in [-1, 1)) and with the row's own pruned weight decoded (pruned-dense: zeros in
// place): counters cublas_rand_ms / cublas_pruned_ms, vs_cublas_rand / vs_cublas_pruned (cuBLAS
// time / ours). dW reads no weight: its two are one timing. The cublas/<type>/dense rows are the
// dense-random forward. Peer timings also go to --peers_out=FILE (torch_check.py).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <type_traits>

#include "peers/peers.hpp"
#include "stco/cuda.cuh"
#include "stco/layout/decode.hpp"

namespace {

namespace sc = stco::cuda;
using stco::index_t;
constexpr index_t R = 4096, K = 4096, N = 4096;

sc::stream bench_stream() {
  static sc::owned_stream s;
  return s.get();
}

template <class T>
stco::tensor<T, 2> random_matrix(index_t r, index_t c, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  stco::tensor<T, 2> t(stco::dextents<2>(r, c));
  for (auto& v : t) v = T(u(g));
  return t;
}

namespace bg = stco_bench::gpu;

/// cuBLAS on R×K×N in type T: the dense peers of one row (their buffers and the cuBLASLt plans).
template <class T>
struct dense_side {
  static constexpr bool is_float = std::is_same_v<T, float>;
  sc::device_tensor<T, 2> X, dY, Y, dX, dW, w_rand;
  bg::cublaslt_gemm blas;
  std::unique_ptr<bg::dense_peers> peers;

  explicit dense_side(sc::stream s, const std::string& row)
      : X(sc::device_tensor<T, 2>::from_host(random_matrix<T>(K, N, 2), s)),
        dY(sc::device_tensor<T, 2>::from_host(random_matrix<T>(R, N, 4), s)),
        Y(stco::dextents<2>(R, N), s),
        dX(stco::dextents<2>(K, N), s),
        dW(stco::dextents<2>(R, K), s),
        w_rand(sc::device_tensor<T, 2>::from_host(random_matrix<T>(R, K, 1), s)) {
    bg::peer_problem pb;
    pb.row = row;
    pb.M = R, pb.K = K, pb.N = N;
    pb.dtype = is_float ? "fp32" : "fp16";
    bg::dense_peers::buffers b;
    b.x = [this](int) { return static_cast<const void*>(X.data()); };
    b.dy = [this](int) { return static_cast<const void*>(dY.data()); };
    b.y = Y.data(), b.dx = dX.data(), b.dw = dW.data();
    peers = std::make_unique<bg::dense_peers>(pb, b, blas);
    s.synchronize();
  }
};

/// Times forward, dX and dW of layout L at sparsity sp; counters: kept-value TFLOP/s, and the
/// dense peers on either weight.
template <class L, class T>
void bench_layout(benchmark::State& state, const std::string& row, double sp, int op) {
  stco::cuda::options portable;
  portable.fast_kernels = false;
  const auto s = bench_stream().with(portable);
  const auto W = stco::prune<L>(random_matrix<T>(R, K, 1), sp);
  const auto Wd = sc::device_sparse_matrix<T, L>::from_host(W, s);
  const auto Xd = sc::device_tensor<T, 2>::from_host(random_matrix<T>(K, N, 2), s);
  stco::tensor<T, 1> b{stco::dextents<1>(R)};
  const auto bm = random_matrix<T>(1, R, 3);
  std::copy(bm.begin(), bm.end(), b.begin());
  const auto bd = sc::device_tensor<T, 1>::from_host(b, s);
  const auto dYd = sc::device_tensor<T, 2>::from_host(random_matrix<T>(R, N, 4), s);
  sc::device_tensor<T, 2> Yd(stco::dextents<2>(R, N), s);
  sc::device_tensor<T, 2> dXd(stco::dextents<2>(K, N), s);
  auto dWd = Wd.zeros_like(s);
  sc::activation_stash<T> stash;
  const auto e = stco::relu(stco::matmul(Wd, Xd) + stco::bias(bd));
  stco::eval(Yd, e, stash, s);
  const auto g = stco::grad(e, dYd, stash, s);
  const auto run = [&](int) {
    if (op == 0)
      stco::eval(Yd, e, stash, s);
    else if (op == 1)
      g.wrt_into(Xd, dXd);
    else
      g.wrt_into(Wd, dWd);
  };
  dense_side<T> dense(s, row);
  const auto w_pruned = sc::device_tensor<T, 2>::from_host(stco::decode(W), s);
  const auto o = op == 0 ? bg::step_op::fwd : op == 1 ? bg::step_op::dx : bg::step_op::dw;
  double ms = 0, rand = 0, pruned = 0;
  for (auto _ : state) {
    ms = bg::median_ms(s.get(), run);
    rand = dense.peers->cublas(s.get(), o, dense.w_rand.data(), bg::kDenseRandom);
    pruned = dense.peers->cublas(s.get(), o, w_pruned.data(), bg::kPrunedDense, L::name(),
                                 Wd.entity().density());
    state.SetIterationTime(ms / 1e3);
  }
  const double flops = 2.0 * static_cast<double>(Wd.entity().kept()) * N;
  state.counters["ms"] = ms;
  state.counters["TFLOPs_kept"] = flops / (ms * 1e-3) / 1e12;
  state.counters["cublas_rand_ms"] = rand;
  state.counters["cublas_pruned_ms"] = pruned;
  state.counters["vs_cublas_rand"] = rand / ms;
  state.counters["vs_cublas_pruned"] = pruned / ms;
}

/// cuBLAS dense forward of the same size on the dense-random weight (fp32, or fp16 in with fp32
/// compute).
template <class T>
void bench_cublas(benchmark::State& state, const std::string& row) {
  const auto s = bench_stream();
  dense_side<T> dense(s, row);
  double ms = 0;
  for (auto _ : state) {
    ms = dense.peers->cublas(s.get(), bg::step_op::fwd, dense.w_rand.data(), bg::kDenseRandom);
    state.SetIterationTime(ms / 1e3);
  }
  state.counters["ms"] = ms;
  state.counters["TFLOPs_kept"] = 2.0 * R * K * N / (ms * 1e-3) / 1e12;
  state.SetLabel("dense-random");
}

template <class L, class T>
void add(const char* layout, double sp) {
  const char* ops[] = {"forward", "dX", "dW"};
  const std::string type = std::is_same_v<T, float> ? "float" : "half";
  for (int op = 0; op < 3; ++op) {
    const std::string row = "portable/" + type + "/" + layout + "/" + ops[op];
    benchmark::RegisterBenchmark(
        row.c_str(), [row, sp, op](benchmark::State& st) { bench_layout<L, T>(st, row, sp, op); })
        ->UseManualTime()
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond);
  }
}

template <class T>
void add_all() {
  add<stco::dense, T>("dense", 0.0);
  add<stco::nm<2, 4>, T>("nm<2,4>", 0.5);
  add<stco::tile_wise<32>, T>("tile_wise<32>@0.75", 0.75);
  add<stco::block<16, 16>, T>("block<16,16>@0.75", 0.75);
  add<stco::channel, T>("channel@0.5", 0.5);
  add<stco::csr, T>("csr@0.75", 0.75);
  const std::string row =
      std::string("cublas/") + (std::is_same_v<T, float> ? "float" : "half") + "/dense";
  benchmark::RegisterBenchmark(row.c_str(),
                               [row](benchmark::State& st) { bench_cublas<T>(st, row); })
      ->UseManualTime()
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  bg::parse_peer_args(argc, argv, "bench_portable");
  bg::add_peer_context();
  benchmark::AddCustomContext("rotation",
                              "none: W, X and Y of one call exceed L2 together (the timing "
                              "line's rotation does not apply here)");
  add_all<float>();
  add_all<stco::half>();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return bg::peer_log::get().write() ? 0 : 1;
}
