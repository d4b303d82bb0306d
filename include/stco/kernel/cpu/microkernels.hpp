// stco/kernel/cpu/microkernels.hpp — the register-tiled inner loops every CPU layout kernel is
// built from. Each works on a chunk of chunk_cols<C> columns held in panel_vectors registers per
// row; the layout kernels only decide which rows and values feed them.
//
//   row_accumulate         one output row += Σ v·B[k]         (N:M, CSR: each row its own k list)
//   shared_accumulate<RB>  RB output rows += V·B[ks]           (tiles, blocks, dense rows: one k
//                                                               list shared by RB rows, so each
//                                                               loaded B row feeds RB FMAs)
//   multi_dot<RB>          RB dot products of one B row        (the sampled product dW)
#pragma once

#include <type_traits>
#include <utility>

#include "stco/core/index.hpp"
#include "stco/kernel/cpu/simd.hpp"

#if defined(__GNUC__) || defined(__clang__)
#define STCO_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define STCO_ALWAYS_INLINE inline
#endif

namespace stco::kernel::cpu {

/// Keeps v in a register: without it GCC folds each use of a loaded B vector into its own memory
/// operand, and the RB-fold reuse the register tile exists for turns into RB loads.
template <class V>
STCO_ALWAYS_INLINE void in_register(V& v) {
#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__))
  asm("" : "+v"(v));
#else
  (void)v;
#endif
}

/// acc[0, chunk) += Σ over each(emit) of v·B[k·ldb, +chunk). `each` calls emit(k, v) per term,
/// or emit(k0, v0, k1, v1) for two terms: pairs go to two accumulator sets, so eight independent
/// FMA chains hide the FMA latency (one set alone would stall on it every term).
template <class C, class Each>
STCO_ALWAYS_INLINE void row_accumulate(C* acc, const C* B, index_t ldb, Each&& each) {
  using S = simd<C>;
  using V = typename S::type;
  constexpr int W = S::width, P = panel_vectors;
  V a[P], c[P];
  for (int q = 0; q < P; ++q) a[q] = S::load(acc + q * W), c[q] = S::zero();
  struct emitter {
    V (&a)[P];
    V (&c)[P];
    const C* B;
    index_t ldb;
    STCO_ALWAYS_INLINE void operator()(index_t k, C v) const {
      const C* b = B + k * ldb;
      const V bv = S::set1(v);
      for (int q = 0; q < P; ++q) a[q] += bv * S::load(b + q * W);
    }
    STCO_ALWAYS_INLINE void operator()(index_t k, C v, index_t k2, C v2) const {
      rows(B + k * ldb, v, B + k2 * ldb, v2);
    }
    /// Two terms given by their B row pointers.
    STCO_ALWAYS_INLINE void rows(const C* b, C v, const C* d, C v2) const {
      const V bv = S::set1(v), dv = S::set1(v2);
      for (int q = 0; q < P; ++q) {
        a[q] += bv * S::load(b + q * W);
        c[q] += dv * S::load(d + q * W);
      }
    }
  };
  each(emitter{a, c, B, ldb});
  for (int q = 0; q < P; ++q) S::store(acc + q * W, a[q] + c[q]);
}

/// acc_rows[i][0, chunk) += Σ v_i·B[k] for i < RB over each(emit): emit(k, vcol) adds row k of B
/// with weights vcol[i·rs] for the RB rows.
template <int RB, class C, class Each>
STCO_ALWAYS_INLINE void shared_accumulate_each(C* const* acc_rows, index_t rs, const C* B,
                                               index_t ldb, Each&& each) {
  using S = simd<C>;
  constexpr int W = S::width, V = panel_vectors;
  typename S::type a[RB][V];
  for (int i = 0; i < RB; ++i)
    for (int q = 0; q < V; ++q) a[i][q] = S::load(acc_rows[i] + q * W);
  each([&](index_t k, const C* vcol) {
    // RB broadcasts, then one B vector at a time: RB·V accumulators + RB + 1 registers (a
    // preloaded B row would not fit beside them and spill).
    const C* b = B + k * ldb;
    typename S::type w[RB];
    for (int i = 0; i < RB; ++i) w[i] = S::set1(vcol[i * rs]);
    for (int q = 0; q < V; ++q) {
      auto bq = S::load(b + q * W);
      in_register(bq);
      for (int i = 0; i < RB; ++i) a[i][q] += w[i] * bq;
    }
  });
  for (int i = 0; i < RB; ++i)
    for (int q = 0; q < V; ++q) S::store(acc_rows[i] + q * W, a[i][q]);
}

/// acc_rows[i][0, chunk) += Σ_j v[i·rs + j·cs] · B[k(j)·ldb, +chunk) for i < RB, j < count.
template <int RB, class C, class KOf>
STCO_ALWAYS_INLINE void shared_accumulate(C* const* acc_rows, const C* v, index_t rs, index_t cs,
                                          index_t count, const C* B, index_t ldb, KOf&& k_of) {
  shared_accumulate_each<RB>(acc_rows, rs, B, ldb, [&](auto&& emit) {
    for (index_t j = 0; j < count; ++j) emit(k_of(j), v + j * cs);
  });
}

/// shared_accumulate_each for any row count: register tiles of tile_rows, then the remainder.
/// `each(emit, i0)` must emit the value columns offset to row i0.
template <class C, class Each>
inline void shared_accumulate_rows_each(C* const* acc_rows, index_t rows, index_t rs, const C* B,
                                        index_t ldb, Each&& each) {
  index_t i = 0;
  auto part = [&](auto rb) {
    constexpr int RB = decltype(rb)::value;
    shared_accumulate_each<RB>(acc_rows + i, rs, B, ldb, [&](auto&& emit) { each(emit, i); });
    i += RB;
  };
  while (i + tile_rows <= rows) part(std::integral_constant<int, tile_rows>{});
  switch (rows - i) {
    case 5:
      if constexpr (tile_rows > 5) part(std::integral_constant<int, 5>{});
      break;
    case 4:
      if constexpr (tile_rows > 4) part(std::integral_constant<int, 4>{});
      break;
    case 3:
      if constexpr (tile_rows > 3) part(std::integral_constant<int, 3>{});
      break;
    case 2:
      part(std::integral_constant<int, 2>{});
      break;
    case 1:
      part(std::integral_constant<int, 1>{});
      break;
    default:
      break;
  }
}

/// shared_accumulate for any row count: tiles of tile_rows, then the remainder.
template <class C, class KOf>
inline void shared_accumulate_rows(C* const* acc_rows, index_t rows, const C* v, index_t rs,
                                   index_t cs, index_t count, const C* B, index_t ldb, KOf&& k_of) {
  index_t i = 0;
  for (; i + tile_rows <= rows; i += tile_rows)
    shared_accumulate<tile_rows>(acc_rows + i, v + i * rs, rs, cs, count, B, ldb, k_of);
  switch (rows - i) {
    case 5:
      if constexpr (tile_rows > 5)
        shared_accumulate<5>(acc_rows + i, v + i * rs, rs, cs, count, B, ldb, k_of);
      break;
    case 4:
      if constexpr (tile_rows > 4)
        shared_accumulate<4>(acc_rows + i, v + i * rs, rs, cs, count, B, ldb, k_of);
      break;
    case 3:
      if constexpr (tile_rows > 3)
        shared_accumulate<3>(acc_rows + i, v + i * rs, rs, cs, count, B, ldb, k_of);
      break;
    case 2:
      shared_accumulate<2>(acc_rows + i, v + i * rs, rs, cs, count, B, ldb, k_of);
      break;
    case 1:
      shared_accumulate<1>(acc_rows + i, v + i * rs, rs, cs, count, B, ldb, k_of);
      break;
    default:
      break;
  }
}

// Not under nvcc: its front end does not expand packs inside __builtin_shufflevector.
#if !defined(__CUDACC__) && (defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12))
#define STCO_HAS_SHUFFLEVECTOR 1
/// Lanes [0, W/2): a[2i] + a[2i+1]; lanes [W/2, W): the same of b (shuffle indices ≥ W name b).
template <class V, std::size_t... I>
STCO_ALWAYS_INLINE V pair_sums(V a, V b, std::index_sequence<I...>) {
  return __builtin_shufflevector(a, b, (2 * I)...) + __builtin_shufflevector(a, b, (2 * I + 1)...);
}
#endif

/// The sum of v's lanes. Halving through shuffles: a lane-by-lane loop compiles to one extract
/// per lane, which made short dot products (dW) cost more in their sums than in their FMAs.
template <class C>
STCO_ALWAYS_INLINE C hsum(typename simd<C>::type v) {
  constexpr int W = simd<C>::width;
#if defined(STCO_HAS_SHUFFLEVECTOR)
  constexpr auto lanes = std::make_index_sequence<W>{};
  for (int k = W; k > 1; k /= 2) v = pair_sums(v, v, lanes);
  return v[0];
#else
  C s = 0;
  for (int i = 0; i < W; ++i) s += v[i];
  return s;
#endif
}

/// out[i] += the lane sum of a[i], i < 4: the four reductions share their shuffles.
template <class C>
STCO_ALWAYS_INLINE void hsum4_add(const typename simd<C>::type (&a)[4], C* const* out) {
#if defined(STCO_HAS_SHUFFLEVECTOR)
  constexpr int W = simd<C>::width;
  if constexpr (W >= 4) {
    constexpr auto lanes = std::make_index_sequence<W>{};
    // After the first two steps lanes [i·W/4, (i+1)·W/4) hold partial sums of a[i].
    auto v = pair_sums(pair_sums(a[0], a[1], lanes), pair_sums(a[2], a[3], lanes), lanes);
    for (int k = W / 4; k > 1; k /= 2) v = pair_sums(v, v, lanes);
    for (int i = 0; i < 4; ++i) *out[i] += v[i];
    return;
  }
#endif
  for (int i = 0; i < 4; ++i) *out[i] += hsum<C>(a[i]);
}

/// out[i] += dot(g_rows[i][0, n), b[0, n)) for i < RB; n is a multiple of the vector width.
/// Two accumulators per dot: 2·RB independent FMA chains cover the FMA latency (RB = 4 with one
/// chain each left the loop latency-bound at half the FMA rate).
template <int RB, class C>
STCO_ALWAYS_INLINE void multi_dot(C* const* out, const C* const* g_rows, const C* b, index_t n) {
  using S = simd<C>;
  constexpr int W = S::width;
  typename S::type a[RB], c[RB];
  for (int i = 0; i < RB; ++i) a[i] = c[i] = S::zero();
  index_t q = 0;
  for (; q + 2 * W <= n; q += 2 * W) {
    const auto b0 = S::load(b + q), b1 = S::load(b + q + W);
    for (int i = 0; i < RB; ++i) {
      a[i] += b0 * S::load(g_rows[i] + q);
      c[i] += b1 * S::load(g_rows[i] + q + W);
    }
  }
  if (q < n) {
    const auto b0 = S::load(b + q);
    for (int i = 0; i < RB; ++i) a[i] += b0 * S::load(g_rows[i] + q);
  }
  for (int i = 0; i < RB; ++i) a[i] += c[i];
  if constexpr (RB == 4)
    hsum4_add<C>(a, out);
  else
    for (int i = 0; i < RB; ++i) *out[i] += hsum<C>(a[i]);
}

/// out[i·rs + j·cs] += dot(g[i][0, n), b[j][0, n)) for i < RB, j < KB: a register tile of RB×KB
/// dot products, RB + KB vector loads per RB·KB FMAs (multi_dot takes RB + 1 per RB, and its G
/// rows came from L2 on every call). n is a multiple of the vector width.
template <int RB, int KB, class C>
STCO_ALWAYS_INLINE void dot_block(C* out, index_t rs, index_t cs, const C* const* g,
                                  const C* const* b, index_t n) {
  using S = simd<C>;
  constexpr int W = S::width;
  typename S::type a[RB][KB];
  for (int i = 0; i < RB; ++i)
    for (int j = 0; j < KB; ++j) a[i][j] = S::zero();
  for (index_t q = 0; q < n; q += W) {
    typename S::type gv[RB];
    for (int i = 0; i < RB; ++i) gv[i] = S::load(g[i] + q);
    for (int j = 0; j < KB; ++j) {
      auto bv = S::load(b[j] + q);
      in_register(bv);
      for (int i = 0; i < RB; ++i) a[i][j] += gv[i] * bv;
    }
  }
  for (int i = 0; i < RB; ++i) {
    if constexpr (KB == 4) {
      C* o[4] = {out + i * rs, out + i * rs + cs, out + i * rs + 2 * cs, out + i * rs + 3 * cs};
      hsum4_add<C>(a[i], o);
    } else {
      for (int j = 0; j < KB; ++j) out[i * rs + j * cs] += hsum<C>(a[i][j]);
    }
  }
}

/// dot_block for any nr ≤ 3 rows of G and nk ≤ 4 rows of B.
template <class C>
inline void dot_tile(C* out, index_t rs, index_t cs, const C* const* g, index_t nr,
                     const C* const* b, index_t nk, index_t n) {
  auto rows = [&](auto rb) {
    constexpr int RB = decltype(rb)::value;
    switch (nk) {
      case 4:
        dot_block<RB, 4>(out, rs, cs, g, b, n);
        break;
      case 3:
        dot_block<RB, 3>(out, rs, cs, g, b, n);
        break;
      case 2:
        dot_block<RB, 2>(out, rs, cs, g, b, n);
        break;
      case 1:
        dot_block<RB, 1>(out, rs, cs, g, b, n);
        break;
      default:
        break;
    }
  };
  switch (nr) {
    case 3:
      rows(std::integral_constant<int, 3>{});
      break;
    case 2:
      rows(std::integral_constant<int, 2>{});
      break;
    case 1:
      rows(std::integral_constant<int, 1>{});
      break;
    default:
      break;
  }
}

/// multi_dot for any count of G rows (groups of 4, then single dots).
template <class C>
inline void multi_dot_rows(C* const* out, const C* const* g_rows, index_t rows, const C* b,
                           index_t n) {
  index_t i = 0;
  for (; i + 4 <= rows; i += 4) multi_dot<4>(out + i, g_rows + i, b, n);
  for (; i < rows; ++i) multi_dot<1>(out + i, g_rows + i, b, n);
}

}  // namespace stco::kernel::cpu
