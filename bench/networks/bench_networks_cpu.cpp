// bench/networks/bench_networks_cpu.cpp — the training step of whole networks on the CPU: VGG16,
// ResNet-18, MobileNetV1 and MobileNetV2 (conv layers, bench/common/networks.hpp) at 32×32 inputs,
// batch 8, float32, 2 threads, per layout and density, against the same step dense (Eigen GEMM)
// and in Eigen CSR on the same mask, measured in one process.
//
// The step of one layer is forward + dX + dW: for stco the public expressions
//   eval(Y, conv2d(W, X, p)); grad(conv2d(W, X, p), dY).wrt_into(X, dX); ....wrt_into(W, dW)
// on NHWC tensors (implicit im2col inside the kernels); for the peers the three GEMMs of the
// im2col shape, W·X, Wᵀ·dY, dY·Xᵀ (Eigen dense), or S·X, Sᵀ·dY and dY·Xᵀ read through S's
// pattern (Eigen CSR; bench/common/eigen_peers.hpp): their im2col is not timed (conservative).
// A network's step is Σ repeat × layer step over its sparse layers: regular and pointwise
// convolutions, the stems included. The MobileNets' depthwise layers stay dense in a sparse
// network and cost the same on every side, so they are left out of every sum.
//
// Benchmarks, in run order (network → distinct layer → layout, then the network totals):
//   <net>/<layout>@<sparsity>/<layer>   one distinct layer: manual time = stco's median step
//   <net>/<layout>@<sparsity>/total     Σ repeat × step over the network's sparse layers
// Counters: vs_eigen_dense, vs_eigen_csr (peer step / stco step: above 1, stco faster),
// stco_ms, eigen_dense_ms, eigen_csr_ms (medians, × repeat in the totals), repeat, density, R, K,
// N. Each median: a warm-up call, then 3 to 15 calls within ~0.3 s (peers: per product).
//
//   ./bench_networks_cpu --benchmark_filter='resnet18/' --benchmark_counters_tabular=true
//   bench/networks/cpu.sh  (2 threads, load average and CPU model in the JSON, table.md)
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <stco/interop/eigen.hpp>
#include <stco/stco.hpp>

#include "eigen_peers.hpp"
#include "networks.hpp"
#include "shared.hpp"

namespace {

using stco::index_t;
using namespace stco_bench::cpu;

constexpr int kThreads = 2;
constexpr int kResolution = 32;
constexpr index_t kBatch = 8;

using layer_problem = stco_bench::networks::layer;

/// stco's side of one layer × layout: the pruned weight, its gradient (same entity), NHWC tensors.
struct case_base {
  virtual ~case_base() = default;
  virtual void step() = 0;
  virtual stco::tensor<unsigned char, 2> mask() const = 0;
  double density = 0;
};

template <class L>
struct conv_case final : case_base {
  const layer_problem& p;
  stco::sparse_matrix<float, L> W, dW;
  stco::tensor<float, 4> X, Y, dY, dX;

