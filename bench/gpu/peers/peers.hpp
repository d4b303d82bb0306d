// bench/gpu/peers/peers.hpp — the peer module every GPU benchmark uses, in one include:
//   timer.hpp        CUDA-event medians after warm-up, rotation past L2, clock sample (clock.hpp)
//   cublaslt_gemm    cuBLAS through cuBLASLt, best of heuristic algorithms and operand orders
//   cusparselt_24    cuSPARSELt 2:4, planned, compressed once and searched (forward, dX)
//   cusparse_csr     cuSPARSE CSR SpMM on the same mask (unstructured reference)
//   cudnn_conv       cuDNN convolution, forward / backward-data / backward-filter, NHWC
//   peer_log         every peer timing with its data kind, for torch_check.py
// plus dense_peers (below): the dense peers of one layer on both data kinds, timed on demand and
// cached, and add_peer_context(), which states the method in the benchmark's JSON context.
#pragma once

#include <benchmark/benchmark.h>
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "clock.hpp"
#include "cublaslt_gemm.hpp"
#include "cudnn_conv.hpp"
#include "cusparse_csr.hpp"
#include "cusparselt_24.hpp"
#include "peer_log.hpp"
#include "timer.hpp"

namespace stco_bench::gpu {

/// The operations of a training step: fwd Y = W·X, dx = Wᵀ·dY (cuDNN: backward-data),
/// dw = dY·Xᵀ (cuDNN: backward-filter), step = the three back to back.
enum class step_op { fwd, dx, dw, step };
inline const char* op_name(step_op o) {
  return o == step_op::fwd ? "fwd" : o == step_op::dx ? "dx" : o == step_op::dw ? "dw" : "step";
}

inline bool has_cusparselt() {
#if defined(STCO_HAS_CUSPARSELT)
  return true;
#else
  return false;
#endif
}
inline bool has_cudnn() {
#if defined(STCO_HAS_CUDNN)
  return true;
#else
  return false;
#endif
}

/// The run's conditions and the peers' methods, in the Google Benchmark context and the peer
/// log. Call once in main(), after parse_peer_args.
inline void add_peer_context() {
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties");
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  std::vector<std::pair<std::string, std::string>> ctx = {
    {"device", prop.name},
    {"sm_count", std::to_string(prop.multiProcessorCount)},
    {"l2_mib", std::to_string(l2_bytes() >> 20)},
    {"cuda_driver", std::to_string(driver)},
    {"cuda_runtime", std::to_string(runtime)},
    {"cublaslt_version", std::to_string(cublasLtGetVersion())},
    {"clock_at_start", sample_clock().valid ? sample_clock().text() : "NVML not found"},
    {"timing", timing_method()},
    {"data_dense_random",
     "dense-random: the dense model's weight, every entry uniform in [-1, 1) (no zeros)"},
    {"data_pruned_dense",
     "pruned-dense: the row's pruned weight decoded to dense, zeros in place, run by the dense "
     "peer"},
    {"data_note",
     "dW = dY*X^T and cuDNN backward-filter read no weight (data 'activations'); ratios vs "
     "dense peers are given for both data kinds (_rand, _pruned)"},
    {"peer_cublas", cublaslt_gemm::method()},
#if defined(STCO_HAS_CUSPARSELT)
    {"peer_cusparselt", cusparselt_24::method()},
#else
    {"peer_cusparselt", "absent (configure with STCO_CUSPARSELT_ROOT): columns skipped"},
#endif
#if defined(STCO_HAS_CUDNN)
    {"peer_cudnn", cudnn_conv::method()},
#else
    {"peer_cudnn", "absent (configure with STCO_CUDNN_ROOT): columns skipped"},
#endif
    {"peer_cusparse_csr", "cuSPARSE SpMM (CSR, default algorithm), fp32 compute, same mask"},
  };
  for (const auto& [k, v] : ctx) benchmark::AddCustomContext(k, v);
  peer_log::get().context = ctx;
}

/// The dense peers of one layer with weight W [M, K] and input X [K, N] — cuBLAS on the GEMM
/// and, for a convolution, cuDNN on its NHWC form — timed on demand for a given weight and data
/// kind, cached per (peer, op, data kind, pattern), every timing logged. The caller owns every
/// buffer; inputs of call i come from the accessors (rotation).
class dense_peers {
 public:
  struct buffers {
    std::function<const void*(int)> x, dy;            // GEMM X [K, N] and dY [M, N] of call i
    void *y = nullptr, *dx = nullptr, *dw = nullptr;  // Y [M, N], dX [K, N], dW [M, K]
    std::function<void*(int)> cx, cdy;                // conv (cuDNN): NHWC X and dY of call i
    void *cy = nullptr, *cdx = nullptr;               // conv: NHWC Y and dX (dW: dw above, KRSC)
  };

  dense_peers(peer_problem pb, buffers b, cublaslt_gemm& blas, timing_policy p = {})
      : pb_(std::move(pb)), b_(std::move(b)), blas_(blas), pol_(p) {}

  const peer_problem& problem() const { return pb_; }

