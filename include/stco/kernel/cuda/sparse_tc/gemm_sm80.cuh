// stco/kernel/cuda/sparse_tc/gemm_sm80.cuh — the portable (sm_80 and newer) tensor-core kernel
// behind every nm<2,4> operation: C[M, N] = A[M, K]·B[K, N] with f32 accumulation and a fused
// epilogue.
//
// One CTA computes a 128×128 tile with 8 warps (2 × 4, 64×32 each), K in steps of 64 through a
// 3-stage shared-memory pipeline. Operands come in these forms (the op picks them):
//   A: sparse   — nm<2,4> values [M, 2·⌈K/4⌉] plus instruction-order metadata (mma.sp m16n8k32);
//      rows     — dense row-major [M, K] (dW: A = dZ), optionally formed on the fly from dY and the
//                 activation stash through the epilogue's derivative (never written as a tensor);
//      decomp_t — Wᵀ of an nm<2,4> W, decompressed from W's values and packed offsets straight
//                 into shared memory (dX when the mask is not transposable; no dense W in memory).
//   B: kn       — row-major [K, N] (X, or dZ formed on the fly as above);
//      nk       — row-major [N, K], i.e. B column-major (dW: B[n, k] = X[k, n]).
// cp.async with zero fill loads the plain tiles (16-byte chunks; element-wise where a row pitch
// is not a multiple of 8); on-the-fly operands are fetched into registers one stage ahead and
// stored after the current stage's MMAs, so their latency hides behind the math. Tiles are
// swizzled in 16-byte chunks so that ldmatrix reads are free of bank conflicts. Any M, N, K work:
// every load and store is predicated.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "stco/core/index.hpp"
#include "stco/kernel/cuda/arch/mma_sm80.cuh"
#include "stco/kernel/cuda/sparse_tc/value_bits.cuh"

namespace stco::cuda::sparse_tc {

namespace arch = ::stco::kernel::cuda::arch;

enum class a_form { sparse, rows, rows_dz, decomp_t };
enum class b_form { kn, kn_dz, nk };

/// A row-major matrix of 16-bit values, optionally "dZ": dY through the chain's derivative with
/// the stash (the derivative's channel is the row).
template <class Chain>
struct operand {
  const std::uint16_t* p = nullptr;  ///< values (dY for a dZ operand)
  const float* stash = nullptr;      ///< activation stash of a dZ operand (may be null)
  index_t rows = 0, cols = 0, ld = 0;
  Chain chain{};
};

/// Arguments of one GEMM: sizes, operands, and for sparse A the metadata.
template <class Chain>
struct gemm_args {
  index_t M = 0, N = 0, K = 0;
  operand<Chain> a, b;
  const std::uint32_t* meta = nullptr;    ///< instruction-order metadata words of A (sparse A)
  index_t meta_pitch = 0;                 ///< words per atom row (k_blocks · 16)
  const std::uint8_t* offsets = nullptr;  ///< packed nm<2,4> offsets of W (decomp_t)
  index_t w_groups = 0;                   ///< G of W (decomp_t)
};

namespace sm80 {

inline constexpr int BM = 128, BN = 128, BK = 64, STAGES = 3, THREADS = 256;

/// Offset in elements of (row, col) in a tile of `cols` 16-bit elements per row, 16-byte chunks
/// XOR-swizzled so that 8 consecutive rows at one chunk fall in 8 distinct bank groups.
template <int Cols>
__device__ inline int swz(int row, int col) {
  constexpr int chunks = Cols / 8;
  int c = col / 8;
  if constexpr (chunks >= 8)
    c ^= row % 8;
  else
    c ^= (row / (8 / chunks)) % chunks;
  return row * Cols + c * 8 + col % 8;
}

template <a_form AF>
inline constexpr int a_cols = AF == a_form::sparse ? BK / 2 : BK;
template <b_form BF>
inline constexpr int b_rows = BF == b_form::nk ? BN : BK;
template <b_form BF>
inline constexpr int b_cols = BF == b_form::nk ? BK : BN;

template <a_form AF, b_form BF>
struct smem_layout {
  static constexpr int a_elems = BM * a_cols<AF>;
  static constexpr int b_elems = b_rows<BF> * b_cols<BF>;
  static constexpr int e_words = AF == a_form::sparse ? 8 * 32 : 0;
  static constexpr int stage_bytes = (a_elems + b_elems) * 2 + e_words * 4;
  static constexpr int bytes = STAGES * stage_bytes;
};

/// Copies the [Rows, Cols] tile at (r0, c0) of a plain row-major operand into swizzled shared
/// memory with cp.async (zero outside the matrix), or element by element where rows are not
/// 16-byte aligned.
template <int Rows, int Cols, class Chain>
__device__ inline void load_plain(std::uint16_t* tile, const operand<Chain>& o, index_t r0,
                                  index_t c0, bool vec) {
  constexpr int chunks = Rows * Cols / 8;
  const int tid = threadIdx.x;
  if (vec) {
#pragma unroll
    for (int i = tid; i < chunks; i += THREADS) {
      const int r = i / (Cols / 8), c = (i % (Cols / 8)) * 8;
      const index_t gr = r0 + r, gc = c0 + c;
      int bytes = 0;
      const std::uint16_t* src = o.p;
      if (gr < o.rows && gc < o.cols) {
        bytes = static_cast<int>(min(index_t{8}, o.cols - gc)) * 2;
        src = o.p + gr * o.ld + gc;
      }
      arch::cp_async_16(arch::smem_addr(tile + swz<Cols>(r, c)), src, bytes);
    }
  } else {
    for (int i = tid; i < Rows * Cols; i += THREADS) {
      const int r = i / Cols, c = i % Cols;
      const index_t gr = r0 + r, gc = c0 + c;
      tile[swz<Cols>(r, c)] = gr < o.rows && gc < o.cols ? o.p[gr * o.ld + gc] : std::uint16_t{0};
    }
  }
}

/// Register-staged dZ tile: fetch() reads dY and the stash and applies the chain's derivative,
/// store() writes the packed values into shared memory.
template <class T, int Rows, int Cols, class Chain>
struct dz_stage {
  static constexpr int per_thread = Rows * Cols / 8 / THREADS;
  std::uint32_t v[per_thread][4];