  conv_case(const layer_problem& prob, double sparsity)
      : p(prob),
        W(make_weight(prob, sparsity)),
        dW(W.zeros_like()),
        X(stco::dextents<4>(kBatch, p.hw, p.hw, p.cin)),
        Y(stco::dextents<4>(kBatch, p.out_hw, p.out_hw, p.R)),
        dY(stco::dextents<4>(kBatch, p.out_hw, p.out_hw, p.R)),
        dX(stco::dextents<4>(kBatch, p.hw, p.hw, p.cin)) {
    fill_random(X.data(), X.size(), 2);
    fill_random(dY.data(), dY.size(), 3);
    density = W.density();
  }
  static stco::sparse_matrix<float, L> make_weight(const layer_problem& p, double sparsity) {
    stco::tensor<float, 2> w(stco::dextents<2>(p.R, p.K));
    fill_random(w.data(), w.size(), 1);
    return stco::prune<L>(w, sparsity);
  }
  void step() override {
    stco::eval(Y, stco::conv2d(W, X, p.params));
    stco::grad(stco::conv2d(W, X, p.params), dY).wrt_into(X.view(), dX.view());
    stco::grad(stco::conv2d(W, X, p.params), dY).wrt_into(W, dW);
    benchmark::ClobberMemory();
  }
  stco::tensor<unsigned char, 2> mask() const override { return stco::kept_mask(W.entity()); }
};

/// Per layer: the dense peer (measured once, shared by every layout).
std::map<std::string, peer_times> dense_peer;

const stco_bench::networks::counter_names kCounters{"vs_eigen_dense", "vs_eigen_csr", "stco_ms",
                                                    "eigen_dense_ms", "eigen_csr_ms", 1e3};

template <class L>
void bench_layer(benchmark::State& state, const layer_problem& p, double sparsity,
                 const std::string& key) {
  const std::string layer_key = p.net + "/" + p.name;
  double t = 0, td = 0, ts = 0, density = 0;
  for (auto _ : state) {
    auto c = std::make_unique<conv_case<L>>(p, sparsity);
    density = c->density;
    {
      eigen_operands e(p.R, p.K, p.N);
      if (!dense_peer.count(layer_key)) dense_peer[layer_key] = time_eigen_dense(e);
      eigen_csr s(c->mask());
      ts = time_eigen_csr(s, e).step();
    }
    td = dense_peer[layer_key].step();
    settle_after_openmp();
    c->step();  // builds and caches the entity's transposed traversal (address carry)
    t = median_seconds([&] { c->step(); }, 0.3);
    state.SetIterationTime(t);
  }
  const auto weights = static_cast<double>(p.R * p.K);
  stco_bench::networks::network_totals()[key].add(p.repeat, t, td, ts, density, weights);
  stco_bench::networks::set_counters(state, kCounters, t, td, ts, density);
  state.counters["repeat"] = p.repeat;
  state.counters["R"] = static_cast<double>(p.R);
  state.counters["K"] = static_cast<double>(p.K);
  state.counters["N"] = static_cast<double>(p.N);
}

/// The layouts and densities, in table order (every CPU layout of stco/layouts.hpp but csr,
/// which is the peer).
template <class F>
void for_each_layout(F&& f) {
  f(stco::nm<2, 4>{}, 0.5);
  f(stco::nm<1, 4>{}, 0.75);
  for (double s : {0.5, 0.75}) f(stco::tile_wise<32>{}, s);
  for (double s : {0.5, 0.75}) f(stco::tile_vector<32, 2, 4>{}, s);
  for (double s : {0.5, 0.75}) f(stco::block<4, 4>{}, s);
  for (double s : {0.5, 0.75}) f(stco::channel{}, s);
}

/// Network-major; inside a network layer-major, so that every layout of a layer is measured in
/// the same stretch of time; the network's totals after its layers.
void register_all(const std::vector<std::vector<layer_problem>>& nets) {
  using stco_bench::networks::key_of;
  for (const auto& layers : nets) {
    for (const auto& p : layers)
      for_each_layout([&p](auto layout, double s) {
        using L = decltype(layout);
        const std::string key = key_of(p.net, L::name(), s);
        stco_bench::networks::register_manual(
            key + "/" + p.name,
            [&p, s, key](benchmark::State& st) { bench_layer<L>(st, p, s, key); },
            benchmark::kMillisecond);
      });
    const std::string net = layers.front().net;
    for_each_layout([&net](auto layout, double s) {
      const std::string key = key_of(net, decltype(layout)::name(), s);
      stco_bench::networks::register_manual(
          key + "/total",
          [key](benchmark::State& st) { stco_bench::networks::report_total(st, key, kCounters); },
          benchmark::kMillisecond);
    });
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (argc > 1) {
    std::fprintf(stderr, "bench_networks_cpu: unknown flag %s\n", argv[1]);
    return 2;
  }
  set_threads_and_context("bench_networks_cpu", kThreads);
  benchmark::AddCustomContext("simd_bytes", std::to_string(stco::kernel::cpu::simd_bytes));
  benchmark::AddCustomContext("input", std::to_string(kResolution) + "x" +
                                           std::to_string(kResolution) + ", batch " +
                                           std::to_string(kBatch) + ", float32, NHWC");
  benchmark::AddCustomContext(
      "step",
      "forward + dX + dW per sparse conv layer (regular and pointwise, stems included), "
      "summed with repeat counts; depthwise layers left out (dense on every side)");
  benchmark::AddCustomContext(
      "peers",
      "Eigen dense GEMM and Eigen CSR (RowMajor) on the im2col GEMM shapes, im2col not "
      "timed; CSR dW = dense dY*X^T read through the mask");

  static std::vector<std::vector<layer_problem>> nets;
  for (const auto* n : stco_bench::all_networks())
    nets.push_back(stco_bench::networks::sparse_layers(*n, kResolution, kBatch));
  register_all(nets);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
