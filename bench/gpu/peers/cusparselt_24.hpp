// bench/gpu/peers/cusparselt_24.hpp — cuSPARSELt 2:4 as the fair structured peer: row-major
// C[M, N] = A·B, A [M, K] 2:4 along K (given dense, with its zeros), B [K, N], fp16/bf16 in, fp32
// compute. The plan is built once, A compressed once into cuSPARSELt's own format, and
// cusparseLtMatmulSearch picks the kernel once; run() is then one cusparseLtMatmul.
// Available where STCO_HAS_CUSPARSELT is defined (CMake: STCO_CUSPARSELT_ROOT).
#pragma once

#if defined(STCO_HAS_CUSPARSELT)

#include <cuda_runtime.h>
#include <cusparseLt.h>

#include <cstdio>
#include <cstdlib>

#include "timer.hpp"

namespace stco_bench::gpu {

class cusparselt_24 {
 public:
  /// Plans C = A·B for dense A (device, [M, K] row-major, already 2:4), B [K, N], C [M, N];
  /// searches the best kernel with the given B and C buffers.
  /// Shapes cuSPARSELt refuses (e.g. leading dimensions that are not multiples of 8) leave the
  /// peer unavailable (available() false) instead of failing.
  cusparselt_24(cudaDataType type, long M, long K, long N, const void* A_dense, const void* B,
                void* C, cudaStream_t s) {
    ok(cusparseLtInit(&h_), "cusparseLtInit");
    if (cusparseLtStructuredDescriptorInit(&h_, &a_, M, K, K, 16, type, CUSPARSE_ORDER_ROW,
                                           CUSPARSELT_SPARSITY_50_PERCENT) !=
            CUSPARSE_STATUS_SUCCESS ||
        cusparseLtDenseDescriptorInit(&h_, &b_, K, N, N, 16, type, CUSPARSE_ORDER_ROW) !=
            CUSPARSE_STATUS_SUCCESS ||
        cusparseLtDenseDescriptorInit(&h_, &c_, M, N, N, 16, type, CUSPARSE_ORDER_ROW) !=
            CUSPARSE_STATUS_SUCCESS) {
      std::fprintf(stderr, "cuSPARSELt refuses [%ld, %ld, %ld]: column skipped\n", M, K, N);
      return;
    }
    available_ = true;
    ok(cusparseLtMatmulDescriptorInit(&h_, &mm_, CUSPARSE_OPERATION_NON_TRANSPOSE,
                                      CUSPARSE_OPERATION_NON_TRANSPOSE, &a_, &b_, &c_, &c_,
                                      CUSPARSE_COMPUTE_32F),
       "cusparseLtMatmulDescriptorInit");
    ok(cusparseLtMatmulAlgSelectionInit(&h_, &sel_, &mm_, CUSPARSELT_MATMUL_ALG_DEFAULT),
       "cusparseLtMatmulAlgSelectionInit");
    ok(cusparseLtMatmulPlanInit(&h_, &plan_, &mm_, &sel_), "cusparseLtMatmulPlanInit");
    std::size_t csize = 0, cbuf = 0;
    ok(cusparseLtSpMMACompressedSize(&h_, &plan_, &csize, &cbuf), "cusparseLtSpMMACompressedSize");
    check(cudaMalloc(&ac_, csize), "cudaMalloc");
    void* tmp = nullptr;
    check(cudaMalloc(&tmp, std::max<std::size_t>(cbuf, 16)), "cudaMalloc");
    ok(cusparseLtSpMMACompress(&h_, &plan_, A_dense, ac_, tmp, s), "cusparseLtSpMMACompress");
    check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    cudaFree(tmp);
    std::size_t ws = 0;
    ok(cusparseLtMatmulGetWorkspace(&h_, &plan_, &ws), "cusparseLtMatmulGetWorkspace");
    check(cudaMalloc(&ws_, std::max<std::size_t>(ws, 16)), "cudaMalloc");
    const float one = 1.f, zero = 0.f;
    ok(cusparseLtMatmulSearch(&h_, &plan_, &one, ac_, B, &zero, C, C, ws_, &s, 1),
       "cusparseLtMatmulSearch");
    // The search may choose a kernel with a larger workspace.
    ok(cusparseLtMatmulGetWorkspace(&h_, &plan_, &ws), "cusparseLtMatmulGetWorkspace");
    cudaFree(ws_);
    check(cudaMalloc(&ws_, std::max<std::size_t>(ws, 16)), "cudaMalloc");
  }
  cusparselt_24(const cusparselt_24&) = delete;
  cusparselt_24& operator=(const cusparselt_24&) = delete;
  bool available() const { return available_; }

  ~cusparselt_24() {
    if (available_) {
      cudaFree(ac_), cudaFree(ws_);
      cusparseLtMatmulPlanDestroy(&plan_);
      cusparseLtMatmulAlgSelectionDestroy(&sel_);
      cusparseLtMatDescriptorDestroy(&a_);
      cusparseLtMatDescriptorDestroy(&b_);
      cusparseLtMatDescriptorDestroy(&c_);
    }
    cusparseLtDestroy(&h_);
  }

  void run(cudaStream_t s, const void* B, void* C) {
    const float one = 1.f, zero = 0.f;
    ok(cusparseLtMatmul(&h_, &plan_, &one, ac_, B, &zero, C, C, ws_, &s, 1), "cusparseLtMatmul");
  }

 private:
  static void ok(cusparseStatus_t st, const char* what) {
    if (st != CUSPARSE_STATUS_SUCCESS) {
      std::fprintf(stderr, "%s failed: %d\n", what, static_cast<int>(st));
      std::abort();
    }
  }
  cusparseLtHandle_t h_{};
  cusparseLtMatDescriptor_t a_{}, b_{}, c_{};
  cusparseLtMatmulDescriptor_t mm_{};
  cusparseLtMatmulAlgSelection_t sel_{};
  cusparseLtMatmulPlan_t plan_{};
  void *ac_ = nullptr, *ws_ = nullptr;
  bool available_ = false;
};

}  // namespace stco_bench::gpu

#endif  // STCO_HAS_CUSPARSELT
