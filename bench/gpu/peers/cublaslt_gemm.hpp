// bench/gpu/peers/cublaslt_gemm.hpp — cuBLAS at its best as the dense GEMM peer: row-major
// C[M, N] = op(A)·op(B) through cuBLASLt, fp16 / bf16 (fp32 accumulation, CUBLAS_COMPUTE_32F) or
// fp32 (CUBLAS_COMPUTE_32F: no TF32, as PyTorch's default), alpha 1, beta 0, a 32 MiB workspace;
// split-k partial sums are reduced in fp32 (no reduction in the 16-bit output type).
//
// The first call for a shape tunes it (tune(), outside any timing): for each operand order a user
// could write with the same memory layout of A, B and C,
//   col_swap  column-major Cᵀ = op(B)ᵀ·op(A)ᵀ (the classic cublasGemmEx call on row-major data),
//   row_out   column-major views of A and B with transpose flags, C and D in CUBLASLT_ORDER_ROW,
//   row_all   A, B, C and D all in CUBLASLT_ORDER_ROW (C = op(A)·op(B) as written),
// it asks cublasLtMatmulAlgoGetHeuristic for up to 16 algorithms, runs each (warm-up, then the
// median of five timed calls), and keeps the fastest (order, algorithm); orders or algorithms
// cuBLASLt refuses are skipped. choice() says what was taken.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "timer.hpp"

namespace stco_bench::gpu {

/// Row-major C[M, N] = op(A)·op(B): A is [M, K] (stored [K, M] when ta), B is [K, N] (stored
/// [N, K] when tb), every matrix densely packed.
struct gemm_desc {
  cudaDataType type = CUDA_R_16F;
  bool ta = false, tb = false;
  long M = 0, N = 0, K = 0;

  bool operator<(const gemm_desc& o) const {
    return std::tie(type, ta, tb, M, N, K) < std::tie(o.type, o.ta, o.tb, o.M, o.N, o.K);
  }
  /// The three products of a layer with weight W [M, K] and input X [K, N]:
  /// Y = W·X [M, N] (A = W, B = X); dX = Wᵀ·dY [K, N] (A = W, B = dY); dW = dY·Xᵀ [M, K]
  /// (A = dY, B = X).
  static gemm_desc fwd(cudaDataType t, long M, long K, long N) {
    return {t, false, false, M, N, K};
  }
  static gemm_desc dx(cudaDataType t, long M, long K, long N) { return {t, true, false, K, N, M}; }
  static gemm_desc dw(cudaDataType t, long M, long K, long N) { return {t, false, true, M, K, N}; }
};

inline const char* dtype_name(cudaDataType t) {
  return t == CUDA_R_16F ? "fp16" : t == CUDA_R_16BF ? "bf16" : t == CUDA_R_32F ? "fp32" : "?";
}

class cublaslt_gemm {
 public:
  explicit cublaslt_gemm(std::size_t workspace_bytes = std::size_t{32} << 20, int max_algos = 16)
      : ws_bytes_(workspace_bytes), max_algos_(max_algos) {
    ok(cublasLtCreate(&h_), "cublasLtCreate");
    check(cudaMalloc(&ws_, ws_bytes_), "cudaMalloc (cuBLASLt workspace)");
  }
  cublaslt_gemm(const cublaslt_gemm&) = delete;
  cublaslt_gemm& operator=(const cublaslt_gemm&) = delete;
  ~cublaslt_gemm() {
    for (auto& [d, p] : plans_) p.destroy();
    cudaFree(ws_);
    cublasLtDestroy(h_);
  }

  /// What every timing of this peer means (for benchmark contexts).
  static std::string method() {
    return "cuBLASLt, CUBLAS_COMPUTE_32F (split-k reduced in fp32), 32 MiB workspace; per shape "
           "the fastest of up to 16 heuristic algorithms in each of 3 operand orders (col-major "
           "swap, row-order output, all row-order), each timed after warm-up; tuning not timed";
  }

