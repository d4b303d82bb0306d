// stco/kernel/cuda/arch/mma_sm80.cuh — the warp-level instructions of the sm_80+ kernels:
// cp.async copies into shared memory, ldmatrix fragment loads, dense mma.sync m16n8k16 and sparse
// mma.sp::ordered_metadata m16n8k32; f16 or bf16 in (BF16 picks), f32 accumulate.
//
// Fragments are the PTX ISA's: A of m16n8k16 is 4 registers (a row-major 16×16 tile), B 2
// registers (a column-major 16×8 tile), C/D 4 floats. For m16n8k32 A holds the compressed 16×16
// half of a 2:4-sparse 16×32 tile and B 4 registers (32×8), with one metadata word per lane.
#pragma once

#include <cstdint>

#include "stco/kernel/cuda/arch/smem.cuh"

namespace stco::kernel::cuda::arch {

// ---- cp.async ----

/// 16-byte global → shared copy; `bytes` < 16 zero-fills the rest (0: all zeros, `src` not read).
__device__ __forceinline__ void cp_async_16(std::uint32_t dst, const void* src, int bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(bytes));
}
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, int bytes) {
  cp_async_16(smem_addr(dst), src, bytes);
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
/// Waits until at most N of this thread's committed groups are still in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}
/// Waits for every cp.async this thread issued, committed or not.
__device__ __forceinline__ void cp_async_wait_all() {
  asm volatile("cp.async.wait_all;\n" ::: "memory");
}

// ---- ldmatrix ----

#define STCO_ARCH_LDMATRIX_X4(TRANS)                                                         \
  asm volatile("ldmatrix.sync.aligned.m8n8.x4" TRANS ".shared.b16 {%0, %1, %2, %3}, [%4];\n" \
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])                              \
               : "r"(addr))

/// Four 8×8 16-bit matrices, one row address per lane (lanes 8i .. 8i+7 address matrix i).
__device__ __forceinline__ void ldmatrix_x4(std::uint32_t (&r)[4], std::uint32_t addr) {
  STCO_ARCH_LDMATRIX_X4("");
}
/// The same, each matrix transposed.
__device__ __forceinline__ void ldmatrix_x4_trans(std::uint32_t (&r)[4], std::uint32_t addr) {
  STCO_ARCH_LDMATRIX_X4(".trans");
}
__device__ __forceinline__ void ldmatrix_x4(std::uint32_t (&r)[4], const void* p) {
  ldmatrix_x4(r, smem_addr(p));
}
__device__ __forceinline__ void ldmatrix_x4_trans(std::uint32_t (&r)[4], const void* p) {
  ldmatrix_x4_trans(r, smem_addr(p));
}

#undef STCO_ARCH_LDMATRIX_X4

// ---- mma.sync ----
//
// The f16 and bf16 forms differ only in the type named in the instruction: each is written once,
// over the type (a macro local to this header).

#define STCO_ARCH_MMA_16816(T)                                                          \
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32." T "." T                         \
               ".f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n" \
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])                         \
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1))
#define STCO_ARCH_MMA_SP_16832(T)                                                                \
  asm volatile("mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32." T "." T             \
               ".f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9, %10, %11}, {%0, %1, %2, %3}, " \
               "%12, 0x0;\n"                                                                     \
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])                                  \
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "r"(b[2]),    \
                 "r"(b[3]), "r"(e))

/// c += a·b on one m16n8k16 tile: a row-major 16×16, b column-major 16×8 (registers b0, b1).
template <bool BF16>
__device__ __forceinline__ void mma_16816(float (&c)[4], const std::uint32_t (&a)[4],
                                          std::uint32_t b0, std::uint32_t b1) {
  if constexpr (BF16)
    STCO_ARCH_MMA_16816("bf16");
  else
    STCO_ARCH_MMA_16816("f16");
}

/// c += a·b on the sparse tensor core, m16n8k32: `a` the compressed A fragment, `b` the 32×8 B
/// fragment, `e` this lane's metadata word (sparsity selector 0).
template <bool BF16>
__device__ __forceinline__ void mma_sp_16832(float (&c)[4], const std::uint32_t (&a)[4],
                                             const std::uint32_t (&b)[4], std::uint32_t e) {
  if constexpr (BF16)
    STCO_ARCH_MMA_SP_16832("bf16");
  else
    STCO_ARCH_MMA_SP_16832("f16");
}

#undef STCO_ARCH_MMA_16816
#undef STCO_ARCH_MMA_SP_16832

}  // namespace stco::kernel::cuda::arch
