// bench/gpu/peers/cublas_gemm.hpp — cuBLAS dense GEMM as the benchmarks' reference peer: row-major
// C[M, N] = op(A)·op(B), fp16/bf16 in, fp32 compute (cublasGemmEx, default algorithm with tensor
// ops). Any shape; transposes cover the training step's three products (Y = W·X, dX = Wᵀ·dY,
// dW = dY·Xᵀ).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>

namespace stco_bench::gpu {

class cublas_gemm {
 public:
  cublas_gemm() { ok(cublasCreate(&h_), "cublasCreate"); }
  cublas_gemm(const cublas_gemm&) = delete;
  cublas_gemm& operator=(const cublas_gemm&) = delete;
  ~cublas_gemm() { cublasDestroy(h_); }

  /// Row-major C[M, N] = op(A)[M, K]·op(B)[K, N]; A is [M, K] (or [K, M] when ta), B is [K, N]
  /// (or [N, K] when tb), all densely packed; `type` CUDA_R_16F or CUDA_R_16BF.
  void run(cudaStream_t s, cudaDataType type, bool ta, bool tb, long M, long N, long K,
           const void* A, const void* B, void* C) {
    ok(cublasSetStream(h_, s), "cublasSetStream");
    const float one = 1.f, zero = 0.f;
    // Row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ: swap the operands.
    const long lda = ta ? M : K, ldb = tb ? K : N;
    ok(cublasGemmEx(h_, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                    static_cast<int>(N), static_cast<int>(M), static_cast<int>(K), &one, B, type,
                    static_cast<int>(ldb), A, type, static_cast<int>(lda), &zero, C, type,
                    static_cast<int>(N), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
       "cublasGemmEx");
  }

 private:
  static void ok(cublasStatus_t st, const char* what) {
    if (st != CUBLAS_STATUS_SUCCESS) {
      std::fprintf(stderr, "%s failed: %d\n", what, static_cast<int>(st));
      std::abort();
    }
  }
  cublasHandle_t h_ = nullptr;
};

}  // namespace stco_bench::gpu