  /// Finds the fastest (order, algorithm) for d on these operands, once per d (not timed).
  /// False where cuBLASLt offers no algorithm in any order (then run() does nothing).
  bool tune(cudaStream_t s, const gemm_desc& d, const void* A, const void* B, void* C) {
    if (const auto it = plans_.find(d); it != plans_.end()) return it->second.op != nullptr;
    plan best;
    double best_ms = 0;
    int tried = 0, orders = 0;
    for (const order o : {order::col_swap, order::row_out, order::row_all}) {
      plan p;
      if (!make(o, d, p)) {
        p.destroy();
        continue;
      }
      cublasLtMatmulPreference_t pref = nullptr;
      ok(cublasLtMatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate");
      const std::uint64_t ws = ws_bytes_;
      ok(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                              sizeof ws),
         "cublasLtMatmulPreferenceSetAttribute");
      // Split-k partial sums reduced in fp32, never in the 16-bit output type: fp32 accumulation
      // throughout (PyTorch: allow_fp16_reduced_precision_reduction = False).
      const std::uint32_t schemes =
          CUBLASLT_REDUCTION_SCHEME_INPLACE | CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
      ok(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK,
                                              &schemes, sizeof schemes),
         "cublasLtMatmulPreferenceSetAttribute");
      std::vector<cublasLtMatmulHeuristicResult_t> res(static_cast<std::size_t>(max_algos_));
      int n = 0;
      const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(h_, p.op, p.a, p.b, p.c, p.c, pref,
                                                               max_algos_, res.data(), &n);
      cublasLtMatmulPreferenceDestroy(pref);
      if (st != CUBLAS_STATUS_SUCCESS || n == 0) {
        p.destroy();
        continue;
      }
      ++orders;
      for (int i = 0; i < n; ++i) {
        const auto& r = res[static_cast<std::size_t>(i)];
        if (r.state != CUBLAS_STATUS_SUCCESS || r.workspaceSize > ws_bytes_) continue;
        p.algo = r.algo;
        p.ws = r.workspaceSize;
        if (launch(s, p, A, B, C) != CUBLAS_STATUS_SUCCESS ||
            cudaStreamSynchronize(s) != cudaSuccess) {
          cudaGetLastError();  // a refused algorithm is skipped, not fatal
          continue;
        }
        ++tried;
        const double ms = median_ms(
            s, [&](int) { launch(s, p, A, B, C); }, 3, 5, 20.0, 1, 1.0);
        if (best_ms == 0 || ms < best_ms) {
          best_ms = ms;
          if (best.op != p.op) best.destroy();
          best = p;
          best.text = describe(o, r.algo, r.workspaceSize);
        }
      }
      if (best.op != p.op) p.destroy();
    }
    if (best_ms == 0) {
      std::fprintf(stderr,
                   "cuBLASLt: no algorithm for %s [%ld x %ld x %ld] (ta %d tb %d): column left "
                   "at 0\n",
                   dtype_name(d.type), d.M, d.N, d.K, d.ta, d.tb);
      plans_[d] = plan{};
      return false;
    }
    best.text += "; best of " + std::to_string(tried) + " algorithms in " + std::to_string(orders) +
                 " orders";
    plans_[d] = best;
    return true;
  }

  /// C = op(A)·op(B) with d's plan (tuned on these operands on first use).
  void run(cudaStream_t s, const gemm_desc& d, const void* A, const void* B, void* C) {
    auto it = plans_.find(d);
    if (it == plans_.end()) {
      tune(s, d, A, B, C);
      it = plans_.find(d);
    }
    if (it->second.op) ok(launch(s, it->second, A, B, C), "cublasLtMatmul");
  }

  /// The chosen order and algorithm of d ("" before tuning).
  std::string choice(const gemm_desc& d) const {
    const auto it = plans_.find(d);
    return it == plans_.end() ? "" : it->second.text;
  }

 private:
  enum class order { col_swap, row_out, row_all };
  struct plan {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulAlgo_t algo{};
    bool swap = false;  // operands passed as (B, A)
    std::size_t ws = 0;
    std::string text;
    void destroy() {
      if (op) cublasLtMatmulDescDestroy(op);
      for (auto l : {a, b, c})
        if (l) cublasLtMatrixLayoutDestroy(l);
      op = nullptr, a = b = c = nullptr;
    }
  };

  static void ok(cublasStatus_t st, const char* what) {
    if (st != CUBLAS_STATUS_SUCCESS) {
      std::fprintf(stderr, "%s failed: %d\n", what, static_cast<int>(st));
      std::abort();
    }
  }

