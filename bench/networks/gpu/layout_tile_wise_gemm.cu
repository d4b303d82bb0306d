// bench/networks/gpu/layout_tile_wise_gemm.cu — tile_wise<64> on the im2col operand (gather_tc GEMM
// kernels).
#include "case.cuh"

namespace stco_bench::networks_gpu {
template std::unique_ptr<gpu_case> make_case<stco::tile_wise<64>, form::gemm>(const layer&, double,
                                                                              cudaStream_t);
}  // namespace stco_bench::networks_gpu
