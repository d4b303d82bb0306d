// bench/networks/gpu/layout_tile_wise128_gemm.cu — tile_wise<128> on the im2col operand: the tile
// size the warp-specialized sm_90a forward (gather_tc/ws_kernel.cuh) takes.
#include "case.cuh"

namespace stco_bench::networks_gpu {
template std::unique_ptr<gpu_case> make_case<stco::tile_wise<128>, form::gemm>(const layer&, double,
                                                                               cudaStream_t);
}  // namespace stco_bench::networks_gpu
