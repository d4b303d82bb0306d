// stco/kernel/cuda/sparse_tc/ops.cuh — the nm<2,4> operations on the GPU: forward with a fused
// epilogue, dX = Wᵀ·dZ, dW at kept addresses; the entry points the CUDA expression layer calls.
//
// All take raw device pointers, sizes and an explicit stream; T is stco::half or stco::bfloat16;
// Chain is an epilogue chain (stco/expr/epilogue.hpp) whose pointers are device pointers.
// dZ = chain.core_gradient(dY, row, pos, stash[pos]) is formed while the gradient kernels load
// their tiles and never written; a chain without activation has a constant derivative, which is
// applied in the epilogue instead (then dY is loaded as it is).
//
// Paths (chosen at run time, or forced for tests and benchmarks):
//   sm90 — wgmma.sp / wgmma with TMA, for sm_90a builds on a 9.0 device, when every row pitch is
//          a multiple of 8 elements (forward: ⌈K/4⌉ % 4 == 0 and N % 8 == 0; dX: ⌈R/4⌉ % 4 == 0
//          and N % 8 == 0; dW: N % 8 == 0) and, for dX/dW, the chain has no activation;
//   sm80 — mma.sp / mma.sync with cp.async, any shape, any chain, sm_80 and newer.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "stco/core/cuda/check.cuh"
#include "stco/core/error.hpp"
#include "stco/core/index.hpp"
#include "stco/kernel/cuda/arch/device.cuh"
#include "stco/kernel/cuda/arch/tensor_map.cuh"
#include "stco/kernel/cuda/sparse_tc/epilogues.cuh"
#include "stco/kernel/cuda/sparse_tc/gemm_sm80.cuh"
#include "stco/kernel/cuda/sparse_tc/gemm_sm90.cuh"
#include "stco/kernel/cuda/sparse_tc/value_bits.cuh"

namespace stco::cuda::sparse_tc {

namespace arch = ::stco::kernel::cuda::arch;

enum class path { automatic, sm80, sm90 };

/// A 2:4 weight on the device: values [rows, 2·⌈cols/4⌉], packed 2-bit offsets (host order) and
/// the instruction-order metadata (metadata.hpp) with its row pitch in words.
template <class T>
struct device_sparse_tc {
  const T* values = nullptr;
  const std::uint32_t* offsets = nullptr;
  const std::uint32_t* meta = nullptr;
  index_t meta_pitch = 0;
  index_t rows = 0, cols = 0;
  index_t groups() const { return (cols + 3) / 4; }
};

namespace detail {

inline const std::uint16_t* bits(const void* p) { return static_cast<const std::uint16_t*>(p); }
inline bool aligned16(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; }

/// out[i] = T(in[i]) (dW's float workspace of a split reduction, rounded to the value type).
template <class T>
__global__ void narrow_kernel(const float* in, std::uint16_t* out, index_t n) {
  for (index_t i = blockIdx.x * index_t{blockDim.x} + threadIdx.x; i < n;
       i += index_t{gridDim.x} * blockDim.x)
    out[i] = bits::to_bits<T>(in[i]);
}

/// How grad_w runs: on the sm90 kernel or not, its tile width, and how many slices the
/// reduction is split into (> 1: atomic accumulation into a zeroed float dW).
struct grad_w_plan {
  bool sm90 = false;
  int bn = 256, splits = 1;
};
template <class T, class Chain>
grad_w_plan plan_grad_w(const device_sparse_tc<T>& w, const T* X, const T* dY, index_t N, path p,
                        int bn) {
  constexpr bool linear = !Chain::has_activation;
  grad_w_plan g;
  const bool fits = linear && N % 8 == 0 && aligned16(X) && aligned16(dY);
  if (p == path::sm90 || (p == path::automatic && fits && arch::sm90a_available())) {
    if (!fits || !arch::sm90a_available())
      throw argument_error(::stco::detail::message(
          "stco::cuda::sparse_tc::grad_w: the sm90 path needs an sm_90a device, a chain without "
          "activation and N % 8 == 0 (W [",
          w.rows, ", ", w.cols, "], N = ", N, ")"));
    g.sm90 = true;
    g.bn = bn == 128 ? 128 : 256;
    // Few output tiles and a long reduction (a conv layer's dW: N = batch·H·W): split the
    // reduction so every SM works, and accumulate the slices atomically into a zeroed dW.
    const index_t tiles =
        ((w.rows + sm90::BM - 1) / sm90::BM) * ((4 * w.groups() + g.bn - 1) / g.bn);
    const index_t KT = (N + sm90::BK - 1) / sm90::BK;
    const index_t sms = arch::sm_count();
    g.splits = static_cast<int>(
        tiles >= sms ? 1 : std::max<index_t>(1, std::min<index_t>(KT / 8, sms / tiles)));
  }
  return g;
}

template <class T, a_form AF, b_form BF, class Chain, class Epi>
void launch_sm80(const gemm_args<Chain>& a, const Epi& epi, cudaStream_t s) {
  if (a.M == 0 || a.N == 0) return;
  using L = sm80::smem_layout<AF, BF>;
  auto kernel = sm80::gemm_kernel<T, AF, BF, Chain, Epi>;
  STCO_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, L::bytes));
  const dim3 grid(static_cast<unsigned>((a.N + sm80::BN - 1) / sm80::BN),
                  static_cast<unsigned>((a.M + sm80::BM - 1) / sm80::BM));
  kernel<<<grid, sm80::THREADS, L::bytes, s>>>(a, epi);
  STCO_CUDA_CHECK(cudaGetLastError());
}