  /// cuBLAS time (ms) of op with weight W (device, [M, K]) of the given data kind.
  double cublas(cudaStream_t s, step_op o, const void* W, const char* data,
                const std::string& pattern = "", double density = 1) {
    if (o == step_op::dw) data = kActivations;
    const auto k = std::make_tuple(std::string("cublas"), o, std::string(data),
                                   o == step_op::dw ? std::string() : pattern);
    if (const auto it = cache_.find(k); it != cache_.end()) return it->second;
    const long M = pb_.M, K = pb_.K, N = pb_.N;
    const auto fd = gemm_desc::fwd(type(), M, K, N), xd = gemm_desc::dx(type(), M, K, N),
               wd = gemm_desc::dw(type(), M, K, N);
    auto fwd = [&](int i) { blas_.run(s, fd, W, b_.x(i), b_.y); };
    auto dx = [&](int i) { blas_.run(s, xd, W, b_.dy(i), b_.dx); };
    auto dw = [&](int i) { blas_.run(s, wd, b_.dy(i), b_.x(i), b_.dw); };
    const bool tuned = blas_.tune(s, fd, W, b_.x(0), b_.y) &&
                       blas_.tune(s, xd, W, b_.dy(0), b_.dx) &&
                       blas_.tune(s, wd, b_.dy(0), b_.x(0), b_.dw);
    if (!tuned) return cache_[k] = 0;
    std::function<void(int)> fn;
    std::string algo;
    switch (o) {
      case step_op::fwd:
        fn = fwd, algo = blas_.choice(fd);
        break;
      case step_op::dx:
        fn = dx, algo = blas_.choice(xd);
        break;
      case step_op::dw:
        fn = dw, algo = blas_.choice(wd);
        break;
      case step_op::step:
        fn = [&](int i) { fwd(i), dx(i), dw(i); };
        algo = "fwd: " + blas_.choice(fd) + " | dx: " + blas_.choice(xd) +
               " | dw: " + blas_.choice(wd);
        break;
    }
    const double ms = time_peer(s, gemm_problem(), "cublas", op_name(o), data,
                                data == std::string(kDenseRandom) ? "" : pattern, density, algo, fn,
                                pol_, o == step_op::step ? "cublas,cublas,cublas" : "");
    return cache_[k] = ms;
  }

#if defined(STCO_HAS_CUDNN)
  /// cuDNN time (ms) of op on the convolution with filter W (device, KRSC = [M, K]); 0 where the
  /// layer is no convolution or cuDNN has no plan.
  double cudnn(cudaStream_t s, cudnn_conv& dnn, step_op o, void* W, const char* data,
               const std::string& pattern = "", double density = 1) {
    if (pb_.kind != "conv") return 0;
    if (o == step_op::dw) data = kActivations;
    const auto k = std::make_tuple(std::string("cudnn"), o, std::string(data),
                                   o == step_op::dw ? std::string() : pattern);
    if (const auto it = cache_.find(k); it != cache_.end()) return it->second;
    const auto& c = pb_.conv;
    const auto t = type() == CUDA_R_16BF ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_HALF;
    const bool good = dnn.tune(s, conv_op::fwd, c, t, b_.cx(0), W, b_.cy) &&
                      dnn.tune(s, conv_op::bwd_data, c, t, b_.cdx, W, b_.cdy(0)) &&
                      dnn.tune(s, conv_op::bwd_filter, c, t, b_.cx(0), b_.dw, b_.cdy(0));
    if (!good) return cache_[k] = 0;
    auto fwd = [&](int i) { dnn.run(s, conv_op::fwd, c, t, b_.cx(i), W, b_.cy); };
    auto dx = [&](int i) { dnn.run(s, conv_op::bwd_data, c, t, b_.cdx, W, b_.cdy(i)); };
    auto dw = [&](int i) { dnn.run(s, conv_op::bwd_filter, c, t, b_.cx(i), b_.dw, b_.cdy(i)); };
    std::function<void(int)> fn;
    std::string algo;
    switch (o) {
      case step_op::fwd:
        fn = fwd, algo = dnn.choice(conv_op::fwd, c, t);
        break;
      case step_op::dx:
        fn = dx, algo = dnn.choice(conv_op::bwd_data, c, t);
        break;
      case step_op::dw:
        fn = dw, algo = dnn.choice(conv_op::bwd_filter, c, t);
        break;
      case step_op::step:
        fn = [&](int i) { fwd(i), dx(i), dw(i); };
        algo = "fwd: " + dnn.choice(conv_op::fwd, c, t) +
               " | bwd_data: " + dnn.choice(conv_op::bwd_data, c, t) +
               " | bwd_filter: " + dnn.choice(conv_op::bwd_filter, c, t);
        break;
    }
    const double ms = time_peer(s, pb_, "cudnn", op_name(o), data,
                                data == std::string(kDenseRandom) ? "" : pattern, density, algo, fn,
                                pol_, o == step_op::step ? "cudnn,cudnn,cudnn" : "");
    return cache_[k] = ms;
  }
#endif

 private:
  cudaDataType type() const {
    return pb_.dtype == "bf16" ? CUDA_R_16BF : pb_.dtype == "fp32" ? CUDA_R_32F : CUDA_R_16F;
  }
  /// cuBLAS records describe the GEMM (a conv layer's im2col GEMM, im2col not timed).
  peer_problem gemm_problem() const {
    peer_problem g = pb_;
    g.kind = "gemm";
    g.conv = {};
    if (g.gemm_sets > 0) g.sets = g.gemm_sets;
    return g;
  }

  peer_problem pb_;
  buffers b_;
  cublaslt_gemm& blas_;
  timing_policy pol_;
  std::map<std::tuple<std::string, step_op, std::string, std::string>, double> cache_;
};

}  // namespace stco_bench::gpu
