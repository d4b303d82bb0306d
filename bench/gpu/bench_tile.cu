// bench/gpu/bench_tile.cu — the tile tensor-core kernels (gather_tc) against their peers
// (bench/gpu/peers): cuBLAS dense, cuSPARSE CSR on the same mask and, for the conv layers, cuDNN:
// forward (bias + ReLU epilogue, stash), dX, dW and the training step (forward + dX + dW, against
// the peers' three products), half, for tile_wise<32/64/128> at 50% and 75%,
// tile_vector<128,2,4>, block<32,32> and channel at 4096³ and 8192³, and the conv layers of VGG16
// and ResNet-18 at batch 32, 224×224 (ours: implicit-im2col conv kernels; cuBLAS: the im2col
// GEMM of the layer, M = Cout, K = KH·KW·Cin, N = 32·H_out·W_out, im2col itself not timed;
// cuDNN: the convolution itself, NHWC, forward / backward-data / backward-filter).
//
// Every number is the median of CUDA-event timings after warm-up, over input sets rotated so the
// data exceed L2 (peers/timer.hpp). Counters: <op>_us (ours), <op>_TFLOPs (dense-equivalent
// 2·M·N·K / time), and per dense peer and op <peer>_<data>_<op>_us and <op>_vs_<peer>_<data>
// (peer time / our time: > 1 means faster than the peer), where <data> names the peer's weight:
//   rand    dense-random: the dense model's weight, uniform in [-1, 1), no zeros;
//   pruned  pruned-dense: the row's own sparse weight decoded, zeros in place.
// (dW reads no weight: its two are one timing.) fwd_vs_csr: cuSPARSE CSR on the same mask.
// fwd_paired_* time the forward and cuBLAS's alternately, call by call (the same clock and power
// state), on either weight. tile_wise<128> at 75 % also runs the warp-specialized variants
// (suffix ws-cp / ws-tma: the gather; -gN: the walk group). After the runs, a summary prints the
// per-network step totals (Σ repeat × layer step) per layout against the dense peers. Every peer
// timing is also written to --peers_out=FILE for torch_check.py.
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "../common/networks.hpp"
#include "peers/peers.hpp"
#include "stco/core.hpp"
#include "stco/expr/epilogue.hpp"
#include "stco/kernel/cuda/gather_tc/ops.cuh"
#include "stco/layout/cuda/layouts.cuh"
#include "stco/layout/decode.hpp"
#include "stco/layouts.hpp"

namespace {
using stco::index_t;
namespace bg = stco_bench::gpu;
namespace tc = stco::kernel::cuda::gather_tc;
using T = stco::half;

template <class U>
U* dalloc(std::size_t n) {
  U* p = nullptr;
  bg::check(cudaMalloc(&p, std::max<std::size_t>(n, 1) * sizeof(U)), "cudaMalloc");
  return p;
}
/// Random fp16 in [-1, 1] on the device.
__global__ void fill_random(std::uint16_t* p, std::size_t n, unsigned seed) {
  for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < n;
       i += std::size_t{gridDim.x} * blockDim.x) {
    unsigned x = static_cast<unsigned>(i) * 2654435761u ^ seed;
    x ^= x >> 15, x *= 2246822519u, x ^= x >> 13, x *= 3266489917u, x ^= x >> 16;
    const float f = (static_cast<float>(x & 0xFFFFFF) / 16777216.f) * 2.f - 1.f;
    p[i] = __half_as_ushort(__float2half_rn(f));
  }
}
void random_fill(void* p, std::size_t n, unsigned seed) {
  fill_random<<<1024, 256>>>(static_cast<std::uint16_t*>(p), n, seed);
  bg::check(cudaGetLastError(), "fill_random");
}

// ------------------------------------------------------------------ random structured masks ---

