// bench/gpu/peers/cusparselt_24.hpp — cuSPARSELt 2:4 at its best as the structured peer:
// row-major C[m, n] = op(S)·B, S the 2:4 weight (given dense, zeros in place), B [k, n] dense,
// fp16 / bf16 in and out, fp32 compute (CUSPARSE_COMPUTE_32F).
//
//   forward  Y = W·X:   S = W [M, K] (2:4 along K), op(S) = W;
//   dX       dX = Wᵀ·dY: S = W read transposed (op(S) = Wᵀ, 2:4 along M: a transposable mask;
//                       cuSPARSELt has no product for W 2:4 along K alone on this side), and also
//                       an explicitly transposed copy Wᵀ [K, M] made once; the faster is kept;
//   dW       dY·Xᵀ has no 2:4 operand: cuSPARSELt cannot, the benchmarks use cuBLAS there.
//
// Set-up (not timed): for each operand order (S as the structured A in row order, and the
// column-major swap Cᵀ = Bᵀ·op(S)ᵀ with S as the structured B) a plan is made, S is compressed
// into it once, cusparseLtMatmulSearch picks the kernel and split-k, and the plan is timed
// (warm-up, median of 10 calls); the fastest variant is kept. run() is then one cusparseLtMatmul on
// the compressed weight. A trainer recompresses after each weight update: that cost is not counted.
// Shapes cuSPARSELt refuses leave the peer unavailable (available() false) instead of failing.
// Available where STCO_HAS_CUSPARSELT is defined (CMake: STCO_CUSPARSELT_ROOT).
#pragma once

#if defined(STCO_HAS_CUSPARSELT)

#include <cuda_runtime.h>
#include <cusparseLt.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "timer.hpp"

namespace stco_bench::gpu {

namespace detail {
/// dst [cols, rows] = srcᵀ for a row-major 16-bit src [rows, cols] (the explicit Wᵀ, made once).
__global__ void transpose16(const unsigned short* src, unsigned short* dst, long rows, long cols) {
  __shared__ unsigned short tile[32][33];
  const long r0 = static_cast<long>(blockIdx.y) * 32, c0 = static_cast<long>(blockIdx.x) * 32;
  for (int i = static_cast<int>(threadIdx.y); i < 32; i += static_cast<int>(blockDim.y)) {
    const long r = r0 + i, c = c0 + threadIdx.x;
    if (r < rows && c < cols) tile[i][threadIdx.x] = src[r * cols + c];
  }
  __syncthreads();
  for (int i = static_cast<int>(threadIdx.y); i < 32; i += static_cast<int>(blockDim.y)) {
    const long c = c0 + i, r = r0 + threadIdx.x;
    if (r < rows && c < cols) dst[c * rows + r] = tile[threadIdx.x][i];
  }
}
}  // namespace detail

class cusparselt_24 {
 public:
  static std::string method() {
    return "cuSPARSELt 2:4, CUSPARSE_COMPUTE_32F; per shape and op the fastest of the operand "
           "orders (structured A row order, structured B column-major swap; for dX also an "
           "explicit W^T copy), each planned, compressed once and searched "
           "(cusparseLtMatmulSearch) outside the timing; dW has no 2:4 operand (cuBLAS)";
  }

  /// Plans C = op(S)·B: S dense on the device, [m, k] row-major (or [k, m] when ts, read
  /// transposed), B [k, n], C [m, n]; searches and times on these B and C.
  cusparselt_24(cudaDataType type, bool ts, long m, long k, long n, const void* S_dense,
                const void* B, void* C, cudaStream_t s)
      : type_(type), m_(m), k_(k), n_(n) {
    if (cusparseLtInit(&h_) != CUSPARSE_STATUS_SUCCESS) {
      std::fprintf(stderr, "cuSPARSELt: cusparseLtInit failed: its columns are skipped\n");
      return;
    }
    initialized_ = true;
    const std::size_t bytes = static_cast<std::size_t>(m * k) * 2;
    try_variant(s, ts, false, S_dense, B, C, "row", ts ? "S^T" : "S");
    try_variant(s, ts, true, S_dense, B, C, "col_swap", ts ? "S^T" : "S");
    if (ts) {  // the explicit transpose: S^T [m, k] stored as a plain (non-transposed) weight
      check(cudaMalloc(&st_, bytes), "cudaMalloc");
      const dim3 block(32, 8),
          grid(static_cast<unsigned>((m + 31) / 32), static_cast<unsigned>((k + 31) / 32));
      detail::transpose16<<<grid, block, 0, s>>>(static_cast<const unsigned short*>(S_dense),
                                                 static_cast<unsigned short*>(st_), k, m);
      check(cudaGetLastError(), "transpose16");
      try_variant(s, false, false, st_, B, C, "row", "explicit S^T");
      try_variant(s, false, true, st_, B, C, "col_swap", "explicit S^T");
    }
    if (best_) text_ += "; best of " + std::to_string(variants_) + " variants";
    if (!best_)
      std::fprintf(stderr, "cuSPARSELt refuses op(S)·B [%ld x %ld x %ld]%s: column skipped\n", m, k,
                   n, ts ? " (S transposed)" : "");
  }
  cusparselt_24(const cusparselt_24&) = delete;
  cusparselt_24& operator=(const cusparselt_24&) = delete;
  ~cusparselt_24() {
    best_.reset();
    cudaFree(st_);
    if (initialized_) cusparseLtDestroy(&h_);
  }