template <class T, bool Sparse, int BN, class Epi, bool BKn = Sparse>
void launch_sm90(const CUtensorMap& ma, const CUtensorMap& mb, const CUtensorMap& me, index_t M,
                 index_t N, index_t K, const Epi& epi, cudaStream_t s, int splits = 1) {
  if (M == 0 || N == 0) return;
  using C = sm90::config<Sparse, BN>;
  auto kernel = sm90::gemm_kernel<T, Sparse, BN, Epi, BKn>;
  STCO_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, C::smem_bytes));
  const index_t tiles = ((M + sm90::BM - 1) / sm90::BM) * ((N + BN - 1) / BN) * splits;
  const unsigned grid = static_cast<unsigned>(std::min<index_t>(tiles, arch::sm_count()));
  kernel<<<grid, sm90::THREADS, C::smem_bytes, s>>>(ma, mb, me, M, N, K, splits, epi);
  STCO_CUDA_CHECK(cudaGetLastError());
}

/// Forward or dX on the sparse tensor cores, sm90 form: A = values [M, 2·⌈K/4⌉] with metadata,
/// B = [K, N] row-major.
template <class T, class Epi>
void sparse_sm90(const device_sparse_tc<T>& a, const std::uint16_t* b, index_t N, const Epi& epi,
                 cudaStream_t s, int bn) {
  const index_t M = a.rows, K = a.cols, Gc = 2 * a.groups();
  const CUtensorMap ma = arch::make_tensor_map_2d(
      a.values, static_cast<std::uint64_t>(M), static_cast<std::uint64_t>(Gc),
      static_cast<std::uint64_t>(Gc), 2, 128, 32, CU_TENSOR_MAP_SWIZZLE_64B);
  const index_t rb = (M + 127) / 128 * 8;
  const CUtensorMap me = arch::make_tensor_map_2d(
      a.meta, static_cast<std::uint64_t>(rb), static_cast<std::uint64_t>(a.meta_pitch),
      static_cast<std::uint64_t>(a.meta_pitch), 4, 8, 32, CU_TENSOR_MAP_SWIZZLE_NONE);
  const CUtensorMap mb = arch::make_tensor_map_2d(
      b, static_cast<std::uint64_t>(K), static_cast<std::uint64_t>(N),
      static_cast<std::uint64_t>(N), 2, 64, 64, CU_TENSOR_MAP_SWIZZLE_128B);
  if (bn == 128)
    launch_sm90<T, true, 128>(ma, mb, me, M, N, K, epi, s);
  else
    launch_sm90<T, true, 256>(ma, mb, me, M, N, K, epi, s);
}

template <class Chain>
float linear_factor(const Chain& ch) {
  return ch.core_gradient(1.0f, index_t{0}, index_t{0}, 0.0f);
}

}  // namespace detail

