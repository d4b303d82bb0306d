// stco/kernel/cuda/route.cuh — what the planner (planner.cuh) decides for one CUDA call: the kernel
// family, the kernel, its instruction and tile configuration, and why a faster candidate was not
// taken. A route is a plain value: the drivers run exactly what it says, tests assert it, and
// stco::cuda::explain prints it.
#pragma once

#include <ostream>
#include <sstream>
#include <string>

namespace stco::kernel::cuda {

/// The ops a kernel implements.
enum class op {
  matmul_forward,
  matmul_grad_x,
  matmul_grad_w,
  conv2d_forward,
  conv2d_grad_x,
  conv2d_grad_w
};

/// Which family of kernels runs the call.
enum class family {
  portable,   ///< kernel/cuda/portable/: every layout and value type
  gather_tc,  ///< kernel/cuda/gather_tc/: tile layouts gathered into dense tensor-core tiles
  sparse_tc   ///< kernel/cuda/sparse_tc/: N:M weights on the sparse tensor cores
};

/// The kernel within the family.
enum class kernel_name {
  unit_product,          ///< portable: forward, and dX over the transposed traversal
  sampled_product,       ///< portable: dW at the stored slots
  grouped_conv,          ///< portable: grouped and depthwise convolution, per output
  warp_specialized,      ///< gather_tc: persistent TMA / cp.async producers feeding wgmma
  gathered_gemm,         ///< gather_tc: kept columns gathered to shared memory, dense MMA
  segmented_grad_x,      ///< gather_tc: dX of tile layouts over per-column tile lists
  implicit_conv,         ///< gather_tc: conv2d with the im2col gathered element by element
  sparse_gemm,           ///< sparse_tc: forward, or dX on Wᵀ where the mask is transposable
  dense_transposed,      ///< sparse_tc: dX on Wᵀ decompressed densely, dense wgmma
  dense_transposed_sum,  ///< sparse_tc: dX of two 2:4 terms, Waᵀ + Wbᵀ summed densely, dense wgmma
  decompressed_tiles,  ///< sparse_tc: dX with W decompressed tile by tile in shared memory
  compressed_grad_w    ///< sparse_tc: dW as dZ·Xᵀ keeping the kept columns
};

/// The matrix instruction the kernel's mainloop uses.
enum class instruction { none, mma_sync, wgmma, mma_sp, wgmma_sp };

/// One call's route.
struct route {
  op operation = op::matmul_forward;
  cuda::family family = cuda::family::portable;
  kernel_name kernel = kernel_name::unit_product;
  cuda::instruction instruction = cuda::instruction::none;
  int tile_n = 0;          ///< CTA tile width where the kernel has a choice (0: fixed)
  int splits = 1;          ///< slices of a split reduction (dW)
  int terms = 0;           ///< N:M masks on the 2:4 kernels: 1 or 2 terms (0: nm<2,4> itself)
  bool dz_formed = false;  ///< dZ = dY ⊙ act'(z) formed into memory first, then the linear call
  const char* why = "";    ///< why a faster candidate was not taken ("" when none was passed over)

  friend bool operator==(const route& a, const route& b) {
    return a.operation == b.operation && a.family == b.family && a.kernel == b.kernel &&
           a.instruction == b.instruction && a.tile_n == b.tile_n && a.splits == b.splits &&
           a.terms == b.terms && a.dz_formed == b.dz_formed;
  }
  friend bool operator!=(const route& a, const route& b) { return !(a == b); }
};

/// A route of family f: kernel k on instruction i (tile width where the kernel has a choice).
inline route make_route(op o, cuda::family f, kernel_name k, cuda::instruction i, int tile_n = 0) {
  route r;
  r.operation = o;
  r.family = f;
  r.kernel = k;
  r.instruction = i;
  r.tile_n = tile_n;
  return r;
}

/// The portable kernel of op o, with the reason no family took the call.
inline route portable_route(op o, const char* why) {
  route r =
      make_route(o, cuda::family::portable,
                 o == op::matmul_grad_w || o == op::conv2d_grad_w ? kernel_name::sampled_product
                                                                  : kernel_name::unit_product,
                 cuda::instruction::none);
  r.why = why;
  return r;
}

inline const char* to_string(op o) {
  switch (o) {
    case op::matmul_forward:
      return "matmul forward";
    case op::matmul_grad_x:
      return "matmul dX";
    case op::matmul_grad_w:
      return "matmul dW";
    case op::conv2d_forward:
      return "conv2d forward";
    case op::conv2d_grad_x:
      return "conv2d dX";
    case op::conv2d_grad_w:
      return "conv2d dW";
  }
  return "?";
}
inline const char* to_string(family f) {
  switch (f) {
    case family::portable:
      return "portable";
    case family::gather_tc:
      return "gather_tc";
    case family::sparse_tc:
      return "sparse_tc";
  }
  return "?";
}
inline const char* to_string(kernel_name k) {
  switch (k) {
    case kernel_name::unit_product:
      return "unit_product";
    case kernel_name::sampled_product:
      return "sampled_product";
    case kernel_name::grouped_conv:
      return "grouped_conv";
    case kernel_name::warp_specialized:
      return "warp_specialized";
    case kernel_name::gathered_gemm:
      return "gathered_gemm";
    case kernel_name::segmented_grad_x:
      return "segmented_grad_x";
    case kernel_name::implicit_conv:
      return "implicit_conv";
    case kernel_name::sparse_gemm:
      return "sparse_gemm";
    case kernel_name::dense_transposed:
      return "dense_transposed";
    case kernel_name::dense_transposed_sum:
      return "dense_transposed_sum";
    case kernel_name::decompressed_tiles:
      return "decompressed_tiles";
    case kernel_name::compressed_grad_w:
      return "compressed_grad_w";
  }
  return "?";
}
inline const char* to_string(instruction i) {
  switch (i) {
    case instruction::none:
      return "CUDA cores";
    case instruction::mma_sync:
      return "mma.sync";
    case instruction::wgmma:
      return "wgmma";
    case instruction::mma_sp:
      return "mma.sp";
    case instruction::wgmma_sp:
      return "wgmma.sp";
  }
  return "?";
}

/// One line: "matmul forward: sparse_tc/sparse_gemm (wgmma.sp, BN 256)", then "; not X: why".
inline std::ostream& operator<<(std::ostream& os, const route& r) {
  os << to_string(r.operation) << ": " << to_string(r.family) << '/' << to_string(r.kernel) << " ("
     << to_string(r.instruction);
  if (r.tile_n > 0) os << ", BN " << r.tile_n;
  if (r.splits > 1) os << ", reduction split " << r.splits << " ways";
  if (r.terms > 0)
    os << ", on the 2:4 kernels as " << r.terms << (r.terms == 1 ? " term" : " terms");
  if (r.dz_formed) os << ", dZ formed first";
  os << ')';
  if (r.why[0] != '\0') os << "; " << r.why;
  return os;
}
inline std::string to_string(const route& r) {
  std::ostringstream os;
  os << r;
  return os.str();
}

}  // namespace stco::kernel::cuda
