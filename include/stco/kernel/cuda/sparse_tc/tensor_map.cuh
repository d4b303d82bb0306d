// stco/kernel/cuda/sparse_tc/tensor_map.cuh — host-side creation of the bulk-tensor-copy (TMA)
// descriptors the Hopper kernels load their tiles with.
//
// The driver entry point is fetched through the runtime, so nothing links libcuda directly.
#pragma once

#include <cuda.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "stco/core/cuda/check.cuh"
#include "stco/core/error.hpp"

namespace stco::cuda::sparse_tc {

namespace detail {
using encode_tiled_fn = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*,
                                     const cuuint64_t*, const cuuint64_t*, const cuuint32_t*,
                                     const cuuint32_t*, CUtensorMapInterleave, CUtensorMapSwizzle,
                                     CUtensorMapL2promotion, CUtensorMapFloatOOBfill);
inline encode_tiled_fn encode_tiled() {
  static const encode_tiled_fn fn = [] {
    void* p = nullptr;
    cudaDriverEntryPointQueryResult q{};
    STCO_CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000,
                                                     cudaEnableDefault, &q));
    if (q != cudaDriverEntryPointSuccess || !p)
      throw cuda_error(static_cast<int>(cudaErrorNotSupported), "cuTensorMapEncodeTiled",
                       "stco::cuda::sparse_tc: the driver has no cuTensorMapEncodeTiled");
    return reinterpret_cast<encode_tiled_fn>(p);
  }();
  return fn;
}
}  // namespace detail

/// A 2-D row-major [rows, cols] array of `elem_bytes`-byte elements with row pitch `pitch`
/// elements, loaded in boxes of [box_rows, box_cols] (box_cols·elem_bytes must not exceed the
/// swizzle span). Out-of-bounds box parts are filled with zeros.
inline CUtensorMap make_tensor_map_2d(const void* base, std::uint64_t rows, std::uint64_t cols,
                                      std::uint64_t pitch, int elem_bytes, std::uint32_t box_rows,
                                      std::uint32_t box_cols, CUtensorMapSwizzle swizzle) {
  CUtensorMap map{};
  const CUtensorMapDataType dt = elem_bytes == 2   ? CU_TENSOR_MAP_DATA_TYPE_UINT16
                                 : elem_bytes == 4 ? CU_TENSOR_MAP_DATA_TYPE_UINT32
                                                   : CU_TENSOR_MAP_DATA_TYPE_UINT8;
  const cuuint64_t dims[2] = {cols, rows};
  const cuuint64_t strides[1] = {pitch * static_cast<std::uint64_t>(elem_bytes)};
  const cuuint32_t box[2] = {box_cols, box_rows};
  const cuuint32_t estr[2] = {1, 1};
  const CUresult r = detail::encode_tiled()(
      &map, dt, 2, const_cast<void*>(base), dims, strides, box, estr, CU_TENSOR_MAP_INTERLEAVE_NONE,
      swizzle, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS)
    throw cuda_error(
        static_cast<int>(r), "cuTensorMapEncodeTiled",
        ::stco::detail::message("stco::cuda::sparse_tc: cuTensorMapEncodeTiled failed (",
                                static_cast<int>(r), ") for [", rows, ", ", cols, "] pitch ", pitch,
                                " box [", box_rows, ", ", box_cols, "]"));
  return map;
}

}  // namespace stco::cuda::sparse_tc
