// bench/networks/bench_networks_gpu.cu — the training step of whole networks on the GPU: VGG16,
// ResNet-18, MobileNetV1 and MobileNetV2 (conv layers, bench/common/networks.hpp) at 224×224,
// batch 32, half (fp32 accumulation), per layout and density, against the same step run by the
// peers of bench/gpu/peers, measured in one process.
//
// The step of one layer is forward + dX + dW:
//   stco       the public device expressions, which dispatch to the fast paths:
//                eval(Y, conv2d(W, X, p), s); grad(conv2d(W, X, p), dY, s).wrt_into(X, dX) / (W,
//                dW)
//              in one of two forms (gpu/case.hpp): `conv` on NHWC X (implicit im2col inside the
//              kernels), or `gemm`, matmul(W, X) on the im2col operand X [K, N] — the form of
//              nm<2,4>, whose sparse-tensor-core path (sparse_tc) has no conv form, and the
//              kernel-to-kernel comparison for channel and tile_wise; `nm<2,4>T` is nm<2,4> on a
//              transposable mask (its dX on the sparse tensor cores too), tile_wise<128> the tile
//              the warp-specialized sm_90a forward takes;
//   cuBLAS     cuBLASLt (best algorithm and operand order) on the im2col shape: W·X, Wᵀ·dY, dY·Xᵀ,
//              on two weights: the dense model's (dense-random, uniform in [-1, 1)) and the
//              layout's pruned weight decoded (pruned-dense, zeros in place);
//   cuDNN      the convolution itself on NHWC tensors (forward, backward-data, backward-filter,
//              each its fastest plan from cuDNN's own search), on the same two weights;
//   cuSPARSELt nm<2,4> layouts only: its 2:4 forward, its dX where the mask is transposable (else
//              cuBLAS pruned-dense), cuBLAS dW; layers it refuses (the stems) are left out of its
//              sums, which say over how many layers they run;
//   cuSPARSE   CSR SpMM S·X and Sᵀ·dY (Sᵀ's CSR built before timing, as a trainer would keep it),
//              and dW as cuBLAS's dense dY·Xᵀ read out through S's pattern (cuSPARSE has no fp16
//              CSR sampled product); the mask is the stco weight's.
// The GEMM peers' im2col is not timed (conservative). Layers are the networks' distinct sparse
// layers (regular and pointwise convolutions, stems included; the MobileNets' depthwise layers
// stay dense and are left out of every sum), each measured once and multiplied by its repeat
// count. Each time is the median of CUDA-event timings of the whole step after warm-up (3–20
// calls within ~60 ms, bench/gpu/peers/timer.hpp); inputs are not rotated (on every side).
// Every peer timing is also written to --peers_out=FILE for torch_check.py.
//
// Benchmarks, in run order (network → distinct layer → layout, then the network totals):
//   <net>/<layout>:<form>@<sparsity>/<layer>   manual time = stco's median step of the layer
//   <net>/<layout>:<form>@<sparsity>/total     Σ repeat × step over the network's sparse layers
// Counters (peer step / stco step: above 1, stco faster): vs_cublas_rand, vs_cublas_pruned,
// vs_cudnn_rand, vs_cudnn_pruned, vs_cusparselt, vs_csr; stco_us and <peer>_us (× repeat in the
// totals, with <peer>_layers); repeat, density, R, K, N.
//
//   ./bench_networks_gpu --benchmark_filter='^resnet18/'      bench/networks/gpu.sh (device)
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../common/gpu_random.cuh"
#include "../common/networks.hpp"
#include "../gpu/peers/peers.hpp"
#include "gpu/case.hpp"
#include "stco/core/cuda/device_buffer.cuh"
#include "stco/core/cuda/stream.cuh"
#include "stco/layouts.hpp"