  __device__ void fetch(const operand<Chain>& o, index_t r0, index_t c0) {
#pragma unroll
    for (int j = 0; j < per_thread; ++j) {
      const int i = threadIdx.x + j * THREADS;
      const int r = i / (Cols / 8), c = (i % (Cols / 8)) * 8;
      const index_t gr = r0 + r, gc = c0 + c;
      float z[8];
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        float dz = 0.f;
        if (gr < o.rows && gc + e < o.cols) {
          const index_t pos = gr * o.ld + gc + e;
          const float dy = bits::to_float<T>(o.p[pos]);
          dz = o.chain.core_gradient(dy, gr, pos, o.stash ? o.stash[pos] : 0.f);
        }
        z[e] = dz;
      }
#pragma unroll
      for (int e = 0; e < 4; ++e) v[j][e] = bits::pack2<T>(z[2 * e], z[2 * e + 1]);
    }
  }
  __device__ void store(std::uint16_t* tile) const {
#pragma unroll
    for (int j = 0; j < per_thread; ++j) {
      const int i = threadIdx.x + j * THREADS;
      const int r = i / (Cols / 8), c = (i % (Cols / 8)) * 8;
      *reinterpret_cast<uint4*>(tile + swz<Cols>(r, c)) =
          make_uint4(v[j][0], v[j][1], v[j][2], v[j][3]);
    }
  }
};

/// Register-staged Wᵀ tile [BM (k), BK (r)] decompressed from W's values and packed offsets.
template <class Chain>
struct decomp_stage {
  static constexpr int groups = BM / 4;                     // groups of W's row in the tile
  static constexpr int per_thread = BK * groups / THREADS;  // (r, g) items per thread
  std::uint32_t val[per_thread];
  std::uint32_t nib[per_thread];

