// bench/networks/gpu/layout_channel_gemm.cu — channel on the im2col operand (gather_tc GEMM
// kernels).
#include "case.cuh"

namespace stco_bench::networks_gpu {
template std::unique_ptr<gpu_case> make_case<stco::channel, form::gemm>(const layer&, double,
                                                                        cudaStream_t);
}  // namespace stco_bench::networks_gpu