/// Whether the sm90 forward takes the call's shapes and alignment (the device aside).
template <class T>
bool forward_sm90_fits(const device_sparse_tc<T>& w, const T* X, index_t N, const T* Y) {
  return w.groups() % 4 == 0 && N % 8 == 0 && detail::aligned16(w.values) && detail::aligned16(X) &&
         detail::aligned16(w.meta) && detail::aligned16(Y);
}

/// Whether the sm90 dX on a transposable Wᵀ takes the call (the device aside).
template <class T, class Chain>
bool grad_x_sm90_fits(const device_sparse_tc<T>& wt, const T* dY, index_t N, const T* dX) {
  return !Chain::has_activation && wt.groups() % 4 == 0 && N % 8 == 0 &&
         detail::aligned16(wt.values) && detail::aligned16(dY) && detail::aligned16(wt.meta) &&
         detail::aligned16(dX);
}

/// Y[R, N] = chain(W·X) with X [K, N] row-major; stash (may be null) gets the activation input
/// (float, pos = r·N + n). bn: the sm90 kernel's tile width (256 or 128).
template <class T, class Chain>
void forward(const device_sparse_tc<T>& w, const T* X, index_t N, T* Y, const Chain& chain,
             float* stash, cudaStream_t s, path p = path::automatic, int bn = 256) {
  const index_t R = w.rows, K = w.cols, G = w.groups();
  chain_store<T, Chain> epi{reinterpret_cast<std::uint16_t*>(Y), stash, N, chain};
  const bool fits = forward_sm90_fits(w, X, N, Y);
  if (p == path::sm90 || (p == path::automatic && fits && arch::sm90a_available())) {
    if (!fits || !arch::sm90a_available())
      throw argument_error(
          ::stco::detail::message("stco::cuda::sparse_tc::forward: the sm90 path needs an sm_90a "
                                  "device and ⌈K/4⌉ % 4 == 0, "
                                  "N % 8 == 0 (W [",
                                  R, ", ", K, "], N = ", N, ")"));
    detail::sparse_sm90<T>(w, detail::bits(X), N, epi, s, bn);
    return;
  }
  gemm_args<Chain> a;
  a.M = R, a.N = N, a.K = K;
  a.a = {detail::bits(w.values), nullptr, R, 2 * G, 2 * G, chain};
  a.b = {detail::bits(X), nullptr, K, N, N, chain};
  a.meta = w.meta, a.meta_pitch = w.meta_pitch;
  detail::launch_sm80<T, a_form::sparse, b_form::kn>(a, epi, s);
}

/// dX[K, N] = Wᵀ·dZ. With `wt` (Wᵀ's values, offsets and metadata: a transposable mask) it runs
/// on the sparse tensor cores; with wt == nullptr W is decompressed tile by tile into shared
/// memory and multiplied densely.
template <class T, class Chain>
void grad_x(const device_sparse_tc<T>& w, const device_sparse_tc<T>* wt, const T* dY,
            const float* stash, index_t N, const Chain& chain, T* dX, cudaStream_t s,
            path p = path::automatic, int bn = 256) {
  const index_t R = w.rows, K = w.cols;
  constexpr bool linear = !Chain::has_activation;
  const float scale = linear ? detail::linear_factor(chain) : 1.0f;
  scaled_store<T> epi{reinterpret_cast<std::uint16_t*>(dX), N, scale};
  if (wt) {
    if (wt->rows != K || wt->cols != R)
      throw shape_error(::stco::detail::message("stco::cuda::sparse_tc::grad_x: Wᵀ is [", wt->rows,
                                                ", ", wt->cols, "] for W [", R, ", ", K, "]"));
    const bool fits = grad_x_sm90_fits<T, Chain>(*wt, dY, N, dX);
    if (p == path::sm90 || (p == path::automatic && fits && arch::sm90a_available())) {
      if (!fits || !arch::sm90a_available())
        throw argument_error(::stco::detail::message(
            "stco::cuda::sparse_tc::grad_x: the sm90 path needs an sm_90a device, a chain without "
            "activation, ⌈R/4⌉ % 4 == 0 and N % 8 == 0 (W [",
            R, ", ", K, "], N = ", N, ")"));
      detail::sparse_sm90<T>(*wt, detail::bits(dY), N, epi, s, bn);
      return;
    }
  }
  gemm_args<Chain> a;
  a.M = K, a.N = N, a.K = R;
  a.b = {detail::bits(dY), stash, R, N, N, chain};
  if (wt) {
    const index_t Gt = wt->groups();
    a.a = {detail::bits(wt->values), nullptr, K, 2 * Gt, 2 * Gt, chain};
    a.meta = wt->meta, a.meta_pitch = wt->meta_pitch;
    if constexpr (linear)
      detail::launch_sm80<T, a_form::sparse, b_form::kn>(a, epi, s);
    else
      detail::launch_sm80<T, a_form::sparse, b_form::kn_dz>(a, epi, s);
  } else {
    a.a = {detail::bits(w.values), nullptr, R, 2 * w.groups(), 2 * w.groups(), chain};
    a.offsets = reinterpret_cast<const std::uint8_t*>(w.offsets), a.w_groups = w.groups();
    if constexpr (linear)
      detail::launch_sm80<T, a_form::decomp_t, b_form::kn>(a, epi, s);
    else
      detail::launch_sm80<T, a_form::decomp_t, b_form::kn_dz>(a, epi, s);
  }
}