std::vector<index_t> random_subset(std::mt19937& rng, index_t n, index_t k) {
  std::vector<index_t> all(static_cast<std::size_t>(n));
  std::iota(all.begin(), all.end(), index_t{0});
  for (index_t i = 0; i < k; ++i) std::swap(all[i], all[i + rng() % (n - i)]);
  all.resize(static_cast<std::size_t>(k));
  std::sort(all.begin(), all.end());
  return all;
}
template <class L>
struct mask;
template <int TT>
struct mask<stco::tile_wise<TT>> {
  static auto make(std::mt19937& rng, index_t R, index_t K, double s) {
    std::vector<index_t> ptr{0}, cols;
    const index_t keep = stco::kept_count(K, s);
    for (index_t t = 0; t < stco::ceil_div(R, TT); ++t) {
      const auto c = random_subset(rng, K, keep);
      cols.insert(cols.end(), c.begin(), c.end());
      ptr.push_back(static_cast<index_t>(cols.size()));
    }
    return stco::tile_wise_entity<TT>::from_parts({R, K}, ptr, cols);
  }
};
template <int TT, int N, int M>
struct mask<stco::tile_vector<TT, N, M>> {
  static auto make(std::mt19937& rng, index_t R, index_t K, double s) {
    using L = stco::tile_vector<TT, N, M>;
    std::vector<index_t> ptr{0}, cols;
    const index_t keep = L::tile_columns_kept(K, s);
    for (index_t t = 0; t < stco::ceil_div(R, TT); ++t) {
      const auto c = random_subset(rng, K, keep);
      cols.insert(cols.end(), c.begin(), c.end());
      ptr.push_back(static_cast<index_t>(cols.size()));
    }
    index_t count = 0;
    for (index_t t = 0; t + 1 < static_cast<index_t>(ptr.size()); ++t)
      count += stco::ceil_div(ptr[t + 1] - ptr[t], M) * N * TT;
    stco::packed_bits off(count, stco::offset_bits(M));
    index_t base = 0;
    for (index_t t = 0; t + 1 < static_cast<index_t>(ptr.size()); ++t) {
      const index_t G = stco::ceil_div(ptr[t + 1] - ptr[t], M);
      for (index_t g = 0; g < G; ++g)
        for (index_t r = 0; r < TT; ++r) {
          const auto pick = random_subset(rng, M, N);
          for (int j = 0; j < N; ++j)
            off.set(base + (g * N + j) * TT + r, static_cast<unsigned>(pick[j]));
        }
      base += G * N * TT;
    }
    return stco::tile_vector_entity<TT, N, M>::from_parts({R, K}, ptr, cols, off.words());
  }
};
template <int BR, int BC>
struct mask<stco::block<BR, BC>> {
  static auto make(std::mt19937& rng, index_t R, index_t K, double s) {
    const index_t Rb = stco::ceil_div(R, BR), Kb = stco::ceil_div(K, BC);
    const auto keep = random_subset(rng, Rb * Kb, stco::kept_count(Rb * Kb, s));
    std::vector<index_t> ptr(static_cast<std::size_t>(Rb + 1), 0), cols;
    for (index_t b : keep) ++ptr[b / Kb + 1], cols.push_back(b % Kb);
    for (index_t i = 0; i < Rb; ++i) ptr[i + 1] += ptr[i];
    return stco::block_entity<BR, BC>::from_parts({R, K}, ptr, cols);
  }
};
template <>
struct mask<stco::channel> {
  static auto make(std::mt19937& rng, index_t R, index_t K, double s) {
    return stco::channel_entity::from_parts({R, K}, random_subset(rng, R, stco::kept_count(R, s)));
  }
};

/// A random weight of layout L on the device (values random on the device).
template <class L>
stco::cuda::device_sparse_matrix<T, L> weight(index_t R, index_t K, double s,
                                              stco::cuda::stream st) {
  std::mt19937 rng(static_cast<unsigned>(R * 131 + K * 7) + static_cast<unsigned>(s * 100));
  stco::sparse_matrix<T, L> h(mask<L>::make(rng, R, K, s));
  auto d = stco::cuda::device_sparse_matrix<T, L>::from_host(h, st);
  random_fill(d.values(), static_cast<std::size_t>(d.value_count()), 7u);
  return d;
}

