// bench/gpu/peers/cusparse_csr.hpp — cuSPARSE CSR SpMM as the unstructured-sparse peer: row-major
// C[M, N] = A·B with A in CSR (any mask), B [K, N] row-major, fp16/bf16 values, fp32 compute.
// The CSR arrays are built by the caller on the host from whatever mask it benchmarks.
#pragma once

#include <cuda_runtime.h>
#include <cusparse.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "timer.hpp"

namespace stco_bench::gpu {

class cusparse_csr {
 public:
  /// Uploads A (row pointers, columns, 16-bit values) and prepares C = A·B for B [K, N].
  cusparse_csr(cudaDataType type, long M, long K, long N, const std::vector<int>& row_ptr,
               const std::vector<int>& cols, const std::vector<std::uint16_t>& vals)
      : type_(type), M_(M), K_(K), N_(N) {
    ok(cusparseCreate(&h_), "cusparseCreate");
    const long nnz = static_cast<long>(cols.size());
    check(cudaMalloc(&rp_, row_ptr.size() * sizeof(int)), "cudaMalloc");
    check(cudaMalloc(&ci_, std::max<std::size_t>(1, cols.size()) * sizeof(int)), "cudaMalloc");
    check(cudaMalloc(&v_, std::max<std::size_t>(1, vals.size()) * 2), "cudaMalloc");
    check(cudaMemcpy(rp_, row_ptr.data(), row_ptr.size() * sizeof(int), cudaMemcpyHostToDevice),
          "cudaMemcpy");
    check(cudaMemcpy(ci_, cols.data(), cols.size() * sizeof(int), cudaMemcpyHostToDevice),
          "cudaMemcpy");
    check(cudaMemcpy(v_, vals.data(), vals.size() * 2, cudaMemcpyHostToDevice), "cudaMemcpy");
    ok(cusparseCreateCsr(&a_, M, K, nnz, rp_, ci_, v_, CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I,
                         CUSPARSE_INDEX_BASE_ZERO, type),
       "cusparseCreateCsr");
  }
  cusparse_csr(const cusparse_csr&) = delete;
  cusparse_csr& operator=(const cusparse_csr&) = delete;
  ~cusparse_csr() {
    if (b_) cusparseDestroyDnMat(b_);
    if (c_) cusparseDestroyDnMat(c_);
    cusparseDestroySpMat(a_);
    cudaFree(rp_), cudaFree(ci_), cudaFree(v_), cudaFree(buf_);
    cusparseDestroy(h_);
  }

  void run(cudaStream_t s, const void* B, void* C) {
    ok(cusparseSetStream(h_, s), "cusparseSetStream");
    if (b_) cusparseDestroyDnMat(b_);
    if (c_) cusparseDestroyDnMat(c_);
    ok(cusparseCreateDnMat(&b_, K_, N_, N_, const_cast<void*>(B), type_, CUSPARSE_ORDER_ROW),
       "cusparseCreateDnMat");
    ok(cusparseCreateDnMat(&c_, M_, N_, N_, C, type_, CUSPARSE_ORDER_ROW), "cusparseCreateDnMat");
    const float one = 1.f, zero = 0.f;
    if (!buf_) {
      std::size_t bytes = 0;
      ok(cusparseSpMM_bufferSize(h_, CUSPARSE_OPERATION_NON_TRANSPOSE,
                                 CUSPARSE_OPERATION_NON_TRANSPOSE, &one, a_, b_, &zero, c_,
                                 CUDA_R_32F, CUSPARSE_SPMM_ALG_DEFAULT, &bytes),
         "cusparseSpMM_bufferSize");
      check(cudaMalloc(&buf_, std::max<std::size_t>(bytes, 16)), "cudaMalloc");
    }
    ok(cusparseSpMM(h_, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE, &one,
                    a_, b_, &zero, c_, CUDA_R_32F, CUSPARSE_SPMM_ALG_DEFAULT, buf_),
       "cusparseSpMM");
  }

 private:
  static void ok(cusparseStatus_t st, const char* what) {
    if (st != CUSPARSE_STATUS_SUCCESS) {
      std::fprintf(stderr, "%s failed: %d\n", what, static_cast<int>(st));
      std::abort();
    }
  }
  cudaDataType type_;
  long M_, K_, N_;
  cusparseHandle_t h_ = nullptr;
  cusparseSpMatDescr_t a_ = nullptr;
  cusparseDnMatDescr_t b_ = nullptr, c_ = nullptr;
  int *rp_ = nullptr, *ci_ = nullptr;
  void *v_ = nullptr, *buf_ = nullptr;
};

}  // namespace stco_bench::gpu
