// stco/kernel/cuda/arch/wgmma_sm90.cuh — Hopper warpgroup MMA (sm_90a): shared-memory matrix
// descriptors, dense wgmma (m64nNk16) and sparse wgmma.sp (m64nNk32, A 2:4-compressed) with both
// operands in shared memory, f16/bf16 in (BF16 picks), f32 accumulate; the fences and group
// commit/wait around them, and setmaxnreg for warp-specialized kernels.
//
// Accumulators: an m64nN tile gives each of the warpgroup's 128 threads N/2 floats, d[0 .. N/2),
// in the PTX ISA's fragment order: lane l of the warpgroup's warp q holds row 16q + l/4 + 8h,
// columns 8j + 2(l%4) and +1, at d[4j + 2h] and d[4j + 2h + 1] (h = 0, 1).
//
// Everything but smem_desc exists only in the sm_90a device pass (STCO_ARCH_SM90A, target.cuh).
#pragma once

#include <cstdint>

#include "stco/kernel/cuda/arch/target.cuh"

namespace stco::kernel::cuda::arch {

/// Shared-memory matrix descriptor: start address, leading / stride byte offsets (encoded in
/// 16-byte units) and swizzle mode (1 = 128 B, 2 = 64 B, 3 = 32 B).
__device__ __forceinline__ std::uint64_t smem_desc(std::uint32_t addr, std::uint32_t lbo,
                                                   std::uint32_t sbo, std::uint32_t swizzle) {
  return static_cast<std::uint64_t>((addr & 0x3FFFF) >> 4) |
         static_cast<std::uint64_t>((lbo >> 4) & 0x3FFF) << 16 |
         static_cast<std::uint64_t>((sbo >> 4) & 0x3FFF) << 32 |
         static_cast<std::uint64_t>(swizzle & 3) << 62;
}

#if STCO_ARCH_SM90A

// ---- fences, groups, registers ----

__device__ __forceinline__ void wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
/// Waits until at most N of the warpgroup's committed MMA groups are still running.
template <int N>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
/// Keeps the compiler from moving accumulator reads or writes across an asynchronous MMA.
__device__ __forceinline__ void fence_reg(float& r) { asm volatile("" : "+f"(r)::"memory"); }

/// Orders this thread's generic-proxy shared-memory writes before later async-proxy reads (wgmma,
/// TMA); also a compiler barrier for memory (the gathered-GEMM mainloop relies on both).
__device__ __forceinline__ void fence_proxy_async() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}
/// The same fence without the compiler memory barrier, as the warp-specialized kernel has used it
/// (ordered only against its other volatile asm: the mbarrier wait before it, the MMAs after).
__device__ __forceinline__ void fence_proxy_async_no_clobber() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::);
}

/// Raises (inc) or lowers (dec) the warpgroup's per-thread register limit to Regs (a multiple of
/// 8 in [24, 256]): producer warpgroups give registers to the MMA warpgroups.
template <int Regs>
__device__ __forceinline__ void setmaxnreg_inc() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(Regs));
}
template <int Regs>
__device__ __forceinline__ void setmaxnreg_dec() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(Regs));
}

// ---- warpgroup MMA ----
//
// Each instruction form is written once (macros local to this header): the accumulators' names in
// the text and their "+f" operands for N/2 = 32, 64, 128 registers, then the instruction over its
// shape, type and the numbers of the operands that follow the accumulators (ACC is passed by name
// and applied to d inside the form, so that its commas do not split the form's arguments). Scale-d
// is a predicate (scale_d != 0: d += a·b, else d = a·b); A and B scales are 1.

#define STCO_ARCH_WGMMA_REGS32                                                                 \
  "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, " \
  "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31"
#define STCO_ARCH_WGMMA_REGS64                                                              \
  STCO_ARCH_WGMMA_REGS32                                                                    \
  ", %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, " \
  "%49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63"
#define STCO_ARCH_WGMMA_REGS128                                                                \
  STCO_ARCH_WGMMA_REGS64                                                                       \
  ", %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, "    \
  "%81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, " \
  "%99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, "  \
  "%114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127"
#define STCO_ARCH_WGMMA_ACC32(d)                                                                  \
  "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), \
      "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]),    \
      "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]),  \
      "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]),  \
      "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
#define STCO_ARCH_WGMMA_ACC64(d)                                                                 \
  STCO_ARCH_WGMMA_ACC32(d), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]),     \
      "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), \
      "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), \
      "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), \
      "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
#define STCO_ARCH_WGMMA_ACC128(d)                                                                \
  STCO_ARCH_WGMMA_ACC64(d), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]),     \
      "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), \
      "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), \
      "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), \
      "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]), \
      "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]),           \
      "+f"(d[103]), "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]),        \
      "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), "+f"(d[112]), "+f"(d[113]), "+f"(d[114]),        \
      "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), "+f"(d[120]),        \
      "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]),        \
      "+f"(d[127])