/// Whether grad_x_dense runs this call: an sm_90a device, a chain without activation, N % 8 == 0,
/// Wᵀ's row pitch `ld` a multiple of 8, 16-byte aligned operands.
template <class T, class Chain>
bool grad_x_dense_fits(const T* wt, index_t ld, const T* dY, index_t N, const T* dX) {
  return !Chain::has_activation && N % 8 == 0 && ld % 8 == 0 && detail::aligned16(wt) &&
         detail::aligned16(dY) && detail::aligned16(dX) && arch::sm90a_available();
}

/// dX[K, N] = Wᵀ·dZ with Wᵀ given dense ([K, R], row pitch ld; decompress_transposed writes it):
/// the dense wgmma kernel, A = Wᵀ K-major, B = dY [R, N] N-major. The path for a mask that is not
/// transposable; argument_error where grad_x_dense_fits is false.
template <class T, class Chain>
void grad_x_dense(const T* wt, index_t ld, index_t R, index_t K, const T* dY, index_t N,
                  const Chain& chain, T* dX, cudaStream_t s) {
  if (!grad_x_dense_fits<T, Chain>(wt, ld, dY, N, dX))
    throw argument_error(::stco::detail::message(
        "stco::cuda::sparse_tc::grad_x_dense: needs an sm_90a device, a chain without activation, "
        "N % 8 == 0 and a row pitch of Wᵀ that is a multiple of 8 (W [",
        R, ", ", K, "], N = ", N, ", pitch ", ld, ")"));
  float scale = 1.0f;
  if constexpr (!Chain::has_activation) scale = detail::linear_factor(chain);
  scaled_store<T> epi{reinterpret_cast<std::uint16_t*>(dX), N, scale};
  const CUtensorMap ma = arch::make_tensor_map_2d(
      wt, static_cast<std::uint64_t>(K), static_cast<std::uint64_t>(R),
      static_cast<std::uint64_t>(ld), 2, 128, 64, CU_TENSOR_MAP_SWIZZLE_128B);
  const CUtensorMap mb = arch::make_tensor_map_2d(
      dY, static_cast<std::uint64_t>(R), static_cast<std::uint64_t>(N),
      static_cast<std::uint64_t>(N), 2, 64, 64, CU_TENSOR_MAP_SWIZZLE_128B);
  detail::launch_sm90<T, false, 256, scaled_store<T>, true>(ma, mb, ma, K, N, R, epi, s);
}

/// Float elements of the workspace grad_w needs to write a T dW when its sm90 kernel splits the
/// reduction (0: it does not; then it stores T directly).
template <class T, class Chain>
index_t grad_w_workspace(const device_sparse_tc<T>& w, const T* X, const T* dY, index_t N,
                         path p = path::automatic, int bn = 256) {
  const auto g = detail::plan_grad_w<T, Chain>(w, X, dY, N, p, bn);
  return g.sm90 && g.splits > 1 ? w.rows * 2 * w.groups() : 0;
}