  bool available() const { return best_ != nullptr; }
  /// The chosen order, kernel (config id) and split-k.
  const std::string& choice() const { return text_; }

  void run(cudaStream_t s, const void* B, void* C) { best_->run(h_, s, B, C); }

 private:
  static void ok(cusparseStatus_t st, const char* what) {
    if (st != CUSPARSE_STATUS_SUCCESS) {
      std::fprintf(stderr, "%s failed: %d\n", what, static_cast<int>(st));
      std::abort();
    }
  }

  /// One planned, compressed and searched variant.
  struct variant {
    bool swap = false;  // column-major swap: operands passed as (B, S)
    bool desc_a = false, desc_b = false, desc_c = false, mm = false, sel = false, plan = false;
    cusparseLtMatDescriptor_t a{}, b{}, c{};
    cusparseLtMatmulDescriptor_t mmd{};
    cusparseLtMatmulAlgSelection_t alg{};
    cusparseLtMatmulPlan_t pl{};
    void *compressed = nullptr, *ws = nullptr;

    void run(cusparseLtHandle_t& handle, cudaStream_t s, const void* B, void* C) {
      const float one = 1.f, zero = 0.f;
      const cusparseStatus_t st =
          swap ? cusparseLtMatmul(&handle, &pl, &one, B, compressed, &zero, C, C, ws, &s, 1)
               : cusparseLtMatmul(&handle, &pl, &one, compressed, B, &zero, C, C, ws, &s, 1);
      ok(st, "cusparseLtMatmul");
    }
    ~variant() {
      cudaFree(compressed);
      cudaFree(ws);
      if (plan) cusparseLtMatmulPlanDestroy(&pl);
      if (sel) cusparseLtMatmulAlgSelectionDestroy(&alg);
      if (desc_a) cusparseLtMatDescriptorDestroy(&a);
      if (desc_b) cusparseLtMatDescriptorDestroy(&b);
      if (desc_c) cusparseLtMatDescriptorDestroy(&c);
    }
  };

