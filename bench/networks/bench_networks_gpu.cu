// bench/networks/bench_networks_gpu.cu — the training step of whole networks on the GPU: VGG16,
// ResNet-18, MobileNetV1 and MobileNetV2 (conv layers, bench/common/networks.hpp) at 224×224,
// batch 32, half (fp32 accumulation), per layout and density, against the same step dense
// (cuBLAS) and in cuSPARSE CSR on the same mask, measured in one process.
//
// The step of one layer is forward + dX + dW:
//   stco     the public device expressions, which dispatch to the fast paths:
//              eval(Y, conv2d(W, X, p), s); grad(conv2d(W, X, p), dY, s).wrt_into(X, dX) / (W, dW)
//            in one of two forms (gpu/case.hpp): `conv` on NHWC X (implicit im2col inside the
//            kernels), or `gemm`, matmul(W, X) on the im2col operand X [K, N] — the form of
//            nm<2,4>, whose sparse-tensor-core path (sparse_tc) has no conv form, and the
//            kernel-to-kernel comparison for channel and tile_wise; `nm<2,4>T` is nm<2,4> on a
//            transposable mask (its dX on the sparse tensor cores too), tile_wise<128> the tile
//            the warp-specialized sm_90a forward takes;
//   cuBLAS   three cublasGemmEx on the im2col shape (fp16 in, fp32 compute): W·X, Wᵀ·dY, dY·Xᵀ;
//   cuSPARSE CSR SpMM S·X and Sᵀ·dY (Sᵀ's CSR built before timing, as a trainer would keep it),
//            and dW as cuBLAS's dense dY·Xᵀ read out through S's pattern (cuSPARSE has no fp16
//            CSR sampled product); the mask is the stco weight's.
// The peers' im2col is not timed (conservative). Layers are the networks' distinct sparse layers
// (regular and pointwise convolutions, stems included; the MobileNets' depthwise layers stay
// dense and are left out of every sum), each measured once and multiplied by its repeat count.
// Each time is the median of CUDA-event timings of the whole step after warm-up (3–20 calls
// within ~60 ms, bench/gpu/peers/timer.hpp); inputs are not rotated (on every side).
//
// Benchmarks, in run order (network → distinct layer → layout, then the network totals):
//   <net>/<layout>:<form>@<sparsity>/<layer>   manual time = stco's median step of the layer
//   <net>/<layout>:<form>@<sparsity>/total     Σ repeat × step over the network's sparse layers
// Counters: vs_cublas, vs_csr (peer step / stco step: above 1, stco faster), stco_us, cublas_us,
// csr_us (× repeat in the totals), repeat, density, R, K, N.
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
#include "../gpu/peers/cublas_gemm.hpp"
#include "../gpu/peers/cusparse_csr.hpp"
#include "../gpu/peers/timer.hpp"
#include "gpu/case.hpp"
#include "stco/core/cuda/device_buffer.cuh"
#include "stco/core/cuda/stream.cuh"
#include "stco/layouts.hpp"