  __device__ void fetch(const gemm_args<Chain>& a, index_t k0, index_t r0) {
#pragma unroll
    for (int j = 0; j < per_thread; ++j) {
      const int i = threadIdx.x + j * THREADS;
      const int r = i % BK, g = i / BK;
      const index_t gr = r0 + r, gg = k0 / 4 + g;
      val[j] = 0, nib[j] = 0x4;
      if (gr < a.a.rows && gg < a.w_groups) {
        const index_t slot = gr * a.w_groups + gg;  // the pair of slots (2·slot, 2·slot + 1)
        val[j] = *reinterpret_cast<const std::uint32_t*>(a.a.p + 2 * slot);
        nib[j] = (a.offsets[slot / 2] >> (4 * (slot % 2))) & 0xFu;
      }
    }
  }
  __device__ void store(std::uint16_t* tile) const {
#pragma unroll
    for (int j = 0; j < per_thread; ++j) {
      const int i = threadIdx.x + j * THREADS;
      const int r = i % BK, g = i / BK;
      const unsigned o0 = nib[j] & 3u, o1 = (nib[j] >> 2) & 3u;
#pragma unroll
      for (unsigned c = 0; c < 4; ++c) {
        const std::uint16_t x = c == o0   ? static_cast<std::uint16_t>(val[j] & 0xFFFFu)
                                : c == o1 ? static_cast<std::uint16_t>(val[j] >> 16)
                                          : std::uint16_t{0};
        tile[swz<BK>(4 * g + static_cast<int>(c), r)] = x;
      }
    }
  }
};

/// The kernel. `Epi` is called as epi(row, col, v0, v1) for the output pairs (col, col + 1)
/// inside [0, M) × [0, N) (v1 belongs to a column that may be ≥ N).
template <class T, a_form AF, b_form BF, class Chain, class Epi>
__global__ void __launch_bounds__(THREADS) gemm_kernel(gemm_args<Chain> args, Epi epi) {
  using L = smem_layout<AF, BF>;
  constexpr bool sparse = AF == a_form::sparse;
  constexpr int AC = a_cols<AF>, BC = b_cols<BF>;
  extern __shared__ __align__(128) unsigned char smem_raw[];
  auto a_tile = [&](int s) {
    return reinterpret_cast<std::uint16_t*>(smem_raw + s * L::stage_bytes);
  };
  auto b_tile = [&](int s) { return a_tile(s) + L::a_elems; };
  auto e_tile = [&](int s) { return reinterpret_cast<std::uint32_t*>(b_tile(s) + L::b_elems); };

  const index_t m0 = static_cast<index_t>(blockIdx.y) * BM;
  const index_t n0 = static_cast<index_t>(blockIdx.x) * BN;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int wm = warp / 4, wn = warp % 4;
  const index_t KT = (args.K + BK - 1) / BK;
  const bool a_vec = args.a.ld % 8 == 0, b_vec = args.b.ld % 8 == 0;

  dz_stage<T, BM, BK, Chain> a_dz;
  decomp_stage<Chain> a_dec;
  dz_stage<T, BK, BN, Chain> b_dz;

  auto issue = [&](int s, index_t kt) {  // asynchronous parts, and fetches of staged ones
    if constexpr (AF == a_form::sparse) {
      load_plain<BM, AC>(a_tile(s), args.a, m0, kt * (BK / 2), a_vec);
      if (threadIdx.x < 64) {  // 8 atom rows × 2 atoms × 16 words: always inside the padding
        const int rb = threadIdx.x / 8, part = threadIdx.x % 8;
        arch::cp_async_16(arch::smem_addr(e_tile(s) + rb * 32 + part * 4),
                          args.meta + (m0 / 16 + rb) * args.meta_pitch + kt * 32 + part * 4, 16);
      }
    } else if constexpr (AF == a_form::rows) {
      load_plain<BM, AC>(a_tile(s), args.a, m0, kt * BK, a_vec);
    } else if constexpr (AF == a_form::rows_dz) {
      a_dz.fetch(args.a, m0, kt * BK);
    } else {
      a_dec.fetch(args, m0, kt * BK);
    }
    if constexpr (BF == b_form::kn) {
      load_plain<BK, BN>(b_tile(s), args.b, kt * BK, n0, b_vec);
    } else if constexpr (BF == b_form::nk) {
      load_plain<BN, BK>(b_tile(s), args.b, n0, kt * BK, b_vec);
    } else {
      b_dz.fetch(args.b, kt * BK, n0);
    }
  };
  auto store_staged = [&](int s) {
    if constexpr (AF == a_form::rows_dz) a_dz.store(a_tile(s));
    if constexpr (AF == a_form::decomp_t) a_dec.store(a_tile(s));
    if constexpr (BF == b_form::kn_dz) b_dz.store(b_tile(s));
  };

  float acc[4][4][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int c = 0; c < 4; ++c) acc[i][j][c] = 0.f;

#pragma unroll
  for (int s = 0; s < STAGES - 1; ++s) {
    if (s < KT) {
      issue(s, s);
      store_staged(s);
    }
    arch::cp_async_commit();
  }

  for (index_t kt = 0; kt < KT; ++kt) {
    arch::cp_async_wait<STAGES - 2>();
    __syncthreads();
    const index_t nk = kt + STAGES - 1;
    const int ns = static_cast<int>(nk % STAGES), cs = static_cast<int>(kt % STAGES);
    if (nk < KT) issue(ns, nk);
    arch::cp_async_commit();

    const std::uint16_t* at = a_tile(cs);
    const std::uint16_t* bt = b_tile(cs);
    if constexpr (sparse) {
#pragma unroll
      for (int ks = 0; ks < BK / 32; ++ks) {
        std::uint32_t af[4][4], bf[4][4], e[4];
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int row = wm * 64 + i * 16 + lane % 16, col = ks * 16 + (lane / 16) * 8;
          arch::ldmatrix_x4(af[i], arch::smem_addr(at + swz<AC>(row, col)));
          e[i] = e_tile(cs)[(wm * 4 + i) * 32 + ks * 16 + (lane / 4) * 2 + lane % 2];
        }
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const int row = ks * 32 + lane, col = wn * 32 + j * 8;
          arch::ldmatrix_x4_trans(bf[j], arch::smem_addr(bt + swz<BC>(row, col)));
        }
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
          for (int j = 0; j < 4; ++j)
            arch::mma_sp_16832<bits::is_bf16_v<T>>(acc[i][j], af[i], bf[j], e[i]);
      }
    } else {
#pragma unroll
      for (int ks = 0; ks < BK / 16; ++ks) {
        std::uint32_t af[4][4], bf[4][2];
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int row = wm * 64 + i * 16 + lane % 16, col = ks * 16 + (lane / 16) * 8;
          arch::ldmatrix_x4(af[i], arch::smem_addr(at + swz<AC>(row, col)));
        }
#pragma unroll
        for (int jj = 0; jj < 2; ++jj) {
          std::uint32_t r[4];
          if constexpr (BF == b_form::nk) {
            const int row = wn * 32 + jj * 16 + lane % 8 + (lane / 16) * 8;
            const int col = ks * 16 + ((lane / 8) % 2) * 8;
            arch::ldmatrix_x4(r, arch::smem_addr(bt + swz<BC>(row, col)));
          } else {
            const int row = ks * 16 + lane % 16, col = wn * 32 + jj * 16 + (lane / 16) * 8;
            arch::ldmatrix_x4_trans(r, arch::smem_addr(bt + swz<BC>(row, col)));
          }
          bf[2 * jj][0] = r[0], bf[2 * jj][1] = r[1];
          bf[2 * jj + 1][0] = r[2], bf[2 * jj + 1][1] = r[3];
        }
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
          for (int j = 0; j < 4; ++j)
            arch::mma_16816<bits::is_bf16_v<T>>(acc[i][j], af[i], bf[j][0], bf[j][1]);
      }
    }
    if (nk < KT) store_staged(ns);
  }
  arch::cp_async_wait<0>();

  const int g = lane / 4, t = lane % 4;
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const index_t row = m0 + wm * 64 + i * 16 + g + h * 8;
        const index_t col = n0 + wn * 32 + j * 8 + t * 2;
        if (row < args.M && col < args.N) epi(row, col, acc[i][j][2 * h], acc[i][j][2 * h + 1]);
      }
}

}  // namespace sm80
}  // namespace stco::cuda::sparse_tc