namespace {

namespace bg = stco_bench::gpu;
namespace ng = stco_bench::networks_gpu;

constexpr int kResolution = 224;
constexpr long kBatch = 32;

/// A whole step of one layer: 3–20 timed calls within ~60 ms (a run measures every layer ×
/// layout × density, so each gets a short budget).
const bg::timing_policy kStepPolicy{3, 20, 60.0, 3, 25.0};
double step_ms(cudaStream_t s, const std::function<void(int)>& f) {
  return bg::median_ms(s, f, kStepPolicy);
}

template <class U>
using dbuf = stco::cuda::device_buffer<U>;

/// A device copy of `h`, queued on s.
template <class U>
dbuf<U> upload(const std::vector<U>& h, cudaStream_t s) {
  dbuf<U> d(static_cast<stco::index_t>(h.size()), stco::cuda::stream(s));
  d.copy_from_host(h.data(), static_cast<stco::index_t>(h.size()), stco::cuda::stream(s));
  return d;
}

/// out[p] = dW[r, cols[p]] for the entries p of row r: a CSR user's dW read from the dense one.
__global__ void read_kept(const std::uint16_t* dW, long K, const int* row_ptr, const int* cols,
                          long R, std::uint16_t* out) {
  for (long r = blockIdx.x; r < R; r += gridDim.x)
    for (int p = row_ptr[r] + static_cast<int>(threadIdx.x); p < row_ptr[r + 1];
         p += static_cast<int>(blockDim.x))
      out[p] = dW[r * K + cols[p]];
}

/// The peers of one layer: dense operands (random) for cuBLAS on its im2col shape and cuDNN on
/// its NHWC form, and the sparse peers' steps on the masks of the layouts (one measurement per
/// distinct mask).
struct layer_peers {
  ng::layer l;
  stco::cuda::owned_stream stream;  // declared first: outlives the buffers queued on it
  cudaStream_t s = stream.get().get();
  // W [R, K] (dense-random), dW [R, K], the im2col X [K, N] and its gradient, dY and Y [R, N]
  // (NHWC dY and Y for cuDNN: the same element counts), the NHWC X and dX (fp16 bits).
  dbuf<std::uint16_t> w, dw, col, dcol, dy, y, x, dx;
  bg::cublaslt_gemm blas;
  std::unique_ptr<bg::dense_peers> dense;
#if defined(STCO_HAS_CUDNN)
  bg::cudnn_conv dnn;
#endif
  std::map<std::string, dbuf<std::uint16_t>> pruned;  // mask key -> pruned-dense W
  std::map<std::string, double> csr, lt;              // mask key -> step ms (0: refused)

  explicit layer_peers(const ng::layer& ly)
      : l(ly),
        w(l.R * l.K, stream),
        dw(l.R * l.K, stream),
        col(l.K * l.N, stream),
        dcol(l.K * l.N, stream),
        dy(l.R * l.N, stream),
        y(l.R * l.N, stream),
        x(l.batch * l.hw * l.hw * l.cin, stream),
        dx(l.batch * l.hw * l.hw * l.cin, stream) {
    for (auto [b, key] :
         {std::pair{&w, 11}, std::pair{&col, 12}, std::pair{&dy, 13}, std::pair{&x, 14}})
      bg::fill_uniform_fp16(b->data(), b->bytes() / 2, static_cast<std::uint64_t>(key), s);
    bg::check(cudaStreamSynchronize(s), "peer set-up");
    bg::peer_problem pb;
    pb.row = l.net + "/*/" + l.name;
    pb.kind = "conv";
    pb.M = l.R, pb.K = l.K, pb.N = l.N, pb.sets = 1;
    pb.conv = {l.batch,
               l.hw,
               l.hw,
               l.cin,
               l.R,
               l.params.kh,
               l.params.kw,
               l.params.stride_h,
               l.params.pad_h,
               l.params.dilation_h,
               l.params.groups};
    bg::dense_peers::buffers b;
    b.x = [this](int) { return static_cast<const void*>(col.data()); };
    b.dy = [this](int) { return static_cast<const void*>(dy.data()); };
    b.y = y.data(), b.dx = dcol.data(), b.dw = dw.data();
    b.cx = [this](int) { return static_cast<void*>(x.data()); };
    b.cdy = [this](int) { return static_cast<void*>(dy.data()); };
    b.cy = y.data(), b.cdx = dx.data();
    dense = std::make_unique<bg::dense_peers>(pb, b, blas, kStepPolicy);
  }

  /// The pruned-dense weight of mask `key` (the case's decoded weight), uploaded once.
  void* pruned_of(const std::string& key, const ng::gpu_case& c) {
    auto it = pruned.find(key);
    if (it == pruned.end()) it = pruned.emplace(key, upload(c.decoded, s)).first;
    return it->second.data();
  }

