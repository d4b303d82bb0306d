// stco/kernel/cuda/fast_paths.cuh — the fast kernels wired into dispatch (specializations of
// fast_path, see dispatch.cuh). Everything they do not take runs the portable kernels.
//
//   tiletc (kernel/cuda/tiletc/)  tile_wise, tile_vector, block, channel, dense in half/bfloat16:
//                                 gather into shared memory + dense tensor-core MMA; matmul and
//                                 conv2d with groups = 1 (their conv_applicable decides).
//   sp24 (kernel/cuda/sp24/)      nm<2,4> in half/bfloat16 on the sparse tensor cores (mma.sp,
//                                 wgmma.sp on sm_90a), metadata in instruction order cached in
//                                 the device entity; matmul forward, dX and dW.
//
// set_fast_paths(false) (dispatch.cuh) routes every call to the portable kernels at run time;
// defining STCO_CUDA_NO_FAST_PATHS (or STCO_CUDA_NO_TILETC / STCO_CUDA_NO_SP24) leaves them out
// of the build (portable kernels only, shorter compiles).
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "stco/kernel/cuda/dispatch.cuh"
#include "stco/kernel/cuda/launch.cuh"
#include "stco/kernel/cuda/values.cuh"

#if !defined(STCO_CUDA_EMULATE) && !defined(STCO_CUDA_NO_FAST_PATHS) && defined(__CUDACC__)
#if __has_include("stco/kernel/cuda/tiletc/fast_path.cuh") && !defined(STCO_CUDA_NO_TILETC)
#include "stco/kernel/cuda/tiletc/fast_path.cuh"
#endif
#if __has_include("stco/kernel/cuda/sp24/ops.cuh") && __has_include(                               \
                                                          "stco/kernel/cuda/sp24/metadata.hpp") && \
                                                          !defined(STCO_CUDA_NO_SP24)
#include "stco/kernel/cuda/sp24/metadata.hpp"
#include "stco/kernel/cuda/sp24/ops.cuh"
#include "stco/layout/cuda/nm.cuh"
#define STCO_CUDA_SP24 1
#endif
#endif

namespace stco::kernel::cuda {

#if defined(STCO_CUDA_SP24)
namespace sp24_glue {
/// The nm<2,4> metadata in the sparse tensor core's register order, on the device: derived once
/// per device entity from the host entity's (cached) instruction-order words.
struct device_metadata {
  stco::cuda::device_buffer<std::uint32_t> words;
  index_t pitch = 0;
};
inline const device_metadata& metadata_of(const stco::cuda::device_entity<nm<2, 4>>& e,
                                          stco::cuda::stream s) {
  return e.derived<device_metadata>([s, &e](const stco::cuda::device_entity_base&) {
    const auto& m = stco::cuda::sp24::metadata(*e.host(s));
    device_metadata d{
        stco::cuda::device_buffer<std::uint32_t>(static_cast<index_t>(m.words.size()), s),
        m.geom.pitch()};
    d.words.copy_from_host(m.words.data(), static_cast<index_t>(m.words.size()), s);
    s.synchronize();
    return d;
  });
}
template <class T>
stco::cuda::sp24::device_sp24<T> operand(const stco::cuda::device_sparse_matrix<T, nm<2, 4>>& w,
                                         stco::cuda::stream s) {
  const auto& m = metadata_of(w.entity(), s);
  return {w.values(), w.entity().index().words.data(), m.words.data(), m.pitch, w.rows(), w.cols()};
}
/// out[i] = T(in[i]).
template <class T>
struct narrow_values {
  static constexpr int threads = 256;
  struct params {
    const float* in;
    index_t n;
    T* out;
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t i = b.block_x() * threads + b.thread();
    if (i < p.n) p.out[i] = from_float<T>(p.in[i]);
  }
};
template <class T>
inline constexpr bool takes = std::is_same_v<T, half> || std::is_same_v<T, bfloat16>;
}  // namespace sp24_glue

template <class T, class Chain>
struct fast_path<op::matmul_forward, nm<2, 4>, T, Chain, std::enable_if_t<sp24_glue::takes<T>>> {
  static constexpr bool available = true;
  static bool applicable(const gemm_call<T, nm<2, 4>, Chain>&) { return true; }
  static void run(const gemm_call<T, nm<2, 4>, Chain>& c) {
    stco::cuda::sp24::forward(sp24_glue::operand(*c.w, c.s), c.x, c.n, c.out, c.chain, c.stash,
                              c.s.get());
  }
};
template <class T, class Chain>
struct fast_path<op::matmul_grad_x, nm<2, 4>, T, Chain, std::enable_if_t<sp24_glue::takes<T>>> {
  static constexpr bool available = true;
  static bool applicable(const gemm_call<T, nm<2, 4>, Chain>&) { return true; }
  static void run(const gemm_call<T, nm<2, 4>, Chain>& c) {
    stco::cuda::sp24::grad_x<T>(sp24_glue::operand(*c.w, c.s), nullptr, c.dy, c.z, c.n, c.chain,
                                c.out, c.s.get());
  }
};
template <class T, class Chain>
struct fast_path<op::matmul_grad_w, nm<2, 4>, T, Chain, std::enable_if_t<sp24_glue::takes<T>>> {
  static constexpr bool available = true;
  static bool applicable(const gemm_call<T, nm<2, 4>, Chain>&) { return true; }
  static void run(const gemm_call<T, nm<2, 4>, Chain>& c) {
    const index_t n = c.w->value_count();
    stco::cuda::device_buffer<float> dw(n, c.s);
    stco::cuda::sp24::grad_w(sp24_glue::operand(*c.w, c.s), c.x, c.dy, c.z, c.n, c.chain, dw.data(),
                             c.s.get());
    using body = sp24_glue::narrow_values<T>;
    launch<body>({ceil_div(n, body::threads), 1}, c.s, {dw.data(), n, c.out});
  }
};
#endif  // STCO_CUDA_SP24

}  // namespace stco::kernel::cuda
