// bench/gpu/bench_portable.cu — the portable CUDA kernels (the correctness baseline and the
// fallback of every layout) with the fast paths switched off: matmul forward (bias + ReLU fused),
// dX and dW at M = K = N = 4096, float and half, against cuBLAS dense (fp32 / fp16 in, fp32
// compute) in the same binary. CUDA events, median after warm-up (peers/timer.hpp).
#include <benchmark/benchmark.h>
#include <cublas_v2.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <type_traits>

#include "peers/timer.hpp"
#include "stco/cuda.cuh"

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

/// Times forward, dX and dW of layout L at sparsity sp; counters: kept-value TFLOP/s.
template <class L, class T>
void bench_layout(benchmark::State& state, double sp, int op) {
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
  double ms = 0;
  for (auto _ : state) {
    ms = stco_bench::gpu::median_ms(s.get(), run);
    state.SetIterationTime(ms / 1e3);
  }
  const double flops = 2.0 * static_cast<double>(Wd.entity().kept()) * N;
  state.counters["ms"] = ms;
  state.counters["TFLOPs_kept"] = flops / (ms * 1e-3) / 1e12;
}

/// cuBLAS dense GEMM of the same size (fp32, or fp16 in with fp32 compute).
template <class T>
void bench_cublas(benchmark::State& state) {
  const auto s = bench_stream();
  const auto A = sc::device_tensor<T, 2>::from_host(random_matrix<T>(R, K, 1), s);
  const auto B = sc::device_tensor<T, 2>::from_host(random_matrix<T>(K, N, 2), s);
  sc::device_tensor<T, 2> C(stco::dextents<2>(R, N), s);
  cublasHandle_t h;
  cublasCreate(&h);
  cublasSetStream(h, s.get());
  const float one = 1, zero = 0;
  constexpr cudaDataType_t t = std::is_same_v<T, float> ? CUDA_R_32F : CUDA_R_16F;
  const auto run = [&](int) {  // row-major C = A·B as column-major Cᵀ = Bᵀ·Aᵀ
    cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(N), static_cast<int>(R),
                 static_cast<int>(K), &one, B.data(), t, static_cast<int>(N), A.data(), t,
                 static_cast<int>(K), &zero, C.data(), t, static_cast<int>(N), CUBLAS_COMPUTE_32F,
                 CUBLAS_GEMM_DEFAULT);
  };
  double ms = 0;
  for (auto _ : state) {
    ms = stco_bench::gpu::median_ms(s.get(), run);
    state.SetIterationTime(ms / 1e3);
  }
  state.counters["ms"] = ms;
  state.counters["TFLOPs_kept"] = 2.0 * R * K * N / (ms * 1e-3) / 1e12;
  cublasDestroy(h);
}

template <class L, class T>
void add(const char* layout, double sp) {
  const char* ops[] = {"forward", "dX", "dW"};
  const std::string type = std::is_same_v<T, float> ? "float" : "half";
  for (int op = 0; op < 3; ++op)
    benchmark::RegisterBenchmark(("portable/" + type + "/" + layout + "/" + ops[op]).c_str(),
                                 [sp, op](benchmark::State& st) { bench_layout<L, T>(st, sp, op); })
        ->UseManualTime()
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond);
}

template <class T>
void add_all() {
  add<stco::dense, T>("dense", 0.0);
  add<stco::nm<2, 4>, T>("nm<2,4>", 0.5);
  add<stco::tile_wise<32>, T>("tile_wise<32>@0.75", 0.75);
  add<stco::block<16, 16>, T>("block<16,16>@0.75", 0.75);
  add<stco::channel, T>("channel@0.5", 0.5);
  add<stco::csr, T>("csr@0.75", 0.75);
  benchmark::RegisterBenchmark(
      (std::string("cublas/") + (std::is_same_v<T, float> ? "float" : "half") + "/dense").c_str(),
      bench_cublas<T>)
      ->UseManualTime()
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  add_all<float>();
  add_all<stco::half>();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
