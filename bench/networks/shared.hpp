// bench/networks/shared.hpp — what the CPU and GPU network benchmarks share: the sparse layers of
// a network at a given input and batch, registering a manually timed benchmark, and the network
// totals (Σ repeat × step of stco and of both peers over a network's sparse layers) with the
// counters both report.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "../common/networks.hpp"
#include "stco/core.hpp"
#include "stco/expr/conv_params.hpp"

namespace stco_bench::networks {

/// One distinct sparse conv layer at the benchmark's input size (NHWC activations).
struct layer {
  std::string net, name;
  stco::index_t R = 0, K = 0, N = 0;  // im2col GEMM: W [R, K] (R = Cout, K = KH·KW·Cin), N pixels
  stco::index_t batch = 0, hw = 0, cin = 0, out_hw = 0;
  int repeat = 1;
  stco::conv params{};
};

/// The network's distinct layers at `resolution` × `batch`, repeats summed, without the depthwise
/// ones (dense in a sparse network: left out of every sum).
inline std::vector<layer> sparse_layers(const network& net, int resolution, stco::index_t batch) {
  std::vector<layer> out;
  for (const auto& c : distinct_layers(at_resolution(net, resolution))) {
    if (c.depthwise) continue;
    layer l;
    l.net = net.name;
    l.name = c.name;
    l.R = c.cout;
    l.K = c.gemm_k();
    l.N = batch * c.out_hw() * c.out_hw();
    l.batch = batch;
    l.hw = c.in_hw;
    l.cin = c.cin;
    l.out_hw = c.out_hw();
    l.repeat = c.repeat;
    l.params = stco::conv{}.kernel(c.kernel).stride(c.stride).pad(c.pad).group(c.groups);
    out.push_back(l);
  }
  return out;
}

/// "<net>/<layout>@<sparsity>": the key of one network × layout × density.
inline std::string key_of(const std::string& net, const std::string& layout, double sparsity) {
  char sp[16];
  std::snprintf(sp, sizeof sp, "%.2f", sparsity);
  return net + "/" + layout + "@" + sp;
}

/// Registers `name`, run once, its time set by the body (SetIterationTime).
inline void register_manual(const std::string& name, std::function<void(benchmark::State&)> body,
                            benchmark::TimeUnit unit) {
  benchmark::RegisterBenchmark(name.c_str(), [body](benchmark::State& st) { body(st); })
      ->UseManualTime()
      ->Iterations(1)
      ->Unit(unit);
}

/// How a side names its counters and scales its times (seconds → its unit).
struct counter_names {
  const char *vs_dense, *vs_csr, *ours, *dense, *csr;
  double scale;
};

/// A further peer's sums over the layers it ran (a peer may refuse some layers: cuSPARSELt the
/// stems, for instance), with stco's over the same layers, so that its ratio stays like for like.
struct peer_sum {
  double peer = 0, stco = 0;
  int layers = 0;
};

/// One network × layout: times of one step in seconds, summed with the layers' repeat counts.
struct totals {
  double stco = 0, dense = 0, csr = 0, kept = 0, weights = 0;
  int layers = 0, convs = 0;
  std::map<std::string, peer_sum> peers;  // further peers by counter name (GPU)

  void add_peer(const std::string& name, int repeat, double t_peer, double t) {
    auto& p = peers[name];
    p.peer += repeat * t_peer;
    p.stco += repeat * t;
    p.layers += 1;
  }

  void add(int repeat, double t, double t_dense, double t_csr, double density, double weights_) {
    stco += repeat * t;
    dense += repeat * t_dense;
    csr += repeat * t_csr;
    kept += repeat * density * weights_;
    weights += repeat * weights_;
    layers += 1;
    convs += repeat;
  }
};

inline std::map<std::string, totals>& network_totals() {
  static std::map<std::string, totals> m;
  return m;
}

/// The step counters of one layer (repeat > 0) or of a total (repeat 0: the layer counts).
inline void set_counters(benchmark::State& state, const counter_names& n, double t, double t_dense,
                         double t_csr, double density) {
  state.counters[n.vs_dense] = t_dense / t;
  state.counters[n.vs_csr] = t_csr / t;
  state.counters[n.ours] = t * n.scale;
  state.counters[n.dense] = t_dense * n.scale;
  state.counters[n.csr] = t_csr * n.scale;
  state.counters["density"] = density;
}

/// The body of "<key>/total": the network's sums, measured by the layer benchmarks before it.
inline void report_total(benchmark::State& state, const std::string& key, const counter_names& n) {
  const auto& m = network_totals();
  const totals tot = m.count(key) ? m.at(key) : totals{};
  for (auto _ : state) state.SetIterationTime(tot.stco);
  if (tot.layers == 0) {
    state.SkipWithError("no layer of this network and layout ran (filtered out?)");
    return;
  }
  set_counters(state, n, tot.stco, tot.dense, tot.csr, tot.kept / tot.weights);
  state.counters["layers"] = tot.layers;
  state.counters["convs"] = tot.convs;
  // Further peers: <name>_us (summed over the layers it ran), vs_<name> against stco over the
  // same layers, <name>_layers (fewer than layers where the peer refused some).
  for (const auto& [name, p] : tot.peers) {
    state.counters[name + "_us"] = p.peer * n.scale;
    state.counters["vs_" + name] = p.stco > 0 ? p.peer / p.stco : 0;
    state.counters[name + "_layers"] = p.layers;
  }
}

}  // namespace stco_bench::networks