/// CSR arrays of a weight's mask (values arbitrary nonzero).
template <class L>
void csr_of(const stco::cuda::device_sparse_matrix<T, L>& W, stco::cuda::stream st,
            std::vector<int>& rp, std::vector<int>& ci, std::vector<std::uint16_t>& cv) {
  const auto& e = *W.entity().host(st);
  const index_t R = e.logical_shape().rows, K = e.logical_shape().cols;
  std::vector<std::vector<int>> rows(static_cast<std::size_t>(R));
  L::for_each_slot(e, [&](index_t, index_t r, index_t k) {
    if (r < R && k < K) rows[static_cast<std::size_t>(r)].push_back(static_cast<int>(k));
  });
  rp.assign(1, 0);
  for (auto& r : rows) {
    std::sort(r.begin(), r.end());
    ci.insert(ci.end(), r.begin(), r.end());
    rp.push_back(static_cast<int>(ci.size()));
  }
  cv.assign(ci.size(), 0x3c00);  // 1.0
}

// ------------------------------------------------------------------------------ fixtures ---

/// Activations and the dense peers for one GEMM shape (or one conv layer): rotating X / dY sets,
/// outputs. For a conv, X and dY are NHWC (ours and cuDNN) and cuBLAS runs the layer's im2col
/// GEMM on separate, rotated [K, N] operands (the im2col itself is not timed).
struct problem {
  std::string name;
  long M, K, N;  // GEMM shape: W [M, K], X [K, N]
  bool conv = false;
  stco::conv_geometry g{};
  int sets = 1, col_sets = 1;
  cudaStream_t s{};
  std::vector<T*> X, dY, col;
  T *Y = nullptr, *dX = nullptr, *dcol = nullptr, *dWd = nullptr, *w_rand = nullptr, *dW = nullptr,
    *bias = nullptr;
  float* stash = nullptr;
  bg::cublaslt_gemm blas;
  std::unique_ptr<bg::dense_peers> dense;
#if defined(STCO_HAS_CUDNN)
  bg::cudnn_conv dnn;
#endif
  std::map<std::string, T*> pruned;  // pruned-dense weights by layout@sparsity

  long x_elems() const { return conv ? g.batch * g.in_h * g.in_w * g.in_c : K * N; }
  problem(std::string n, long m, long k, long nn, const stco::conv_geometry* cg)
      : name(std::move(n)), M(m), K(k), N(nn) {
    if (cg) conv = true, g = *cg;
    bg::check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
    const long xe = x_elems();
    sets = bg::rotating_sets(static_cast<std::size_t>((xe + M * N) * 2));
    for (int i = 0; i < sets; ++i) {
      X.push_back(dalloc<T>(static_cast<std::size_t>(xe)));
      dY.push_back(dalloc<T>(static_cast<std::size_t>(M * N)));
      random_fill(X.back(), static_cast<std::size_t>(xe), 100u + i);
      random_fill(dY.back(), static_cast<std::size_t>(M * N), 200u + i);
    }
    Y = dalloc<T>(static_cast<std::size_t>(M * N));
    dX = dalloc<T>(static_cast<std::size_t>(xe));
    if (conv) {
      col_sets = bg::rotating_sets(static_cast<std::size_t>((K * N + M * N) * 2));
      for (int i = 0; i < col_sets; ++i) {
        col.push_back(dalloc<T>(static_cast<std::size_t>(K * N)));
        random_fill(col.back(), static_cast<std::size_t>(K * N), 9u + i);
      }
      dcol = dalloc<T>(static_cast<std::size_t>(K * N));
    }
    dWd = dalloc<T>(static_cast<std::size_t>(M * K));
    dW = dalloc<T>(static_cast<std::size_t>(M * K));
    w_rand = dalloc<T>(static_cast<std::size_t>(M * K));
    bias = dalloc<T>(static_cast<std::size_t>(M));
    stash = dalloc<float>(static_cast<std::size_t>(M * N));
    random_fill(w_rand, static_cast<std::size_t>(M * K), 5u);
    random_fill(bias, static_cast<std::size_t>(M), 6u);
    bg::check(cudaDeviceSynchronize(), "setup");
    bg::peer_problem pb;
    pb.row = "gather_tc/*/" + name;
    pb.M = M, pb.K = K, pb.N = N, pb.sets = sets;
    if (conv) {
      pb.kind = "conv";
      pb.conv = {g.batch, g.in_h,     g.in_w,  g.in_c,  g.out_c, g.kh,
                 g.kw,    g.stride_h, g.pad_h, g.dil_h, g.groups};
      pb.gemm_sets = col_sets;
    }
    bg::dense_peers::buffers b;
    const int cs = conv ? col_sets : sets;
    b.x = [this, cs](int i) {
      return static_cast<const void*>(conv ? col[static_cast<std::size_t>(i % cs)]
                                           : X[static_cast<std::size_t>(i % cs)]);
    };
    b.dy = [this](int i) {
      return static_cast<const void*>(dY[static_cast<std::size_t>(i % sets)]);
    };
    b.y = Y, b.dx = conv ? dcol : dX, b.dw = dWd;
    b.cx = [this](int i) { return static_cast<void*>(X[static_cast<std::size_t>(i % sets)]); };
    b.cdy = [this](int i) { return static_cast<void*>(dY[static_cast<std::size_t>(i % sets)]); };
    b.cy = Y, b.cdx = dX;
    dense =
        std::make_unique<bg::dense_peers>(pb, b, blas, bg::timing_policy{5, 50, 150.0, 3, 25.0});
  }
  ~problem() {
    cudaDeviceSynchronize();
    for (auto p : X) cudaFree(p);
    for (auto p : dY) cudaFree(p);
    for (auto p : col) cudaFree(p);
    for (auto& [k, p] : pruned) cudaFree(p);
    for (void* p : {static_cast<void*>(Y), static_cast<void*>(dX), static_cast<void*>(dcol),
                    static_cast<void*>(dWd), static_cast<void*>(dW), static_cast<void*>(w_rand),
                    static_cast<void*>(bias), static_cast<void*>(stash)})
      cudaFree(p);
    cudaStreamDestroy(s);
  }
  auto chain() const {
    return stco::chain<stco::ops::bias<T>, stco::ops::relu>{{stco::ops::bias<T>{bias}, {{}, {}}}};
  }

