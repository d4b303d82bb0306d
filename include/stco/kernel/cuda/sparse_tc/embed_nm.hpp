// stco/kernel/cuda/sparse_tc/embed_nm.hpp — the host side of running N:M masks on the 2:4 sparse
// tensor cores (sparse_tc/embed_nm.cuh): which masks fit, and the 2:4 entities that hold them.
//
// One term (embed_entity): every aligned quad of K keeps at most two positions — N ≤ 2 with
// M % 4 == 0 (a group covers whole quads), and 1:2 (a quad covers two groups of one). Each quad of
// the 2:4 entity keeps the positions the N:M mask keeps there, padded to two with the lowest
// positions it drops (stored zeros).
//
// Two terms (split_entity, every other N:M mask): a quad keeps at most four positions, so
// W = Wa + Wb with Wa the two lowest kept positions of each quad and Wb the rest, both 2:4 (the
// design's structured decomposition, exact here). The two terms sit side by side in one 2:4 entity
// of shape [R, 8·⌈K/4⌉] — Wa in quads [0, ⌈K/4⌉), Wb in the next ⌈K/4⌉ — so one GEMM over the
// stacked activations [X; X] (each padded to 4·⌈K/4⌉ rows with zeros) computes W·X. Padding always
// takes positions the N:M mask does not keep, so no kept position is stored twice.
#pragma once

#include <memory>
#include <vector>

#include "stco/core/error.hpp"
#include "stco/core/index.hpp"
#include "stco/layout/nm.hpp"

namespace stco::cuda::sparse_tc {

namespace embed_detail {
/// The positions `e` keeps in each aligned quad of row r, as 4-bit sets (columns past the last
/// quad, which only padding slots of a ragged group point at, are left out).
template <int N, int M>
std::vector<unsigned> kept_quads(const nm_entity<N, M>& e, index_t r) {
  const index_t G = e.groups(), G4 = ceil_div(e.logical_shape().cols, index_t{4});
  std::vector<unsigned> kept(static_cast<std::size_t>(G4), 0u);
  for (index_t g = 0; g < G; ++g)
    for (int j = 0; j < N; ++j) {
      const index_t c = g * M + static_cast<index_t>(e.offset((r * G + g) * N + j));
      if (c / 4 < G4) kept[static_cast<std::size_t>(c / 4)] |= 1u << (c % 4);
    }
  return kept;
}
}  // namespace embed_detail

/// Whether every aligned quad of an N:M mask keeps at most two positions (so it embeds in 2:4).
template <int N, int M>
inline constexpr bool embeds_in_24 =
    !(N == 2 && M == 4) && ((N <= 2 && M % 4 == 0) || (N == 1 && M == 2));

/// The 2:4 entity holding the same kept positions as `e` (padded to two per quad with positions
/// it drops). index_error if a quad keeps more than two (a malformed entity).
template <int N, int M>
std::shared_ptr<const nm_entity<2, 4>> embed_entity(const nm_entity<N, M>& e) {
  static_assert(embeds_in_24<N, M>, "embed_entity: the N:M mask does not fit 2:4");
  const matrix_shape s = e.logical_shape();
  const index_t G4 = ceil_div(s.cols, index_t{4});
  packed_bits out(s.rows * G4 * 2, 2);
  for (index_t r = 0; r < s.rows; ++r) {
    const auto used = embed_detail::kept_quads(e, r);
    for (index_t q = 0; q < G4; ++q) {
      unsigned set = used[static_cast<std::size_t>(q)];
      // Padding: the lowest free positions (below K wherever the quad has two real positions).
      for (unsigned o = 0; o < 4 && __builtin_popcount(set) < 2; ++o) set |= 1u << o;
      if (__builtin_popcount(set) != 2)
        throw index_error(stco::detail::message("stco::cuda::sparse_tc::embed_entity: row ", r,
                                                ", quad ", q, " keeps more than two positions"));
      const unsigned lo = static_cast<unsigned>(__builtin_ctz(set));
      const unsigned hi = static_cast<unsigned>(31 - __builtin_clz(set));
      out.set((r * G4 + q) * 2, lo);
      out.set((r * G4 + q) * 2 + 1, hi);
    }
  }
  return std::make_shared<const nm_entity<2, 4>>(s, std::move(out));
}

/// Whether an N:M mask runs as two 2:4 terms (every N:M mask that embeds_in_24 does not cover).
template <int N, int M>
inline constexpr bool splits_in_24 = !(N == 2 && M == 4) && !embeds_in_24<N, M>;

/// How many 2:4 terms hold an N:M mask (1: embed_entity, 2: split_entity).
template <int N, int M>
inline constexpr int terms_24 = embeds_in_24<N, M> ? 1 : 2;

/// The two-term 2:4 entity of `e` ([R, 8·⌈K/4⌉], see above).
template <int N, int M>
std::shared_ptr<const nm_entity<2, 4>> split_entity(const nm_entity<N, M>& e) {
  const matrix_shape s = e.logical_shape();
  const index_t G4 = ceil_div(s.cols, index_t{4}), Gs = 2 * G4;
  packed_bits out(s.rows * Gs * 2, 2);
  // Two slots of `set`'s lowest positions, padded with the lowest positions outside `kept`.
  const auto put = [&out](index_t slot, unsigned set, unsigned kept) {
    for (unsigned o = 0; o < 4 && __builtin_popcount(set) < 2; ++o)
      if (!(kept & (1u << o))) set |= 1u << o;
    out.set(slot, static_cast<unsigned>(__builtin_ctz(set)));
    out.set(slot + 1, static_cast<unsigned>(31 - __builtin_clz(set)));
  };
  for (index_t r = 0; r < s.rows; ++r) {
    const auto kept = embed_detail::kept_quads(e, r);
    for (index_t q = 0; q < G4; ++q) {
      const unsigned k = kept[static_cast<std::size_t>(q)];
      unsigned a = 0;  // the two lowest kept positions
      for (unsigned o = 0; o < 4 && __builtin_popcount(a) < 2; ++o) a |= k & (1u << o);
      put((r * Gs + q) * 2, a, k);
      put((r * Gs + G4 + q) * 2, k & ~a, k);
    }
  }
  return std::make_shared<const nm_entity<2, 4>>(matrix_shape{s.rows, 8 * G4}, std::move(out));
}

}  // namespace stco::cuda::sparse_tc