namespace {

namespace bg = stco_bench::gpu;
namespace ng = stco_bench::networks_gpu;

constexpr int kResolution = 224;
constexpr long kBatch = 32;

double step_ms(cudaStream_t s, const std::function<void(int)>& f) {
  return bg::median_ms(s, f, 3, 20, 60.0);
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

/// The peers of one layer on its im2col shape: dense operands (random), cuBLAS, and cuSPARSE CSR
/// steps on the masks of the layouts (one measurement per distinct mask).
struct layer_peers {
  ng::layer l;
  stco::cuda::owned_stream stream;  // declared first: outlives the buffers queued on it
  cudaStream_t s = stream.get().get();
  // W [R, K], dW [R, K], the im2col X [K, N] and its gradient, dY and Y [R, N] (fp16 bits).
  dbuf<std::uint16_t> w, dw, col, dcol, dy, y;
  bg::cublas_gemm blas;
  double dense = -1;
  std::map<std::string, double> csr;  // mask key -> step ms

  explicit layer_peers(const ng::layer& ly)
      : l(ly),
        w(l.R * l.K, stream),
        dw(l.R * l.K, stream),
        col(l.K * l.N, stream),
        dcol(l.K * l.N, stream),
        dy(l.R * l.N, stream),
        y(l.R * l.N, stream) {
    for (auto [b, key] : {std::pair{&w, 11}, std::pair{&col, 12}, std::pair{&dy, 13}})
      bg::fill_uniform_fp16(b->data(), b->bytes() / 2, static_cast<std::uint64_t>(key), s);
    bg::check(cudaStreamSynchronize(s), "peer set-up");
  }

  void dense_dw() {
    blas.run(s, CUDA_R_16F, false, true, l.R, l.K, l.N, dy.data(), col.data(), dw.data());
  }
  double dense_step() {
    if (dense < 0)
      dense = step_ms(s, [&](int) {
        blas.run(s, CUDA_R_16F, false, false, l.R, l.N, l.K, w.data(), col.data(), y.data());
        blas.run(s, CUDA_R_16F, true, false, l.K, l.N, l.R, w.data(), dy.data(), dcol.data());
        dense_dw();
      });
    return dense;
  }

  double csr_step(const std::string& mask_key, const ng::gpu_case& c) {
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
    const double t = step_ms(s, [&](int) {
      S.run(s, col.data(), y.data());
      St.run(s, dy.data(), dcol.data());
      dense_dw();
      read_kept<<<static_cast<unsigned>(std::min<long>(R, 4096)), 256, 0, s>>>(
          dw.data(), K, rp.data(), ci.data(), R, kept.data());
    });
    bg::check(cudaStreamSynchronize(s), "csr step");
    return csr[mask_key] = t;
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
const nw::counter_names kCounters{"vs_cublas", "vs_csr", "stco_us", "cublas_us", "csr_us", 1e6};

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
  double t = 0, td = 0, ts = 0, density = 0;  // seconds
  for (auto _ : state) {
    auto c = le.make(l, sp, pr.s);
    density = c->density;
    c->step();  // derived maps (transposed traversal, metadata) are built once here
    bg::check(cudaStreamSynchronize(pr.s), "warm-up step");
    t = 1e-3 * step_ms(pr.s, [&](int) { c->step(); });
    td = 1e-3 * pr.dense_step();
    ts = 1e-3 * pr.csr_step(nw::key_of("", le.mask, sp), *c);
    state.SetIterationTime(t);
  }
  nw::network_totals()[key].add(l.repeat, t, td, ts, density, static_cast<double>(l.R * l.K));
  nw::set_counters(state, kCounters, t, td, ts, density);
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

/// The run's conditions in the JSON context: the device first.
void add_context() {
  cudaDeviceProp prop{};
  bg::check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  const std::pair<const char*, std::string> ctx[] = {
      {"device", prop.name},
      {"sm_count", std::to_string(prop.multiProcessorCount)},
      {"input", std::to_string(kResolution) + "x" + std::to_string(kResolution) + ", batch " +
                    std::to_string(kBatch) + ", half (fp32 accumulate)"},
      {"step",
       "forward + dX + dW per sparse conv layer (regular and pointwise, stems included), "
       "distinct layers measured once and multiplied by their repeat; depthwise layers left out "
       "(dense on every side); no epilogue"},
      {"peers",
       "cuBLAS cublasGemmEx x3 and cuSPARSE CSR SpMM (S, S^T) + cuBLAS dY*X^T read through the "
       "mask, on the im2col GEMM shapes, im2col not timed"},
      {"forms",
       "conv: stco conv2d on NHWC (implicit im2col); gemm: stco matmul on the im2col operand "
       "(im2col not timed)"},
  };
  for (const auto& [k, v] : ctx) benchmark::AddCustomContext(k, v);
}

}  // namespace

int main(int argc, char** argv) {
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
  return 0;
}