  /// Row order: C [m, n] = op(S)·B with S the structured A. Column-major swap: Cᵀ [n, m] =
  /// Bᵀ·op(S)ᵀ with S the structured B (S [m, k] row-major is S^T column-major [k, m]).
  void try_variant(cudaStream_t s, bool ts, bool swap, const void* S, const void* B, void* C,
                   const char* order, const char* operand) {
    constexpr auto ok_ = CUSPARSE_STATUS_SUCCESS;
    auto v = std::make_unique<variant>();
    v->swap = swap;
    const long m = m_, k = k_, n = n_;
    cusparseOperation_t op_s = CUSPARSE_OPERATION_NON_TRANSPOSE;
    if (!swap) {
      op_s = ts ? CUSPARSE_OPERATION_TRANSPOSE : CUSPARSE_OPERATION_NON_TRANSPOSE;
      const long sr = ts ? k : m, sc = ts ? m : k;
      v->desc_a =
          cusparseLtStructuredDescriptorInit(&h_, &v->a, sr, sc, sc, 16, type_, CUSPARSE_ORDER_ROW,
                                             CUSPARSELT_SPARSITY_50_PERCENT) == ok_;
      v->desc_b =
          cusparseLtDenseDescriptorInit(&h_, &v->b, k, n, n, 16, type_, CUSPARSE_ORDER_ROW) == ok_;
      v->desc_c =
          cusparseLtDenseDescriptorInit(&h_, &v->c, m, n, n, 16, type_, CUSPARSE_ORDER_ROW) == ok_;
      if (!v->desc_a || !v->desc_b || !v->desc_c) return;
      v->mm =
          cusparseLtMatmulDescriptorInit(&h_, &v->mmd, op_s, CUSPARSE_OPERATION_NON_TRANSPOSE,
                                         &v->a, &v->b, &v->c, &v->c, CUSPARSE_COMPUTE_32F) == ok_;
    } else {
      // A' = B's memory as column-major [n, k]; B' = S's memory: column-major [k, m] read as is
      // (S row-major [m, k]), or column-major [m, k] read transposed (S row-major [k, m]).
      op_s = ts ? CUSPARSE_OPERATION_TRANSPOSE : CUSPARSE_OPERATION_NON_TRANSPOSE;
      const long sr = ts ? m : k, sc = ts ? k : m;
      v->desc_a =
          cusparseLtDenseDescriptorInit(&h_, &v->a, n, k, n, 16, type_, CUSPARSE_ORDER_COL) == ok_;
      v->desc_b =
          cusparseLtStructuredDescriptorInit(&h_, &v->b, sr, sc, sr, 16, type_, CUSPARSE_ORDER_COL,
                                             CUSPARSELT_SPARSITY_50_PERCENT) == ok_;
      v->desc_c =
          cusparseLtDenseDescriptorInit(&h_, &v->c, n, m, n, 16, type_, CUSPARSE_ORDER_COL) == ok_;
      if (!v->desc_a || !v->desc_b || !v->desc_c) return;
      v->mm =
          cusparseLtMatmulDescriptorInit(&h_, &v->mmd, CUSPARSE_OPERATION_NON_TRANSPOSE, op_s,
                                         &v->a, &v->b, &v->c, &v->c, CUSPARSE_COMPUTE_32F) == ok_;
    }
    if (!v->mm) return;
    v->sel = cusparseLtMatmulAlgSelectionInit(&h_, &v->alg, &v->mmd,
                                              CUSPARSELT_MATMUL_ALG_DEFAULT) == ok_;
    if (!v->sel) return;
    v->plan = cusparseLtMatmulPlanInit(&h_, &v->pl, &v->mmd, &v->alg) == ok_;
    if (!v->plan) return;
    std::size_t csize = 0, cbuf = 0;
    if (cusparseLtSpMMACompressedSize(&h_, &v->pl, &csize, &cbuf) != ok_) return;
    check(cudaMalloc(&v->compressed, std::max<std::size_t>(csize, 16)), "cudaMalloc");
    void* tmp = nullptr;
    check(cudaMalloc(&tmp, std::max<std::size_t>(cbuf, 16)), "cudaMalloc");
    const bool compressed = cusparseLtSpMMACompress(&h_, &v->pl, S, v->compressed, tmp, s) == ok_;
    check(cudaStreamSynchronize(s), "cusparseLtSpMMACompress");
    cudaFree(tmp);
    if (!compressed) return;
    std::size_t ws = 0;
    if (cusparseLtMatmulGetWorkspace(&h_, &v->pl, &ws) != ok_) return;
    check(cudaMalloc(&v->ws, std::max<std::size_t>(ws, 16)), "cudaMalloc");
    const float one = 1.f, zero = 0.f;
    const void* x = swap ? B : v->compressed;
    const void* y = swap ? v->compressed : B;
    if (cusparseLtMatmulSearch(&h_, &v->pl, &one, x, y, &zero, C, C, v->ws, &s, 1) != ok_) {
      cudaGetLastError();
      return;
    }
    // The search may choose a kernel with a larger workspace.
    if (cusparseLtMatmulGetWorkspace(&h_, &v->pl, &ws) != ok_) return;
    cudaFree(v->ws);
    check(cudaMalloc(&v->ws, std::max<std::size_t>(ws, 16)), "cudaMalloc");
    check(cudaStreamSynchronize(s), "cusparseLtMatmulSearch");
    const double ms = median_ms(
        s, [&](int) { v->run(h_, s, B, C); }, 5, 10, 40.0, 2, 2.0);
    int id = -1, split = -1;
    cusparseLtMatmulAlgGetAttribute(&h_, &v->alg, CUSPARSELT_MATMUL_ALG_CONFIG_ID, &id, sizeof id);
    cusparseLtMatmulAlgGetAttribute(&h_, &v->alg, CUSPARSELT_MATMUL_SPLIT_K, &split, sizeof split);
    ++variants_;
    if (best_ && ms >= best_ms_) return;
    best_ms_ = ms;
    best_ = std::move(v);
    text_ = std::string(order) + " (" + operand + "), config " + std::to_string(id) + ", split-k " +
            std::to_string(split);
  }

  cudaDataType type_;
  long m_, k_, n_;
  cusparseLtHandle_t h_{};
  bool initialized_ = false;
  std::unique_ptr<variant> best_;
  double best_ms_ = 0;
  int variants_ = 0;
  void* st_ = nullptr;  // the explicit transpose, when made
  std::string text_;
};

}  // namespace stco_bench::gpu

#endif  // STCO_HAS_CUSPARSELT