  /// The dense peers of op o on the dense-random weight and on the pruned weight wp (pattern,
  /// density): cuBLAS, and cuDNN for conv layers (ms; 0 where absent).
  struct dense_times {
    double blas_rand = 0, blas_pruned = 0, dnn_rand = 0, dnn_pruned = 0;
  };
  dense_times dense_of(bg::step_op o, T* wp, const std::string& pattern, double density) {
    dense_times t;
    t.blas_rand = dense->cublas(s, o, w_rand, bg::kDenseRandom);
    t.blas_pruned = dense->cublas(s, o, wp, bg::kPrunedDense, pattern, density);
#if defined(STCO_HAS_CUDNN)
    t.dnn_rand = dense->cudnn(s, dnn, o, w_rand, bg::kDenseRandom);
    t.dnn_pruned = dense->cudnn(s, dnn, o, wp, bg::kPrunedDense, pattern, density);
#endif
    return t;
  }
  /// cuBLAS forward on weight w, call i (the paired timing).
  void blas_fwd(const T* w, int i) {
    blas.run(
        s, bg::gemm_desc::fwd(CUDA_R_16F, M, K, N), w,
        conv ? col[static_cast<std::size_t>(i % col_sets)] : X[static_cast<std::size_t>(i % sets)],
        Y);
  }
};

std::unique_ptr<problem> current;
problem& get(const std::string& name, long M, long K, long N, const stco::conv_geometry* g) {
  if (!current || current->name != name) {
    current.reset();
    current = std::make_unique<problem>(name, M, K, N, g);
  }
  return *current;
}

/// Step times per (network, layout) and of the dense peers, summed with the layers' repeat
/// counts (µs).
struct step_sums {
  double ours = 0, blas_rand = 0, blas_pruned = 0, dnn_rand = 0, dnn_pruned = 0;
};
std::map<std::string, std::map<std::string, step_sums>> network_steps;

/// Medians (ms) of f(i) and g(i) timed alternately, call by call, so that both run in the same
/// clock and power state (after warm-up calls of each).
std::pair<double, double> paired_ms(cudaStream_t s, const std::function<void(int)>& f,
                                    const std::function<void(int)>& g, int reps) {
  cudaEvent_t a, b;
  bg::check(cudaEventCreate(&a), "cudaEventCreate");
  bg::check(cudaEventCreate(&b), "cudaEventCreate");
  for (int i = 0; i < 3; ++i) f(i), g(i);
  std::vector<float> tf, tg;
  for (int i = 0; i < 2 * reps; ++i) {
    bg::check(cudaEventRecord(a, s), "cudaEventRecord");
    (i % 2 == 0 ? f : g)(i / 2);
    bg::check(cudaEventRecord(b, s), "cudaEventRecord");
    bg::check(cudaEventSynchronize(b), "cudaEventSynchronize");
    float ms = 0;
    bg::check(cudaEventElapsedTime(&ms, a, b), "cudaEventElapsedTime");
    (i % 2 == 0 ? tf : tg).push_back(ms);
  }
  bg::check(cudaGetLastError(), "timed work");
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  auto median = [](std::vector<float>& v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return static_cast<double>(v[v.size() / 2]);
  };
  return {median(tf), median(tg)};
}

