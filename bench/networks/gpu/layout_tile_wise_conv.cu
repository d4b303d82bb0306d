// bench/networks/gpu/layout_tile_wise_conv.cu — tile_wise<64> through conv2d (gather_tc
// implicit-im2col conv kernels).
#include "case.cuh"

namespace stco_bench::networks_gpu {
template std::unique_ptr<gpu_case> make_case<stco::tile_wise<64>, form::conv>(const layer&, double,
                                                                              cudaStream_t);
}  // namespace stco_bench::networks_gpu
