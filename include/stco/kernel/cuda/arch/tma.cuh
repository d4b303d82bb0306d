// stco/kernel/cuda/arch/tma.cuh — bulk tensor copies (TMA) from global into shared memory, each
// completing its bytes on an mbarrier (arch/mbarrier.cuh): tile mode (one box of a 2-D array)
// and im2col mode (one column of pixels of an NHWC activation, for implicit-GEMM convolution);
// and the descriptor prefetch. The maps come from arch/tensor_map.cuh and must live in kernel
// parameter, constant or global memory (a __grid_constant__ CUtensorMap argument does).
//
// Defined in the sm_90a device pass only (STCO_ARCH_SM90A, target.cuh), like the kernels that
// use them.
#pragma once

#include <cstdint>

#include "stco/kernel/cuda/arch/smem.cuh"
#include "stco/kernel/cuda/arch/target.cuh"

namespace stco::kernel::cuda::arch {

#if STCO_ARCH_SM90A

/// Copies the box of `map` whose first element is at (c0 innermost, c1) to `dst` (aligned as
/// the map's swizzle needs: 1024 bytes for 128-byte swizzle); parts outside the array are zeros.
__device__ __forceinline__ void tma_load_2d(void* dst, const void* map, std::uint64_t* bar, int c0,
                                            int c1) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%3, "
      "%4}], [%2];\n" ::"r"(smem_addr(dst)),
      "l"(map), "r"(smem_addr(bar)), "r"(c0), "r"(c1)
      : "memory");
}

/// Copies one im2col column of an NHWC map (make_tensor_map_im2col) to `dst`: the map's pixels
/// per column, from filter base (n, h, w) onward in the order w, h, n (w and h step by the
/// convolution stride and stay inside the map's bounding box; h and w start negative in the
/// padding), each pixel read at (h + off_h, w + off_w) — the filter tap, r·dil_h and s·dil_w,
/// each in [0, 255] — as the map's channels per pixel from channel c. Pixels outside the image
/// and past the batch arrive as zeros. `dst` holds pixel p's channels as row p (of the map's
/// channels per pixel), swizzled as the map says.
__device__ __forceinline__ void tma_load_im2col_4d(void* dst, const void* map, std::uint64_t* bar,
                                                   int c, int w, int h, int n, std::uint16_t off_w,
                                                   std::uint16_t off_h) {
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.im2col.mbarrier::complete_tx::bytes [%0], "
      "[%1, {%3, %4, %5, %6}], [%2], {%7, %8};\n" ::"r"(smem_addr(dst)),
      "l"(map), "r"(smem_addr(bar)), "r"(c), "r"(w), "r"(h), "r"(n), "h"(off_w), "h"(off_h)
      : "memory");
}

/// Brings the descriptor at `map` into the cache before its first copy.
__device__ __forceinline__ void tma_prefetch_map(const void* map) {
  asm volatile("prefetch.tensormap [%0];\n" ::"l"(map) : "memory");
}

#endif  // STCO_ARCH_SM90A

}  // namespace stco::kernel::cuda::arch