/// The pruned weight W decoded to dense [M, K] on the device (zeros in place), made once per
/// layout and sparsity (the same weight in every variant of a row).
template <class L>
T* pruned_dense(problem& pb, const stco::cuda::device_sparse_matrix<T, L>& W,
                const std::string& key) {
  if (const auto it = pb.pruned.find(key); it != pb.pruned.end()) return it->second;
  const stco::cuda::stream st(pb.s);
  const auto dense = stco::decode(W.to_host(st));
  T* d = dalloc<T>(static_cast<std::size_t>(pb.M * pb.K));
  bg::check(cudaMemcpy(d, dense.data(), static_cast<std::size_t>(pb.M * pb.K) * sizeof(T),
                       cudaMemcpyHostToDevice),
            "cudaMemcpy");
  return pb.pruned[key] = d;
}

template <class L>
void run_layout(benchmark::State& state, problem& pb, const std::string& lname, double sparsity,
                bool with_csr, const stco::cuda::options& opts) {
  namespace kc = stco::kernel::cuda;
  const stco::cuda::stream st(pb.s, opts);
  auto W = weight<L>(pb.M, pb.K, sparsity, st);
  const auto chain = pb.chain();
  using Chain = std::decay_t<decltype(chain)>;
  // The routes, planned once (every input set is allocated alike).
  const kc::route rf = pb.conv ? tc::plan_conv<Chain>(kc::op::conv2d_forward, W, st)
                               : tc::plan_forward<Chain>(W, pb.X[0], pb.Y, pb.N, pb.stash, st);
  const kc::route rx = pb.conv ? tc::plan_conv<Chain>(kc::op::conv2d_grad_x, W, st)
                               : tc::plan_grad_x<Chain>(W, pb.dY[0], pb.stash, pb.dX, pb.N, st);
  const kc::route rw =
      pb.conv ? tc::plan_conv<Chain>(kc::op::conv2d_grad_w, W, st)
              : tc::plan_grad_w<Chain>(W, pb.X[0], pb.dY[0], pb.stash, pb.dW, pb.N, st);
  state.SetLabel(kc::to_string(rf) + " | " + kc::to_string(rx) + " | " + kc::to_string(rw));
  auto fwd = [&](int i) {
    if (pb.conv)
      tc::conv_forward(rf, W, pb.X[i % pb.sets], pb.Y, pb.g, chain, pb.stash, st);
    else
      tc::forward(rf, W, pb.X[i % pb.sets], pb.Y, pb.N, chain, pb.stash, st);
  };
  // memo: the step's gradient object's dZ (formed once for dX and dW, as stco::cuda::grad does).
  auto dx = [&](int i, stco::kernel::cuda::dz_memo* memo = nullptr) {
    if (pb.conv)
      tc::conv_grad_x(rx, W, pb.dY[i % pb.sets], pb.stash, pb.dX, pb.g, chain, st);
    else
      tc::grad_x(rx, W, pb.dY[i % pb.sets], pb.stash, pb.dX, pb.N, chain, st, memo);
  };
  auto dw = [&](int i, stco::kernel::cuda::dz_memo* memo = nullptr) {
    if (pb.conv)
      tc::conv_grad_w(rw, W, pb.X[i % pb.sets], pb.dY[i % pb.sets], pb.stash, pb.dW, pb.g, chain,
                      st);
    else
      tc::grad_w(rw, W, pb.X[i % pb.sets], pb.dY[i % pb.sets], pb.stash, pb.dW, pb.N, chain, st,
                 memo);
  };
  const std::string pattern = lname + "@" + std::to_string(static_cast<int>(sparsity * 100));
  T* wp = pruned_dense(pb, W, pattern);
  const double density = W.entity().density();
  std::map<std::string, double> ours;
  std::map<std::string, problem::dense_times> peers;
  double csr = 0;
  for (auto _ : state) {
    ours["fwd"] = bg::median_ms(pb.s, fwd, 5, 50, 150);
    // The forward against cuBLAS call by call (both in the same clock and power state), on
    // either weight.
    const auto [fr, br] = paired_ms(
        pb.s, fwd, [&](int i) { pb.blas_fwd(pb.w_rand, i); }, 30);
    const auto [fp, bp] = paired_ms(
        pb.s, fwd, [&](int i) { pb.blas_fwd(wp, i); }, 30);
    state.counters["fwd_paired_us"] = fp * 1e3;
    state.counters["cublas_rand_fwd_paired_us"] = br * 1e3;
    state.counters["cublas_pruned_fwd_paired_us"] = bp * 1e3;
    state.counters["fwd_paired_vs_cublas_rand"] = br / fr;
    state.counters["fwd_paired_vs_cublas_pruned"] = bp / fp;
    ours["dx"] = bg::median_ms(pb.s, dx, 5, 50, 150);
    ours["dw"] = bg::median_ms(pb.s, dw, 5, 50, 150);
    ours["step"] = bg::median_ms(
        pb.s,
        [&](int i) {
          stco::kernel::cuda::dz_memo memo;
          fwd(i), dx(i, &memo), dw(i, &memo);
        },
        5, 50, 150);
    // The step with dZ formed per gradient call (no memo; conv forms it inside its kernels).
    if (!pb.conv)
      ours["step_no_memo"] = bg::median_ms(
          pb.s, [&](int i) { fwd(i), dx(i), dw(i); }, 5, 50, 150);
    for (const auto o : {bg::step_op::fwd, bg::step_op::dx, bg::step_op::dw, bg::step_op::step})
      peers[bg::op_name(o)] = pb.dense_of(o, wp, pattern, density);
    if (with_csr) {
      std::vector<int> rp, ci;
      std::vector<std::uint16_t> cv;
      csr_of(W, st, rp, ci, cv);
      bg::cusparse_csr sp(CUDA_R_16F, pb.M, pb.K, pb.N, rp, ci, cv);
      csr = bg::time_peer(pb.s, pb.dense->problem(), "cusparse_csr", "fwd", bg::kPruned, pattern,
                          density, "SpMM default",
                          [&](int i) { sp.run(pb.s, pb.X[i % pb.sets], pb.Y); },
                          {3, 10, 200.0, 3, 25.0});
    }
    state.SetIterationTime(ours["step"] * 1e-3);
  }
  const double flops = 2.0 * pb.M * pb.N * pb.K;
  state.counters["M"] = static_cast<double>(pb.M);
  state.counters["K"] = static_cast<double>(pb.K);
  state.counters["N"] = static_cast<double>(pb.N);
  state.counters["sparsity"] = sparsity;
  state.counters["density"] = density;
  for (const std::string o : {"fwd", "dx", "dw", "step"}) {
    const double f = flops * (o == "step" ? 3 : 1), us = ours[o];
    const auto& t = peers[o];
    state.counters[o + "_us"] = us * 1e3;
    state.counters[o + "_TFLOPs"] = f / (us * 1e-3) / 1e12;
    state.counters["cublas_rand_" + o + "_us"] = t.blas_rand * 1e3;
    state.counters["cublas_pruned_" + o + "_us"] = t.blas_pruned * 1e3;
    state.counters[o + "_vs_cublas_rand"] = t.blas_rand / us;
    state.counters[o + "_vs_cublas_pruned"] = t.blas_pruned / us;
    if (t.dnn_rand > 0) {
      state.counters["cudnn_rand_" + o + "_us"] = t.dnn_rand * 1e3;
      state.counters[o + "_vs_cudnn_rand"] = t.dnn_rand / us;
    }
    if (t.dnn_pruned > 0) {
      state.counters["cudnn_pruned_" + o + "_us"] = t.dnn_pruned * 1e3;
      state.counters[o + "_vs_cudnn_pruned"] = t.dnn_pruned / us;
    }
  }
  if (ours.count("step_no_memo")) {
    state.counters["step_no_memo_us"] = ours["step_no_memo"] * 1e3;
    state.counters["step_no_memo_vs_cublas_rand"] = peers["step"].blas_rand / ours["step_no_memo"];
    state.counters["step_no_memo_vs_cublas_pruned"] =
        peers["step"].blas_pruned / ours["step_no_memo"];
  }
  if (csr > 0) {
    state.counters["csr_fwd_us"] = csr * 1e3;
    state.counters["fwd_vs_csr"] = csr / ours["fwd"];
  }
}