  /// Dense peers' steps (ms; 0 where absent): cuBLAS and cuDNN on either weight.
  struct dense_steps {
    double blas_rand = 0, blas_pruned = 0, dnn_rand = 0, dnn_pruned = 0;
  };
  dense_steps dense_step(const std::string& key, const std::string& pattern,
                         const ng::gpu_case& c) {
    void* wp = pruned_of(key, c);
    dense_steps t;
    t.blas_rand = dense->cublas(s, bg::step_op::step, w.data(), bg::kDenseRandom);
    t.blas_pruned = dense->cublas(s, bg::step_op::step, wp, bg::kPrunedDense, pattern, c.density);
#if defined(STCO_HAS_CUDNN)
    t.dnn_rand = dense->cudnn(s, dnn, bg::step_op::step, w.data(), bg::kDenseRandom);
    t.dnn_pruned =
        dense->cudnn(s, dnn, bg::step_op::step, wp, bg::kPrunedDense, pattern, c.density);
#endif
    return t;
  }

  void dense_dw() {
    blas.run(s, bg::gemm_desc::dw(CUDA_R_16F, l.R, l.K, l.N), dy.data(), col.data(), dw.data());
  }

  double csr_step(const std::string& mask_key, const std::string& pattern, const ng::gpu_case& c) {
    if (csr.count(mask_key)) return csr[mask_key];
    const long R = l.R, K = l.K;
    // Sᵀ as CSR [K, R].
    std::vector<int> trp(static_cast<std::size_t>(K + 1), 0), tci(c.cols.size());
    for (int k : c.cols) ++trp[static_cast<std::size_t>(k) + 1];
    for (long k = 0; k < K; ++k) trp[k + 1] += trp[k];
    std::vector<int> fill(trp.begin(), trp.end() - 1);
    for (long r = 0; r < R; ++r)
      for (int p = c.row_ptr[r]; p < c.row_ptr[r + 1]; ++p)
        tci[static_cast<std::size_t>(fill[c.cols[p]]++)] = static_cast<int>(r);
    const std::vector<std::uint16_t> vals(c.cols.size(), 0x3c00);  // 1.0
    bg::cusparse_csr S(CUDA_R_16F, R, K, l.N, c.row_ptr, c.cols, vals);
    bg::cusparse_csr St(CUDA_R_16F, K, R, l.N, trp, tci, vals);
    const auto rp = upload(c.row_ptr, s), ci = upload(c.cols, s);
    dbuf<std::uint16_t> kept(static_cast<stco::index_t>(c.cols.size()), stream);
    blas.tune(s, bg::gemm_desc::dw(CUDA_R_16F, l.R, l.K, l.N), dy.data(), col.data(), dw.data());
    bg::peer_problem pb = dense->problem();
    pb.kind = "gemm", pb.conv = {};
    const double t = bg::time_peer(
        s, pb, "cusparse_csr", "step", bg::kPruned, pattern, c.density,
        "SpMM default; dW: cuBLAS dense read through the mask",
        [&](int) {
          S.run(s, col.data(), y.data());
          St.run(s, dy.data(), dcol.data());
          dense_dw();
          read_kept<<<static_cast<unsigned>(std::min<long>(R, 4096)), 256, 0, s>>>(
              dw.data(), K, rp.data(), ci.data(), R, kept.data());
        },
        kStepPolicy, "cusparse_csr,cusparse_csr,cublas");
    bg::check(cudaStreamSynchronize(s), "csr step");
    return csr[mask_key] = t;
  }