// One warpgroup MMA: KIND "" (dense) or ".sp"; S the number of scale_d's operand; OPERANDS the
// text of the operands after the accumulators; the rest, the input operands.
#define STCO_ARCH_WGMMA(KIND, SHAPE, T, REGS, ACC, S, OPERANDS, ...)                   \
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %" S                                  \
               ", 0;\n"                                                                \
               "wgmma.mma_async" KIND ".sync.aligned." SHAPE ".f32." T "." T " {" REGS \
               "}, " OPERANDS ";\n}\n"                                                 \
               : ACC(d)                                                                \
               : __VA_ARGS__)
// Dense: a-desc %A, b-desc %B, scale-d from %S, scale-a/b 1, tnspA %TA, tnspB %TB.
#define STCO_ARCH_WGMMA_DENSE(SHAPE, T, REGS, ACC, A, B, S, TA, TB)                             \
  STCO_ARCH_WGMMA("", SHAPE, T, REGS, ACC, S, "%" A ", %" B ", p, 1, 1, %" TA ", %" TB, "l"(a), \
                  "l"(b), "r"(scale_d), "n"(TransA), "n"(TransB))
// Sparse: a-desc %A, b-desc %B, metadata %E with selector 0, scale-d from %S, scale-a/b 1, A
// K-major (tnspA 0), tnspB %TB.
#define STCO_ARCH_WGMMA_SPARSE(SHAPE, T, REGS, ACC, A, B, E, S, TB)                             \
  STCO_ARCH_WGMMA(".sp", SHAPE, T, REGS, ACC, S, "%" A ", %" B ", %" E ", 0, p, 1, 1, 0, %" TB, \
                  "l"(a), "l"(b), "r"(e), "r"(scale_d), "n"(TransB))
// Both types of one form.
#define STCO_ARCH_WGMMA_TYPES(FORM, SHAPE, ...) \
  do {                                          \
    if constexpr (BF16)                         \
      FORM(SHAPE, "bf16", __VA_ARGS__);         \
    else                                        \
      FORM(SHAPE, "f16", __VA_ARGS__);          \
  } while (0)

/// d[0 .. N/2) (+)= A(64×16)·B(16×N), both from shared memory (descriptors a, b); TransA / TransB
/// = 1: that operand is MN-major (M or N contiguous), 0: K-major.
template <int N, bool BF16>
struct wgmma_dense {
  static_assert(N == 64 || N == 128 || N == 256,
                "stco arch: dense wgmma is m64n64, m64n128 or m64n256");
  template <int TransA, int TransB>
  __device__ __forceinline__ static void mma(float* d, std::uint64_t a, std::uint64_t b,
                                             int scale_d = 1) {
    if constexpr (N == 64)
      STCO_ARCH_WGMMA_TYPES(STCO_ARCH_WGMMA_DENSE, "m64n64k16", STCO_ARCH_WGMMA_REGS32,
                            STCO_ARCH_WGMMA_ACC32, "32", "33", "34", "35", "36");
    else if constexpr (N == 128)
      STCO_ARCH_WGMMA_TYPES(STCO_ARCH_WGMMA_DENSE, "m64n128k16", STCO_ARCH_WGMMA_REGS64,
                            STCO_ARCH_WGMMA_ACC64, "64", "65", "66", "67", "68");
    else
      STCO_ARCH_WGMMA_TYPES(STCO_ARCH_WGMMA_DENSE, "m64n256k16", STCO_ARCH_WGMMA_REGS128,
                            STCO_ARCH_WGMMA_ACC128, "128", "129", "130", "131", "132");
  }
};

/// d[0 .. N/2) (+)= A(64×32, 2:4 sparse: the compressed 64×16 from shared memory, descriptor a,
/// K-major; metadata word e)·B(32×N, descriptor b); TransB = 1: B is N-major.
template <int N, bool BF16>
struct wgmma_sparse {
  static_assert(N == 128 || N == 256, "stco arch: sparse wgmma is m64n128 or m64n256");
  template <int TransB>
  __device__ __forceinline__ static void mma(float* d, std::uint64_t a, std::uint64_t b,
                                             std::uint32_t e, int scale_d) {
    if constexpr (N == 128)
      STCO_ARCH_WGMMA_TYPES(STCO_ARCH_WGMMA_SPARSE, "m64n128k32", STCO_ARCH_WGMMA_REGS64,
                            STCO_ARCH_WGMMA_ACC64, "64", "65", "66", "67", "68");
    else
      STCO_ARCH_WGMMA_TYPES(STCO_ARCH_WGMMA_SPARSE, "m64n256k32", STCO_ARCH_WGMMA_REGS128,
                            STCO_ARCH_WGMMA_ACC128, "128", "129", "130", "131", "132");
  }
};

#undef STCO_ARCH_WGMMA_TYPES
#undef STCO_ARCH_WGMMA_SPARSE
#undef STCO_ARCH_WGMMA_DENSE
#undef STCO_ARCH_WGMMA
#undef STCO_ARCH_WGMMA_ACC128
#undef STCO_ARCH_WGMMA_ACC64
#undef STCO_ARCH_WGMMA_ACC32
#undef STCO_ARCH_WGMMA_REGS128
#undef STCO_ARCH_WGMMA_REGS64
#undef STCO_ARCH_WGMMA_REGS32

#endif  // STCO_ARCH_SM90A

}  // namespace stco::kernel::cuda::arch
