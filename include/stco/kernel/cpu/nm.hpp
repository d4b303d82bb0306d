// stco/kernel/cpu/nm.hpp — N:M on the CPU: each row gathers the B rows its packed offsets name.
//
// Forward and dW read the offsets straight from the entity (⌈log2 M⌉ bits per value, decoded in
// registers); no per-value index is ever expanded. The transposed product has no N:M structure
// (a column's kept rows are arbitrary), so it walks the cached column map.
#pragma once

#include "stco/kernel/cpu/layout_kernel.hpp"
#include "stco/layout/nm.hpp"

namespace stco::kernel::cpu {

template <int N, int M>
struct layout_kernel<nm<N, M>> : generic_kernel<nm<N, M>> {
  using L = nm<N, M>;
  using E = nm_entity<N, M>;
  static constexpr bool uses_column_map = true;
  static constexpr kernel_names names{"nm: offsets decoded in registers, X rows gathered",
                                      "generic: the cached column map (Wᵀ's slot lists)",
                                      "nm: offsets decoded in registers, dot tiles"};

  static index_t units(const E& e) { return e.logical_shape().rows; }
  static index_t padded_rows(const E& e) { return e.logical_shape().rows; }
  static index_t t_units(const E& e) { return e.logical_shape().cols; }

  /// Calls f(k, slot) for the slots of row r in groups [g0, g1) that lie inside K.
  template <class F>
  STCO_ALWAYS_INLINE static void row_slots_in(const E& e, index_t r, index_t g0, index_t g1,
                                              F&& f) {
    constexpr int bits = E::bits;
    const std::uint32_t* words = e.offsets().words().data();
    const index_t K = e.logical_shape().cols, G = e.groups();
    const index_t full = std::min(g1, K / M);  // groups with M real positions
    index_t p = (r * G + g0) * N;
    auto off = [&](index_t q) -> index_t {
      if constexpr (32 % bits == 0) {
        return (words[q * bits >> 5] >> ((q * bits) & 31)) & ((1u << bits) - 1u);
      } else {
        return e.offset(q);
      }
    };
    index_t g = g0;
    for (; g < full; ++g)
      for (int j = 0; j < N; ++j, ++p) f(g * M + off(p), p);
    for (; g < g1; ++g)
      for (int j = 0; j < N; ++j, ++p) {
        const index_t k = g * M + off(p);
        if (k < K) f(k, p);
      }
  }

  template <class C>
  static void forward(const E& e, const C* vals, const C* B, index_t ldb, C* acc, index_t u0,
                      index_t u1) {
    constexpr index_t CH = chunk_cols<C>;
    constexpr index_t gb = k_block<C> / M > 0 ? k_block<C> / M : 1;  // groups per cache block
    constexpr int bits = E::bits;
    const index_t G = e.groups(), K = e.logical_shape().cols;
    const index_t full = K / M;  // groups with M real positions
    const std::uint32_t* words = e.offsets().words().data();
    for (index_t g0 = 0; g0 < G; g0 += gb) {
      const index_t g1 = std::min(G, g0 + gb), gf = std::min(g1, full);
      for (index_t r = u0; r < u1; ++r)
        row_accumulate(acc + r * CH, B, ldb, [&](auto&& emit) {
          index_t p = (r * G + g0) * N;
          index_t g = g0;
          if constexpr (32 % bits == 0 && N % 2 == 0) {
            // Two slots per step: independent FMA chains; offsets decoded from the packed word.
            for (; g < gf; ++g)
              for (int j = 0; j < N; j += 2, p += 2) {
                const std::uint32_t w = words[(p * bits) >> 5] >> ((p * bits) & 31);
                emit(g * M + (w & ((1u << bits) - 1u)), vals[p],
                     g * M + ((w >> bits) & ((1u << bits) - 1u)), vals[p + 1]);
              }
          }
          row_slots_in(e, r, g, g1, [&](index_t k, index_t q) { emit(k, vals[q]); });
        });
    }
  }

  /// dW at the kept slots of rows [u0, u1), blocked over K so the B rows of a block stay in L1
  /// while every row of the range takes its dot products with them.
  template <class C>
  static void sampled(const E& e, const C* G, index_t ldg, const C* B, index_t ldb, index_t n,
                      C* dvals, index_t u0, index_t u1) {
    const index_t Gs = e.groups();
    // Groups per k-block: the block's B rows (n values each) fill about 16 KiB of L1.
    const index_t gb = std::max<index_t>(1, 16384 / (n * static_cast<index_t>(sizeof(C))) / M);
    for (index_t g0 = 0; g0 < Gs; g0 += gb) {
      const index_t g1 = std::min(Gs, g0 + gb);
      for (index_t r = u0; r < u1; ++r) {
        const C* g = G + r * ldg;
        C* outs[4];
        const C* brows[4];
        int q = 0;
        row_slots_in(e, r, g0, g1, [&](index_t k, index_t p) {
          outs[q] = dvals + p;
          brows[q++] = B + k * ldb;
          if (q == 4) {
            dots_with(g, brows, outs, q, n);
            q = 0;
          }
        });
        if (q) dots_with(g, brows, outs, q, n);
      }
    }
  }

 private:
  /// out[i] += dot(g, b[i]) for i < count ≤ 4: one load of g feeds up to four FMAs.
  template <class C>
  static void dots_with(const C* g, const C* const* b, C* const* out, int count, index_t n) {
    using S = simd<C>;
    constexpr int W = S::width;
    if (count == 4) {
      // Two accumulators per slot (8 FMA chains), as multi_dot.
      typename S::type a[4] = {S::zero(), S::zero(), S::zero(), S::zero()};
      typename S::type c[4] = {S::zero(), S::zero(), S::zero(), S::zero()};
      index_t q = 0;
      for (; q + 2 * W <= n; q += 2 * W) {
        const auto g0 = S::load(g + q), g1 = S::load(g + q + W);
        for (int i = 0; i < 4; ++i) {
          a[i] += g0 * S::load(b[i] + q);
          c[i] += g1 * S::load(b[i] + q + W);
        }
      }
      if (q < n) {
        const auto g0 = S::load(g + q);
        for (int i = 0; i < 4; ++i) a[i] += g0 * S::load(b[i] + q);
      }
      for (int i = 0; i < 4; ++i) a[i] += c[i];
      hsum4_add<C>(a, out);
      return;
    }
    for (int i = 0; i < count; ++i) {
      const C* gr = g;
      multi_dot<1>(out + i, &gr, b[i], n);
    }
  }
};

}  // namespace stco::kernel::cpu