  /// cuSPARSELt's step on a 2:4 mask (ms; 0 where it refuses the layer): its forward, its dX
  /// where the mask is transposable (else cuBLAS on the pruned-dense weight), cuBLAS dW.
  double cusparselt_step(const std::string& mask_key, const std::string& pattern,
                         const ng::gpu_case& c) {
    if (lt.count(mask_key)) return lt[mask_key];
#if defined(STCO_HAS_CUSPARSELT)
    void* wp = pruned_of(mask_key, c);
    bg::cusparselt_24 fwd(CUDA_R_16F, false, l.R, l.K, l.N, wp, col.data(), y.data(), s);
    if (!fwd.available()) return lt[mask_key] = 0;
    std::unique_ptr<bg::cusparselt_24> dxt;
    if (c.transposable)
      dxt = std::make_unique<bg::cusparselt_24>(CUDA_R_16F, true, l.K, l.R, l.N, wp, dy.data(),
                                                dcol.data(), s);
    const bool lt_dx = dxt && dxt->available();
    const auto xd = bg::gemm_desc::dx(CUDA_R_16F, l.R, l.K, l.N);
    blas.tune(s, xd, wp, dy.data(), dcol.data());
    blas.tune(s, bg::gemm_desc::dw(CUDA_R_16F, l.R, l.K, l.N), dy.data(), col.data(), dw.data());
    bg::peer_problem pb = dense->problem();
    pb.kind = "gemm", pb.conv = {};
    const double t = bg::time_peer(
        s, pb, "cusparselt", "step", bg::kPruned, pattern, c.density,
        "fwd: " + fwd.choice() + " | dx: " + (lt_dx ? dxt->choice() : "cuBLAS pruned-dense"),
        [&](int) {
          fwd.run(s, col.data(), y.data());
          if (lt_dx)
            dxt->run(s, dy.data(), dcol.data());
          else
            blas.run(s, xd, wp, dy.data(), dcol.data());
          dense_dw();
        },
        kStepPolicy, lt_dx ? "cusparselt,cusparselt,cublas" : "cusparselt,cublas,cublas");
    bg::check(cudaStreamSynchronize(s), "cusparselt step");
    return lt[mask_key] = t;
#else
    (void)pattern, (void)c;
    return lt[mask_key] = 0;
#endif
  }
};

std::unique_ptr<layer_peers> current;  // one layer's buffers alive at a time
layer_peers& peers_of(const ng::layer& l) {
  if (!current || current->l.net != l.net || current->l.name != l.name) {
    current.reset();
    current = std::make_unique<layer_peers>(l);
  }
  return *current;
}

namespace nw = stco_bench::networks;
const nw::counter_names kCounters{"vs_cublas_rand", "vs_csr", "stco_us",
                                  "cublas_rand_us", "csr_us", 1e6};

using factory = std::unique_ptr<ng::gpu_case> (*)(const ng::layer&, double, cudaStream_t);

struct layout_entry {
  const char* name;  // layout:form
  const char* mask;  // the layout's name without the form: forms of one layout share a mask
  factory make;
  std::vector<double> sparsities;
};

const std::vector<layout_entry>& layouts() {
  using ng::form;
  static const std::vector<layout_entry> v = {
      {"nm<2,4>:gemm", "nm<2,4>", &ng::make_case<stco::nm<2, 4>, form::gemm>, {0.5}},
      {"nm<2,4>T:gemm", "nm<2,4>T", &ng::make_case<stco::nm<2, 4>, form::gemm_transposable>, {0.5}},
      {"tile_wise<64>:conv",
       "tile_wise<64>",
       &ng::make_case<stco::tile_wise<64>, form::conv>,
       {0.5, 0.75}},
      {"tile_wise<64>:gemm",
       "tile_wise<64>",
       &ng::make_case<stco::tile_wise<64>, form::gemm>,
       {0.5, 0.75}},
      {"tile_wise<128>:gemm",
       "tile_wise<128>",
       &ng::make_case<stco::tile_wise<128>, form::gemm>,
       {0.5, 0.75}},
      {"block<32,32>:conv",
       "block<32,32>",
       &ng::make_case<stco::block<32, 32>, form::conv>,
       {0.5, 0.75}},
      {"channel:conv", "channel", &ng::make_case<stco::channel, form::conv>, {0.5, 0.75}},
      {"channel:gemm", "channel", &ng::make_case<stco::channel, form::gemm>, {0.5, 0.75}},
  };
  return v;
}

void bench_layer(benchmark::State& state, const ng::layer& l, const layout_entry& le, double sp,
                 const std::string& key) {
  layer_peers& pr = peers_of(l);
  const std::string mask = nw::key_of("", le.mask, sp);
  const std::string pattern =
      std::string(le.mask) + "@" + std::to_string(static_cast<int>(sp * 100));
  const bool is_24 = std::string(le.mask).rfind("nm<2,4>", 0) == 0;
  double t = 0, ts = 0, tl = 0, density = 0;  // seconds
  layer_peers::dense_steps td;
  for (auto _ : state) {
    auto c = le.make(l, sp, pr.s);
    density = c->density;
    c->step();  // derived maps (transposed traversal, metadata) are built once here
    bg::check(cudaStreamSynchronize(pr.s), "warm-up step");
    t = 1e-3 * step_ms(pr.s, [&](int) { c->step(); });
    td = pr.dense_step(mask, pattern, *c);
    ts = 1e-3 * pr.csr_step(mask, pattern, *c);
    if (is_24) tl = 1e-3 * pr.cusparselt_step(mask, pattern, *c);
    state.SetIterationTime(t);
  }
  auto& tot = nw::network_totals()[key];
  tot.add(l.repeat, t, 1e-3 * td.blas_rand, ts, density, static_cast<double>(l.R * l.K));
  nw::set_counters(state, kCounters, t, 1e-3 * td.blas_rand, ts, density);
  // The further peers: counters <name>_us and vs_<name> here, sums in the network's total.
  const std::pair<const char*, double> more[] = {{"cublas_pruned", td.blas_pruned},
                                                 {"cudnn_rand", td.dnn_rand},
                                                 {"cudnn_pruned", td.dnn_pruned},
                                                 {"cusparselt", tl * 1e3}};
  for (const auto& [name, ms] : more) {
    if (ms <= 0) continue;
    tot.add_peer(name, l.repeat, 1e-3 * ms, t);
    state.counters[std::string(name) + "_us"] = ms * 1e3;
    state.counters[std::string("vs_") + name] = 1e-3 * ms / t;
  }
  state.counters["repeat"] = l.repeat;
  state.counters["R"] = static_cast<double>(l.R);
  state.counters["K"] = static_cast<double>(l.K);
  state.counters["N"] = static_cast<double>(l.N);
}

void register_all(const std::vector<std::vector<ng::layer>>& nets) {
  for (const auto& ls : nets) {
    for (const auto& l : ls)
      for (const auto& le : layouts())
        for (double sp : le.sparsities) {
          const std::string key = nw::key_of(l.net, le.name, sp);
          nw::register_manual(
              key + "/" + l.name,
              [&l, &le, sp, key](benchmark::State& st) { bench_layer(st, l, le, sp, key); },
              benchmark::kMicrosecond);
        }
    for (const auto& le : layouts())
      for (double sp : le.sparsities) {
        const std::string key = nw::key_of(ls.front().net, le.name, sp);
        nw::register_manual(
            key + "/total",
            [key](benchmark::State& st) {
              current.reset();  // the network's last layer buffers
              nw::report_total(st, key, kCounters);
            },
            benchmark::kMicrosecond);
      }
  }
}

/// The run's conditions in the JSON context (the peer module adds the device and the methods).
void add_context() {
  bg::add_peer_context();
  const std::pair<const char*, std::string> ctx[] = {
      {"input", std::to_string(kResolution) + "x" + std::to_string(kResolution) + ", batch " +
                    std::to_string(kBatch) + ", half (fp32 accumulate)"},
      {"step",
       "forward + dX + dW per sparse conv layer (regular and pointwise, stems included), "
       "distinct layers measured once and multiplied by their repeat; depthwise layers left out "
       "(dense on every side); no epilogue"},
      {"peers",
       "cuBLASLt x3 on the im2col GEMM shapes (im2col not timed) and cuDNN fwd / bwd-data / "
       "bwd-filter on the NHWC convolution, each on dense-random and pruned-dense weights; "
       "cuSPARSELt (nm<2,4> layouts: 2:4 fwd, 2:4 dX where transposable, cuBLAS dW); cuSPARSE "
       "CSR SpMM (S, S^T) + cuBLAS dY*X^T read through the mask"},
      {"forms",
       "conv: stco conv2d on NHWC (implicit im2col); gemm: stco matmul on the im2col operand "
       "(im2col not timed)"},
      {"rotation",
       "none: one input set per layer, on every side (the timing line's rotation "
       "does not apply here); whole steps, 3-20 calls within ~60 ms"},
  };
  for (const auto& [k, v] : ctx) benchmark::AddCustomContext(k, v);
}

}  // namespace

int main(int argc, char** argv) {
  bg::parse_peer_args(argc, argv, "bench_networks_gpu");
  add_context();
  static std::vector<std::vector<ng::layer>> nets;
  for (const auto* n : stco_bench::all_networks())
    nets.push_back(stco_bench::networks::sparse_layers(*n, kResolution, kBatch));
  register_all(nets);
  benchmark::Initialize(&argc, argv);
  if (argc > 1) {
    std::fprintf(stderr, "bench_networks_gpu: unknown flag %s\n", argv[1]);
    return 2;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  current.reset();
  return bg::peer_log::get().write() ? 0 : 1;
}
