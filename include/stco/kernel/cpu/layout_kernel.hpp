// stco/kernel/cpu/layout_kernel.hpp — what a CPU layout kernel provides, and the generic one.
//
// A layout kernel computes, for one chunk of chunk_cols<C> columns (the drivers in matmul.hpp and
// conv2d.hpp cut the right-hand side into chunks and run chunks in parallel):
//   forward    acc[r]  += Σ_k W[r,k]·B[k]     rows of units [u0, u1) (acc row r at acc + r·CH)
//   transposed D[k]    += Σ_r W[r,k]·G[r]     columns of t-units [v0, v1)   (dX = Wᵀ·dZ)
//   sampled    dW[p]   += dot(G[r], B[k])      slots of the rows of units [u0, u1) (dW = dZ·Xᵀ at
//                                              the kept addresses only)
// B rows are ldb apart; G (and acc) rows are CH apart and exist for padded_rows() rows, zero
// beyond R. The generic kernel below walks cached per-row and per-column slot lists; the
// structured layouts specialize it in their own headers.
#pragma once

#include <algorithm>

#include "stco/core/parallel.hpp"
#include "stco/kernel/cpu/buffers.hpp"
#include "stco/kernel/cpu/microkernels.hpp"
#include "stco/kernel/cpu/slot_maps.hpp"

namespace stco::kernel::cpu {

/// Reduction rows per cache block: a block of B rows (k_block × chunk) fills about 32 KiB, so it
/// stays in L1 while every output row passes over it.
template <class C>
inline constexpr index_t k_block = 32768 / (chunk_cols<C> * static_cast<index_t>(sizeof(C)));

/// What a layout kernel's three products do, in words: stco::explain prints them.
struct kernel_names {
  const char* forward;  ///< Y = W·X
  const char* grad_x;   ///< dX = Wᵀ·dZ (the transposed product)
  const char* grad_w;   ///< dW at the kept addresses (the sampled product)
};

/// The kernel of any layout, through the cached slot maps (CSR, tile_vector's transposed and dW
/// products, and the fallback of structured layouts).
template <class L>
struct generic_kernel {
  using E = typename L::entity;
  static constexpr bool uses_column_map = true;
  static constexpr kernel_names names{"generic: each row's slot list",
                                      "generic: the cached column map (Wᵀ's slot lists)",
                                      "generic: one dot product per kept slot"};

  static index_t units(const E& e) { return e.logical_shape().rows; }
  static index_t padded_rows(const E& e) { return e.logical_shape().rows; }
  static index_t t_units(const E& e) { return e.logical_shape().cols; }

  template <class C>
  static void forward(const E& e, const C* vals, const C* B, index_t ldb, C* acc, index_t u0,
                      index_t u1) {
    constexpr index_t CH = chunk_cols<C>;
    const auto& m = row_slots<L>(e);
    const index_t K = e.logical_shape().cols;
    std::vector<index_t> cur(m.ptr.begin() + u0, m.ptr.begin() + u1);
    for (index_t k0 = 0; k0 < K; k0 += k_block<C>) {
      const index_t k1 = std::min(K, k0 + k_block<C>);
      for (index_t r = u0; r < u1; ++r) {
        index_t& p = cur[r - u0];
        const index_t end = m.ptr[r + 1];
        row_accumulate(acc + r * CH, B, ldb, [&](auto&& emit) {
          for (; p + 1 < end && m.other[p + 1] < k1; p += 2)
            emit(index_t{m.other[p]}, vals[m.slot[p]], index_t{m.other[p + 1]},
                 vals[m.slot[p + 1]]);
          for (; p < end && m.other[p] < k1; ++p) emit(index_t{m.other[p]}, vals[m.slot[p]]);
        });
      }
    }
  }

  /// The values in the order transposed() reads them: gathered once per call through the cached
  /// column map into `keep`, so the per-chunk traversal streams them instead of fetching each
  /// value by its slot (a random read per term).
  template <class C>
  static const C* transposed_values(const E& e, const C* vals, aligned_array<C>& keep) {
    const auto& m = column_slots<L>(e);
    const index_t n = static_cast<index_t>(m.slot.size());
    C* tv = keep.reserve(n);
    constexpr index_t piece = 1 << 16;
    parallel_for(ceil_div(n, piece), [&](index_t b) {
      for (index_t p = b * piece; p < std::min(n, (b + 1) * piece); ++p) tv[p] = vals[m.slot[p]];
    });
    return tv;
  }

  /// D[k] for columns [v0, v1), from transposed_values(). Rows of G are visited in blocks that
  /// fit L1 (column lists are sorted by row, so a cursor per column walks each list once over
  /// all blocks).
  template <class C>
  static void transposed(const E& e, const C* tv, const C* G, C* D, index_t v0, index_t v1) {
    constexpr index_t CH = chunk_cols<C>;
    const auto& m = column_slots<L>(e);
    const index_t R = e.logical_shape().rows;
    std::vector<index_t> cur(m.ptr.begin() + v0, m.ptr.begin() + v1);
    for (index_t r0 = 0; r0 < R; r0 += k_block<C>) {
      const auto r1 = static_cast<std::uint32_t>(std::min(R, r0 + k_block<C>));
      for (index_t k = v0; k < v1; ++k) {
        index_t& p = cur[k - v0];
        const index_t end = m.ptr[k + 1];
        if (p == end || m.other[p] >= r1) continue;
        row_accumulate(D + k * CH, G, CH, [&](auto&& emit) {
          for (; p + 1 < end && m.other[p + 1] < r1; p += 2)
            emit(index_t{m.other[p]}, tv[p], index_t{m.other[p + 1]}, tv[p + 1]);
          if (p < end && m.other[p] < r1) {
            emit(index_t{m.other[p]}, tv[p]);
            ++p;
          }
        });
      }
    }
  }

  /// transposed, restricted to rows [r_lo, r_hi) (one group of a grouped convolution); column
  /// lists are sorted by row, so the group is a contiguous run of each.
  template <class C>
  static void transposed_rows(const E& e, const C* vals, const C* G, C* D, index_t r_lo,
                              index_t r_hi) {
    constexpr index_t CH = chunk_cols<C>;
    const auto& m = column_slots<L>(e);
    for (index_t k = 0; k < e.logical_shape().cols; ++k)
      row_accumulate(D + k * CH, G, CH, [&](auto&& emit) {
        for (index_t p = m.ptr[k]; p < m.ptr[k + 1]; ++p) {
          const index_t r = m.other[p];
          if (r >= r_hi) break;
          if (r >= r_lo) emit(r, vals[m.slot[p]]);
        }
      });
  }

  template <class C>
  static void sampled(const E& e, const C* G, index_t ldg, const C* B, index_t ldb, index_t n,
                      C* dvals, index_t u0, index_t u1) {
    const auto& m = row_slots<L>(e);
    for (index_t r = u0; r < u1; ++r) {
      const C* g = G + r * ldg;
      for (index_t p = m.ptr[r]; p < m.ptr[r + 1]; ++p) {
        C* out = dvals + m.slot[p];
        const C* gr = g;
        multi_dot<1>(&out, &gr, B + index_t{m.other[p]} * ldb, n);
      }
    }
  }
};

/// Layouts specialize this; by default a layout runs the generic kernel.
template <class L>
struct layout_kernel : generic_kernel<L> {};

}  // namespace stco::kernel::cpu