/// dW at kept addresses, compressed like W's values: dW_c[r, j] = Σ_n dZ[r, n]·X[k(r, j), n].
/// One dense GEMM dZ·Xᵀ whose epilogue keeps only the kept columns. Out is float or T; a T dW
/// whose reduction the sm90 kernel splits (grad_w_workspace > 0) is accumulated in `workspace`
/// (that many floats) and rounded once; without a workspace the reduction is not split.
template <class T, class Chain, class Out>
void grad_w(const device_sparse_tc<T>& w, const T* X, const T* dY, const float* stash, index_t N,
            const Chain& chain, Out* dW, cudaStream_t s, path p = path::automatic,
            float* workspace = nullptr, int bn = 256) {
  static_assert(std::is_same_v<Out, float> || std::is_same_v<Out, T>,
                "stco::cuda::sparse_tc::grad_w: dW is float or the value type");
  const index_t R = w.rows, K = w.cols, G = w.groups();
  constexpr bool linear = !Chain::has_activation;
  const float scale = linear ? detail::linear_factor(chain) : 1.0f;
  const auto* offsets = reinterpret_cast<const std::uint8_t*>(w.offsets);
  const auto plan = detail::plan_grad_w<T, Chain>(w, X, dY, N, p, bn);
  if (plan.sm90) {
    const CUtensorMap ma = arch::make_tensor_map_2d(
        dY, static_cast<std::uint64_t>(R), static_cast<std::uint64_t>(N),
        static_cast<std::uint64_t>(N), 2, 128, 64, CU_TENSOR_MAP_SWIZZLE_128B);
    const int tile_n = plan.bn;
    const CUtensorMap mb = arch::make_tensor_map_2d(
        X, static_cast<std::uint64_t>(K), static_cast<std::uint64_t>(N),
        static_cast<std::uint64_t>(N), 2, static_cast<std::uint32_t>(tile_n), 64,
        CU_TENSOR_MAP_SWIZZLE_128B);
    auto run = [&](const auto& epi, int splits) {
      using E = std::decay_t<decltype(epi)>;
      if (tile_n == 128)
        detail::launch_sm90<T, false, 128, E>(ma, mb, ma, R, 4 * G, N, epi, s, splits);
      else
        detail::launch_sm90<T, false, 256, E>(ma, mb, ma, R, 4 * G, N, epi, s, splits);
    };
    const index_t count = R * 2 * G;
    float* acc = nullptr;  // where a split reduction accumulates
    if constexpr (std::is_same_v<Out, float>)
      acc = dW;
    else
      acc = workspace;
    if (plan.splits > 1 && acc) {
      STCO_CUDA_CHECK(cudaMemsetAsync(acc, 0, static_cast<std::size_t>(count) * sizeof(float), s));
      run(compress_store<float>{acc, offsets, G, scale, true}, plan.splits);
      if constexpr (!std::is_same_v<Out, float>) {
        if (count > 0) {
          const unsigned blocks = static_cast<unsigned>(
              std::min<index_t>((count + 255) / 256, index_t{8} * arch::sm_count()));
          detail::narrow_kernel<T>
              <<<blocks, 256, 0, s>>>(acc, reinterpret_cast<std::uint16_t*>(dW), count);
          STCO_CUDA_CHECK(cudaGetLastError());
        }
      }
    } else {
      run(compress_store<Out>{dW, offsets, G, scale, false}, 1);
    }
    return;
  }
  compress_store<Out> epi{dW, offsets, G, scale, false};
  gemm_args<Chain> a;
  a.M = R, a.N = 4 * G, a.K = N;
  a.a = {detail::bits(dY), stash, R, N, N, chain};
  a.b = {detail::bits(X), nullptr, K, N, N, chain};
  if constexpr (linear)
    detail::launch_sm80<T, a_form::rows, b_form::nk>(a, epi, s);
  else
    detail::launch_sm80<T, a_form::rows_dz, b_form::nk>(a, epi, s);
}

}  // namespace stco::cuda::sparse_tc
