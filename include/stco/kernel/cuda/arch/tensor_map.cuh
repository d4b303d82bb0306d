// stco/kernel/cuda/arch/tensor_map.cuh — host-side creation of the descriptors the bulk tensor
// copies (arch/tma.cuh) read: tile mode over a 2-D row-major array, and im2col mode over an NHWC
// activation for implicit-GEMM convolution.
//
// The driver's encoders are fetched through the runtime (cudaGetDriverEntryPointByVersion), so
// nothing links libcuda directly. A descriptor holds the base address: it is made per call.
#pragma once

#include <cuda.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "stco/core/cuda/check.cuh"
#include "stco/core/error.hpp"

namespace stco::kernel::cuda::arch {

namespace detail {

/// The driver function `name` (present since CUDA 12.0), or cuda_error where the driver has none.
template <class Fn>
Fn driver_entry_point(const char* name) {
  void* p = nullptr;
  cudaDriverEntryPointQueryResult q{};
  STCO_CUDA_CHECK(cudaGetDriverEntryPointByVersion(name, &p, 12000, cudaEnableDefault, &q));
  if (q != cudaDriverEntryPointSuccess || !p)
    throw cuda_error(static_cast<int>(cudaErrorNotSupported), name,
                     ::stco::detail::message("stco::kernel::cuda::arch: the driver has no ", name));
  return reinterpret_cast<Fn>(p);
}

using encode_tiled_fn = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*,
                                     const cuuint64_t*, const cuuint64_t*, const cuuint32_t*,
                                     const cuuint32_t*, CUtensorMapInterleave, CUtensorMapSwizzle,
                                     CUtensorMapL2promotion, CUtensorMapFloatOOBfill);
using encode_im2col_fn = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*,
                                      const cuuint64_t*, const cuuint64_t*, const int*, const int*,
                                      cuuint32_t, cuuint32_t, const cuuint32_t*,
                                      CUtensorMapInterleave, CUtensorMapSwizzle,
                                      CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

inline encode_tiled_fn encode_tiled() {
  static const auto fn = driver_entry_point<encode_tiled_fn>("cuTensorMapEncodeTiled");
  return fn;
}
inline encode_im2col_fn encode_im2col() {
  static const auto fn = driver_entry_point<encode_im2col_fn>("cuTensorMapEncodeIm2col");
  return fn;
}

/// Throws cuda_error for a failed encoder call `fn` on the array described by `what`.
template <class... What>
[[noreturn]] void encode_failed(CUresult r, const char* fn, const What&... what) {
  throw cuda_error(static_cast<int>(r), fn,
                   ::stco::detail::message("stco::kernel::cuda::arch: ", fn, " failed (",
                                           static_cast<int>(r), ") for ", what...));
}

/// Elements are copied as raw bits: 2-byte, 4-byte, else 1-byte unsigned.
inline CUtensorMapDataType raw_type(int elem_bytes) {
  return elem_bytes == 2   ? CU_TENSOR_MAP_DATA_TYPE_UINT16
         : elem_bytes == 4 ? CU_TENSOR_MAP_DATA_TYPE_UINT32
                           : CU_TENSOR_MAP_DATA_TYPE_UINT8;
}

}  // namespace detail

/// A 2-D row-major [rows, cols] array of `elem_bytes`-byte elements with row pitch `pitch`
/// elements, loaded in boxes of [box_rows, box_cols] (box_cols·elem_bytes must not exceed the
/// swizzle span). Out-of-bounds box parts are filled with zeros.
inline CUtensorMap make_tensor_map_2d(const void* base, std::uint64_t rows, std::uint64_t cols,
                                      std::uint64_t pitch, int elem_bytes, std::uint32_t box_rows,
                                      std::uint32_t box_cols, CUtensorMapSwizzle swizzle) {
  CUtensorMap map{};
  const cuuint64_t dims[2] = {cols, rows};
  const cuuint64_t strides[1] = {pitch * static_cast<std::uint64_t>(elem_bytes)};
  const cuuint32_t box[2] = {box_cols, box_rows};
  const cuuint32_t estr[2] = {1, 1};
  const CUresult r =
      detail::encode_tiled()(&map, detail::raw_type(elem_bytes), 2, const_cast<void*>(base), dims,
                             strides, box, estr, CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle,
                             CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS)
    detail::encode_failed(r, "cuTensorMapEncodeTiled", "[", rows, ", ", cols, "] pitch ", pitch,
                          " box [", box_rows, ", ", box_cols, "]");
  return map;
}

/// A 2-D convolution's input as im2col mode reads it: X [batch, height, width, channels],
/// channels-last and dense (a pixel's channels back to back, pixels back to back), and the
/// filter window slid over it: padding of pad_h rows / pad_w columns of zeros on each side,
/// stride and dilation per dimension.
struct im2col_nhwc {
  std::uint64_t batch = 0, height = 0, width = 0, channels = 0;
  int kh = 1, kw = 1;              ///< filter extents
  int stride_h = 1, stride_w = 1;  ///< in [1, 8]
  int pad_h = 0, pad_w = 0;
  int dil_h = 1, dil_w = 1;
  /// Output extents (floor mode); 0 where the dilated filter does not fit the padded input.
  std::int64_t out_h() const { return out_extent(height, kh, stride_h, pad_h, dil_h); }
  std::int64_t out_w() const { return out_extent(width, kw, stride_w, pad_w, dil_w); }