struct entry {
  std::string name;
  long M, K, N;
  bool conv;
  stco::conv_geometry g;
  std::string net;
  int repeat;
};

std::vector<entry> problems() {
  std::vector<entry> v{{"sq4096", 4096, 4096, 4096, false, {}, "", 1},
                       {"sq8192", 8192, 8192, 8192, false, {}, "", 1}};
  for (const auto* net : {&stco_bench::vgg16(), &stco_bench::resnet18()})
    for (const auto& l : net->layers) {
      stco::conv_geometry g{};
      g.batch = 32, g.in_h = g.in_w = l.in_hw, g.in_c = l.cin, g.out_c = l.cout;
      g.out_h = g.out_w = l.out_hw(), g.kh = g.kw = l.kernel, g.groups = 1;
      g.stride_h = g.stride_w = l.stride, g.pad_h = g.pad_w = l.pad, g.dil_h = g.dil_w = 1;
      v.push_back({net->name + "/" + l.name, l.cout, l.gemm_k(), 32L * l.out_hw() * l.out_hw(),
                   true, g, net->name, l.repeat});
    }
  return v;
}

/// Which mainloop a registration forces: the default choice (the warp-specialized kernel where
/// it takes the call, else the gathered-GEMM kernel on wgmma where the build and the device have
/// it), the gathered-GEMM kernel on wgmma, or on mma.sync.
enum class loop { best, wgmma, sync };