  /// A layout of rows × cols with leading dimension ld, in row order when `row`.
  static bool layout(cublasLtMatrixLayout_t& l, cudaDataType t, long rows, long cols, long ld,
                     bool row) {
    if (cublasLtMatrixLayoutCreate(&l, t, static_cast<std::uint64_t>(rows),
                                   static_cast<std::uint64_t>(cols), ld) != CUBLAS_STATUS_SUCCESS)
      return false;
    if (!row) return true;
    const cublasLtOrder_t o = CUBLASLT_ORDER_ROW;
    return cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_ORDER, &o, sizeof o) ==
           CUBLAS_STATUS_SUCCESS;
  }

  /// The descriptors of d in order o (the memory of A, B and C is the same in every order).
  static bool make(order o, const gemm_desc& d, plan& p) {
    if (cublasLtMatmulDescCreate(&p.op, CUBLAS_COMPUTE_32F, CUDA_R_32F) != CUBLAS_STATUS_SUCCESS)
      return false;
    const long M = d.M, N = d.N, K = d.K;
    cublasOperation_t oa = CUBLAS_OP_N, ob = CUBLAS_OP_N;
    bool good = true;
    switch (o) {
      case order::col_swap:  // Cᵀ [N, M] = op(B)ᵀ·op(A)ᵀ, everything column-major
        p.swap = true;
        oa = d.tb ? CUBLAS_OP_T : CUBLAS_OP_N;
        ob = d.ta ? CUBLAS_OP_T : CUBLAS_OP_N;
        good = (d.tb ? layout(p.a, d.type, K, N, K, false) : layout(p.a, d.type, N, K, N, false)) &&
               (d.ta ? layout(p.b, d.type, M, K, M, false) : layout(p.b, d.type, K, M, K, false)) &&
               layout(p.c, d.type, N, M, N, false);
        break;
      case order::row_out:  // C = op(A)·op(B): A, B as column-major views, C row order
        oa = d.ta ? CUBLAS_OP_N : CUBLAS_OP_T;
        ob = d.tb ? CUBLAS_OP_N : CUBLAS_OP_T;
        good = (d.ta ? layout(p.a, d.type, M, K, M, false) : layout(p.a, d.type, K, M, K, false)) &&
               (d.tb ? layout(p.b, d.type, K, N, K, false) : layout(p.b, d.type, N, K, N, false)) &&
               layout(p.c, d.type, M, N, N, true);
        break;
      case order::row_all:  // C = op(A)·op(B), everything in row order
        oa = d.ta ? CUBLAS_OP_T : CUBLAS_OP_N;
        ob = d.tb ? CUBLAS_OP_T : CUBLAS_OP_N;
        good = (d.ta ? layout(p.a, d.type, K, M, M, true) : layout(p.a, d.type, M, K, K, true)) &&
               (d.tb ? layout(p.b, d.type, N, K, K, true) : layout(p.b, d.type, K, N, N, true)) &&
               layout(p.c, d.type, M, N, N, true);
        break;
    }
    return good &&
           cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSA, &oa, sizeof oa) ==
               CUBLAS_STATUS_SUCCESS &&
           cublasLtMatmulDescSetAttribute(p.op, CUBLASLT_MATMUL_DESC_TRANSB, &ob, sizeof ob) ==
               CUBLAS_STATUS_SUCCESS;
  }

  cublasStatus_t launch(cudaStream_t s, const plan& p, const void* A, const void* B, void* C) {
    const float one = 1.f, zero = 0.f;
    const void* x = p.swap ? B : A;
    const void* y = p.swap ? A : B;
    return cublasLtMatmul(h_, p.op, &one, x, p.a, y, p.b, &zero, C, p.c, C, p.c, &p.algo, ws_, p.ws,
                          s);
  }

  static std::string describe(order o, const cublasLtMatmulAlgo_t& algo, std::size_t ws) {
    auto attr = [&](cublasLtMatmulAlgoConfigAttributes_t a) {
      std::uint32_t v = 0;
      std::size_t written = 0;
      cublasLtMatmulAlgoConfigGetAttribute(&algo, a, &v, sizeof v, &written);
      return static_cast<unsigned>(v);
    };
    char b[200];
    std::snprintf(b, sizeof b, "%s, algo %u tile %u stages %u split-k %u, workspace %.1f MiB",
                  o == order::col_swap  ? "col_swap"
                  : o == order::row_out ? "row_out"
                                        : "row_all",
                  attr(CUBLASLT_ALGO_CONFIG_ID), attr(CUBLASLT_ALGO_CONFIG_TILE_ID),
                  attr(CUBLASLT_ALGO_CONFIG_STAGES_ID), attr(CUBLASLT_ALGO_CONFIG_SPLITK_NUM),
                  static_cast<double>(ws) / (1 << 20));
    return b;
  }

  cublasLtHandle_t h_ = nullptr;
  void* ws_ = nullptr;
  std::size_t ws_bytes_;
  int max_algos_;
  std::map<gemm_desc, plan> plans_;
};

}  // namespace stco_bench::gpu
