// bench/networks/gpu/layout_nm24_gemm.cu — nm<2,4> on the im2col operand (sparse_tc: sparse tensor
// cores; no conv form yet), on a magnitude mask and on a transposable one.
#include "case.cuh"

namespace stco_bench::networks_gpu {
template std::unique_ptr<gpu_case> make_case<stco::nm<2, 4>, form::gemm>(const layer&, double,
                                                                         cudaStream_t);
template std::unique_ptr<gpu_case> make_case<stco::nm<2, 4>, form::gemm_transposable>(const layer&,
                                                                                      double,
                                                                                      cudaStream_t);
}  // namespace stco_bench::networks_gpu
