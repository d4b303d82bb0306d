// stco/kernel/cuda/sparse_tc/mma_sm80.cuh — the warp-level instructions of the portable (sm_80+)
// kernels: cp.async copies, ldmatrix fragment loads, dense mma.sync m16n8k16 and sparse
// mma.sp::ordered_metadata m16n8k32, f16 or bf16 in, f32 accumulate.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "stco/core/bfloat16.hpp"
#include "stco/core/half.hpp"

namespace stco::cuda::sparse_tc::arch {

template <class T>
inline constexpr bool is_half_v = std::is_same_v<T, ::stco::half>;

__device__ inline std::uint32_t smem_addr(const void* p) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
}

/// 16-byte global → shared copy; `src_bytes` < 16 zero-fills the rest (0: all zeros, no read).
__device__ inline void cp_async16(std::uint32_t dst, const void* src, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src),
               "r"(src_bytes));
}
__device__ inline void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ inline void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ inline void ldmatrix_x4(std::uint32_t* r, std::uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ inline void ldmatrix_x4_trans(std::uint32_t* r, std::uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

/// d += a·b, m16n8k16, A row-major fragment (4 regs), B column fragment (2 regs).
template <class T>
__device__ inline void mma_16816(float* d, const std::uint32_t* a, const std::uint32_t* b) {
  if constexpr (is_half_v<T>)
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
        "{%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
  else
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
        "{%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

/// d += a·b on the sparse tensor core, m16n8k32: `a` holds the compressed 16×16 A fragment (as a
/// dense m16k16 one), `b` the 32×8 B fragment, `e` this lane's metadata word (selector 0).
template <class T>
__device__ inline void mma_sp_16832(float* d, const std::uint32_t* a, const std::uint32_t* b,
                                    std::uint32_t e) {
  if constexpr (is_half_v<T>)
    asm volatile(
        "mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.f16.f16.f32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9, %10, %11}, {%0, %1, %2, %3}, %12, 0x0;\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]),
          "r"(e));
  else
    asm volatile(
        "mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.bf16.bf16.f32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9, %10, %11}, {%0, %1, %2, %3}, %12, 0x0;\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "r"(b[2]), "r"(b[3]),
          "r"(e));
}

/// Two floats rounded (to nearest even) to a packed pair of T, low element first.
template <class T>
__device__ inline std::uint32_t pack2(float lo, float hi) {
  std::uint32_t u;
  if constexpr (is_half_v<T>) {
    const __half2 h = __floats2half2_rn(lo, hi);
    u = *reinterpret_cast<const std::uint32_t*>(&h);
  } else {
    const __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
    u = *reinterpret_cast<const std::uint32_t*>(&h);
  }
  return u;
}
template <class T>
__device__ inline std::uint16_t to_bits(float f) {
  if constexpr (is_half_v<T>)
    return __half_as_ushort(__float2half_rn(f));
  else
    return __bfloat16_as_ushort(__float2bfloat16_rn(f));
}
template <class T>
__device__ inline float to_float(std::uint16_t bits) {
  if constexpr (is_half_v<T>)
    return __half2float(__ushort_as_half(bits));
  else
    return __bfloat162float(__ushort_as_bfloat16(bits));
}

}  // namespace stco::cuda::sparse_tc::arch