 private:
  static std::int64_t out_extent(std::uint64_t in, int k, int stride, int pad, int dil) {
    const std::int64_t span =
        static_cast<std::int64_t>(in) + 2 * std::int64_t{pad} - std::int64_t{dil} * (k - 1);
    return span < 1 ? 0 : (span - 1) / stride + 1;
  }
};

/// The im2col-mode descriptor of `g` over `base` (16-byte aligned; channels·elem_bytes a multiple
/// of 16): each load (tma_load_im2col_4d) brings `pixels_per_column` (≤ 1024) consecutive output
/// pixels — in (n, oh, ow) order, ow fastest — with `channels_per_pixel` (≤ 256; its bytes within
/// the swizzle span unless CU_TENSOR_MAP_SWIZZLE_NONE) channels each, for one filter tap.
///
/// The descriptor's bounding box is the set of filter base positions: rows −pad_h to
/// height − 1 + pad_h − (kh − 1)·dil_h, columns likewise, visited at the stride; a load at base
/// (n, oh·stride_h − pad_h, ow·stride_w − pad_w) with offsets (r·dil_h, s·dil_w) reads tap (r, s)
/// of output pixels (n, oh, ow) onward. The hardware limits padding and the far corner to
/// [−128, 127] and each tap offset to [0, 255]; argument_error where `g` is outside them.
inline CUtensorMap make_tensor_map_im2col(const void* base, const im2col_nhwc& g, int elem_bytes,
                                          std::uint32_t channels_per_pixel,
                                          std::uint32_t pixels_per_column,
                                          CUtensorMapSwizzle swizzle) {
  const int upper_h = g.pad_h - (g.kh - 1) * g.dil_h, upper_w = g.pad_w - (g.kw - 1) * g.dil_w;
  auto corner_ok = [](int v) { return v >= -128 && v <= 127; };
  auto tap_ok = [](int k, int dil) { return k >= 1 && dil >= 1 && (k - 1) * dil <= 255; };
  if (g.batch == 0 || g.height == 0 || g.width == 0 || g.channels == 0 || g.out_h() == 0 ||
      g.out_w() == 0 || g.stride_h < 1 || g.stride_h > 8 || g.stride_w < 1 || g.stride_w > 8 ||
      g.pad_h < 0 || g.pad_w < 0 || !corner_ok(-g.pad_h) || !corner_ok(-g.pad_w) ||
      !corner_ok(upper_h) || !corner_ok(upper_w) || !tap_ok(g.kh, g.dil_h) ||
      !tap_ok(g.kw, g.dil_w) || channels_per_pixel < 1 || channels_per_pixel > 256 ||
      pixels_per_column < 1 || pixels_per_column > 1024)
    throw argument_error(::stco::detail::message(
        "stco::kernel::cuda::arch::make_tensor_map_im2col: X [", g.batch, ", ", g.height, ", ",
        g.width, ", ", g.channels, "], filter ", g.kh, "x", g.kw, ", stride ", g.stride_h, "x",
        g.stride_w, ", pad ", g.pad_h, "x", g.pad_w, ", dilation ", g.dil_h, "x", g.dil_w, ", ",
        channels_per_pixel, " channels x ", pixels_per_column,
        " pixels a load: outside what im2col mode takes (stride 1..8, padding and far corner in "
        "[-128, 127], (k - 1)·dilation <= 255, at least one output pixel, channels 1..256, "
        "pixels 1..1024)"));
  CUtensorMap map{};
  const auto eb = static_cast<std::uint64_t>(elem_bytes);
  const cuuint64_t dims[4] = {g.channels, g.width, g.height, g.batch};  // innermost first
  const cuuint64_t strides[3] = {g.channels * eb, g.width * g.channels * eb,
                                 g.height * g.width * g.channels * eb};
  const int lower[2] = {-g.pad_w, -g.pad_h};  // W, H: the dimensions' order
  const int upper[2] = {upper_w, upper_h};
  const cuuint32_t estr[4] = {1, static_cast<cuuint32_t>(g.stride_w),
                              static_cast<cuuint32_t>(g.stride_h), 1};
  const CUresult r = detail::encode_im2col()(
      &map, detail::raw_type(elem_bytes), 4, const_cast<void*>(base), dims, strides, lower, upper,
      channels_per_pixel, pixels_per_column, estr, CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle,
      CU_TENSOR_MAP_L2_PROMOTION_L2_128B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS)
    detail::encode_failed(r, "cuTensorMapEncodeIm2col", "X [", g.batch, ", ", g.height, ", ",
                          g.width, ", ", g.channels, "], ", channels_per_pixel, " channels x ",
                          pixels_per_column, " pixels a load");
  return map;
}

}  // namespace stco::kernel::cuda::arch
