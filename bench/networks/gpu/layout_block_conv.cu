// bench/networks/gpu/layout_block_conv.cu — block<32,32> through conv2d (gather_tc; dX of layers
// with Cin % 32 != 0 runs the portable kernel).
#include "case.cuh"

namespace stco_bench::networks_gpu {
template std::unique_ptr<gpu_case> make_case<stco::block<32, 32>, form::conv>(const layer&, double,
                                                                              cudaStream_t);
}  // namespace stco_bench::networks_gpu