/// A warp-specialized variant: how gathered rows are copied (-1: the default) and the row tiles
/// per group of the persistent walk (0: the default).
using copy = stco::cuda::options::gather_tc_tuning::copy;
/// The options every registration starts from (GATHER_TC_WS_GATHER may set the gather copy).
stco::cuda::options& base_options() {
  static stco::cuda::options o;
  return o;
}

struct ws_variant {
  int gather = -1;
  int group = 0;
  std::string suffix() const {
    if (gather < 0 && group == 0) return "";
    return std::string("/ws-") +
           (gather == 1   ? "tma"
            : gather == 0 ? "cp"
                          : "default") +
           (group > 0 ? "-g" + std::to_string(group) : "");
  }
};

/// Registers layout L at sparsity s on problem e with mainloop m (and ws variant v).
template <class L>
void reg(const entry& e, const std::string& lname, double s, bool csr, loop m = loop::best,
         ws_variant v = {}) {
  const std::string name = "gather_tc/" + lname +
                           (m == loop::sync    ? "/mma.sync"
                            : m == loop::wgmma ? "/wgmma"
                                               : "") +
                           v.suffix() + "/" + std::to_string(static_cast<int>(s * 100)) + "/" +
                           e.name;
  benchmark::RegisterBenchmark(name.c_str(),
                               [e, lname, s, csr, m, v](benchmark::State& st) {
                                 problem& pb = get(e.name, e.M, e.K, e.N, e.conv ? &e.g : nullptr);
                                 stco::cuda::options o = base_options();
                                 o.gather_tc.wgmma = m != loop::sync;
                                 o.gather_tc.warp_specialized = m == loop::best;
                                 if (v.gather >= 0)
                                   o.gather_tc.gather =
                                       v.gather == 1 ? copy::tma_rows : copy::cp_async;
                                 o.gather_tc.group = v.group;
                                 run_layout<L>(st, pb, lname, s, csr, o);
                                 if (m != loop::best || !v.suffix().empty()) return;
                                 if (!e.net.empty()) {
                                   auto& n = network_steps[e.net][lname];
                                   auto c = [&](const char* k) {
                                     const auto it = st.counters.find(k);
                                     return it == st.counters.end() ? 0.0 : it->second.value;
                                   };
                                   n.ours += e.repeat * c("step_us");
                                   n.blas_rand += e.repeat * c("cublas_rand_step_us");
                                   n.blas_pruned += e.repeat * c("cublas_pruned_step_us");
                                   n.dnn_rand += e.repeat * c("cudnn_rand_step_us");
                                   n.dnn_pruned += e.repeat * c("cudnn_pruned_step_us");
                                 }
                               })
      ->UseManualTime()
      ->Iterations(1)
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace

int main(int argc, char** argv) {
  bg::parse_peer_args(argc, argv, "bench_tile");
  bg::add_peer_context();
  benchmark::AddCustomContext("epilogue", "bias + relu, stash (ours); none (peers)");
  benchmark::AddCustomContext(
      "wgmma", stco::kernel::cuda::arch::sm90a_available() ? "yes (sm_90a build)" : "no");
  if (const char* g = std::getenv("GATHER_TC_WS_GATHER"); g && std::string(g) == "tma_rows")
    base_options().gather_tc.gather = copy::tma_rows;
  else if (g && std::string(g) == "cp_async")
    base_options().gather_tc.gather = copy::cp_async;
  benchmark::AddCustomContext(
      "ws_gather", base_options().gather_tc.gather == copy::tma_rows ? "tma_rows" : "cp_async");
  for (const auto& e : problems()) {
    if (!e.conv) {
      reg<stco::tile_wise<128>>(e, "tile_wise<128>", 0.75, true);
      // The warp-specialized forward's gather (cp.async, 1-row TMA) and walk-group variants.
      for (const int g : {0, 1})
        for (const int grp : {16, 64})
          reg<stco::tile_wise<128>>(e, "tile_wise<128>", 0.75, false, loop::best, {g, grp});
      reg<stco::tile_wise<128>>(e, "tile_wise<128>", 0.75, false, loop::wgmma);
      reg<stco::tile_wise<128>>(e, "tile_wise<128>", 0.75, false, loop::sync);
      reg<stco::tile_wise<128>>(e, "tile_wise<128>", 0.5, e.M <= 4096);
      reg<stco::tile_wise<64>>(e, "tile_wise<64>", 0.75, true);
      reg<stco::tile_wise<32>>(e, "tile_wise<32>", 0.75, true);
      reg<stco::tile_vector<128, 2, 4>>(e, "tile_vector<128,2,4>", 0.75, true);
      // The gathered-GEMM kernel that expands N:M groups in shared memory, against the default
      // (tile_wise panels expanded per call on the warp-specialized kernel).
      reg<stco::tile_vector<128, 2, 4>>(e, "tile_vector<128,2,4>", 0.75, false, loop::wgmma);
      reg<stco::block<32, 32>>(e, "block<32,32>", 0.75, true);
      reg<stco::channel>(e, "channel", 0.75, true);
      reg<stco::channel>(e, "channel", 0.75, false, loop::wgmma);
    } else {
      // Every layer runs each layout (the Cin = 3 stems too, through the element-wise paths).
      reg<stco::channel>(e, "channel", 0.75, false);
      reg<stco::tile_wise<64>>(e, "tile_wise<64>", 0.75, false);
      if (e.g.in_c % 32 == 0) reg<stco::block<32, 32>>(e, "block<32,32>", 0.75, false);
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  current.reset();
  std::printf(
      "\nNetwork training step (forward + dX + dW over the conv layers, batch 32, 224x224, "
      "75%% sparsity; block skips Cin %% 32 != 0 layers; peer time / ours, on the dense-random "
      "and the layout's pruned-dense weight; cuDNN on the conv layers themselves):\n");
  auto x = [](double peer, double ours) { return ours > 0 && peer > 0 ? peer / ours : 0.0; };
  for (const auto& [net, m] : network_steps)
    for (const auto& [l, t] : m)
      std::printf(
          "  %-10s %-22s %10.1f us  vs cuBLAS rand %.2fx pruned %.2fx  vs cuDNN rand %.2fx "
          "pruned %.2fx\n",
          net.c_str(), l.c_str(), t.ours, x(t.blas_rand, t.ours), x(t.blas_pruned, t.ours),
          x(t.dnn_rand, t.ours), x(t.dnn_pruned, t.ours));
  return bg::peer_log::get().write() ? 0 : 1;
}
