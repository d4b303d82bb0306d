// stco/kernel/cuda/sparse_tc/transposable.hpp — transposable 2:4 masks: every aligned 4×4 block
// keeps at most 2 per row and at most 2 per column, so Wᵀ is 2:4 too and dX = Wᵀ·dZ also runs on
// sparse tensor cores (the transposed traversal of AC flow, for nm<2,4>).
//
// - is_transposable(e): the check.
// - prune_transposable(scores): magnitude selection restricted to transposable masks (per 4×4
//   block, the best of the 90 patterns with exactly two per row and column; ragged row blocks
//   take the best pattern with two per row and at most two per column).
// - transposed(e): the entity of Wᵀ [K, R] (derived once, cached in e). In each group of 4 rows
//   of column k, the slots hold the kept rows in increasing order; a group with fewer than two
//   kept rows fills its free slots with the lowest free real rows (their values are zero).
// - transpose_values(e, v): Wᵀ's values from W's (host; the device does the same per step).
// - prune_transposable_weight(w): magnitude pruning of a dense weight to a transposable mask,
//   the user's way in: the CUDA expressions (stco::grad(...).wrt(X)) detect a transposable
//   entity once and then run dX on the sparse tensor cores; a plain stco::prune<nm<2, 4>> mask
//   (almost never transposable) runs dX densely on a per-call decompressed Wᵀ instead.
//
//     // a transposable nm<2,4> sparse_matrix:
//     auto W = stco::cuda::sparse_tc::prune_transposable_weight(W_dense);
//     auto Wd = stco::cuda::device_sparse_matrix<half, stco::nm<2, 4>>::from_host(W, s);
#pragma once

#include <array>
#include <cmath>
#include <memory>
#include <vector>

#include "stco/core/error.hpp"
#include "stco/core/tensor.hpp"
#include "stco/core/tensor_view.hpp"
#include "stco/core/value_traits.hpp"
#include "stco/layout/gather.hpp"
#include "stco/layout/nm.hpp"

namespace stco::cuda::sparse_tc {

namespace detail {
/// The 6 ways to keep 2 of 4: offsets (a, b), a < b.
inline constexpr std::array<std::array<unsigned, 2>, 6> pairs{
    {{{0, 1}}, {{0, 2}}, {{0, 3}}, {{1, 2}}, {{1, 3}}, {{2, 3}}}};

/// The 90 4×4 patterns with two kept per row and per column, as 4 pair indices (one per row).
inline const std::vector<std::array<unsigned char, 4>>& full_patterns() {
  static const std::vector<std::array<unsigned char, 4>> list = [] {
    std::vector<std::array<unsigned char, 4>> l;
    for (unsigned a = 0; a < 6; ++a)
      for (unsigned b = 0; b < 6; ++b)
        for (unsigned c = 0; c < 6; ++c)
          for (unsigned d = 0; d < 6; ++d) {
            int col[4] = {0, 0, 0, 0};
            for (unsigned p : {a, b, c, d}) ++col[pairs[p][0]], ++col[pairs[p][1]];
            if (col[0] == 2 && col[1] == 2 && col[2] == 2 && col[3] == 2)
              l.push_back({static_cast<unsigned char>(a), static_cast<unsigned char>(b),
                           static_cast<unsigned char>(c), static_cast<unsigned char>(d)});
          }
    return l;
  }();
  return list;
}

/// Bit j set where row j (of the 4-row group gr) keeps column k. Slots pointing past K are
/// padding, not kept.
inline unsigned kept_rows(const nm_entity<2, 4>& e, index_t gr, index_t k) {
  const index_t R = e.logical_shape().rows, G = e.groups(), g = k / 4;
  const unsigned o = static_cast<unsigned>(k % 4);
  unsigned m = 0;
  for (index_t j = 0; j < 4 && gr * 4 + j < R; ++j) {
    const index_t slot = ((gr * 4 + j) * G + g) * 2;
    if (e.offset(slot) == o || e.offset(slot + 1) == o) m |= 1u << j;
  }
  return m;
}

inline int popcount4(unsigned m) {
  return int(m & 1u) + int((m >> 1) & 1u) + int((m >> 2) & 1u) + int((m >> 3) & 1u);
}
}  // namespace detail

/// True where every aligned 4-row group keeps at most two entries of each column.
inline bool is_transposable(const nm_entity<2, 4>& e) {
  const matrix_shape s = e.logical_shape();
  for (index_t gr = 0; gr * 4 < s.rows; ++gr)
    for (index_t k = 0; k < s.cols; ++k)
      if (detail::popcount4(detail::kept_rows(e, gr, k)) > 2) return false;
  return true;
}

/// A transposable nm<2,4> entity keeping, per 4×4 block, the largest Σ|score|. K must be a
/// multiple of 4 (a ragged last group keeps all its real columns in every row, so no column
/// bound can hold). Throws argument_error on a NaN score, shape_error on such K.
inline std::shared_ptr<const nm_entity<2, 4>> prune_transposable(matrix_view<const double> scores) {
  const matrix_shape s = scores.shape();
  if (s.cols % 4 != 0)
    throw shape_error(::stco::detail::message("stco::cuda::sparse_tc::prune_transposable: scores ",
                                              s, ": K = ", s.cols, " is not a multiple of 4"));
  const index_t G = s.cols / 4;
  packed_bits off(s.rows * G * 2, 2);
  const auto& full = detail::full_patterns();
  for (index_t gr = 0; gr * 4 < s.rows; ++gr) {
    const index_t rows = std::min<index_t>(4, s.rows - gr * 4);
    for (index_t g = 0; g < G; ++g) {
      double pair_score[4][6] = {};
      for (index_t j = 0; j < rows; ++j)
        for (unsigned p = 0; p < 6; ++p) {
          const double a = scores(gr * 4 + j, g * 4 + detail::pairs[p][0]);
          const double b = scores(gr * 4 + j, g * 4 + detail::pairs[p][1]);
          if (std::isnan(a) || std::isnan(b))
            throw argument_error(::stco::detail::message(
                "stco::cuda::sparse_tc::prune_transposable: NaN score in row ", gr * 4 + j,
                ", group ", g));
          pair_score[j][p] = std::fabs(a) + std::fabs(b);
        }
      unsigned best[4] = {0, 0, 0, 0};
      double best_score = -1;
      if (rows == 4) {
        for (const auto& pat : full) {
          const double v = pair_score[0][pat[0]] + pair_score[1][pat[1]] + pair_score[2][pat[2]] +
                           pair_score[3][pat[3]];
          if (v > best_score)
            best_score = v, best[0] = pat[0], best[1] = pat[1], best[2] = pat[2], best[3] = pat[3];
        }
      } else {
        index_t combos = 1;
        for (index_t j = 0; j < rows; ++j) combos *= 6;
        for (index_t c = 0; c < combos; ++c) {
          unsigned pick[4] = {0, 0, 0, 0};
          int col[4] = {0, 0, 0, 0};
          index_t rest = c;
          double v = 0;
          for (index_t j = 0; j < rows; ++j, rest /= 6) {
            pick[j] = static_cast<unsigned>(rest % 6);
            ++col[detail::pairs[pick[j]][0]], ++col[detail::pairs[pick[j]][1]];
            v += pair_score[j][pick[j]];
          }
          if (col[0] > 2 || col[1] > 2 || col[2] > 2 || col[3] > 2) continue;
          if (v > best_score) best_score = v, std::copy(pick, pick + 4, best);
        }
      }
      for (index_t j = 0; j < rows; ++j) {
        const index_t slot = ((gr * 4 + j) * G + g) * 2;
        off.set(slot, detail::pairs[best[j]][0]);
        off.set(slot + 1, detail::pairs[best[j]][1]);
      }
    }
  }
  return std::make_shared<const nm_entity<2, 4>>(s, std::move(off));
}

/// The dense weight `w` ([R, K], a tensor or view; K a multiple of 4) pruned by magnitude to a
/// transposable 2:4 mask (prune_transposable on |w|): an nm<2,4> sparse_matrix whose dX runs on
/// the sparse tensor cores in the CUDA expressions. Throws as prune_transposable.
template <class W>
auto prune_transposable_weight(const W& w) {
  const auto v = ::stco::detail::as_const_matrix(w);
  using T = typename decltype(v)::value_type;
  std::vector<double> a(static_cast<std::size_t>(v.size()));
  for (index_t i = 0; i < v.size(); ++i) a[static_cast<std::size_t>(i)] = to_double(v[i]);
  const matrix_view<const double> scores(a.data(), dextents<2>(v.extent(0), v.extent(1)));
  return gather<T>(v, prune_transposable(scores));
}

/// The cached entity of Wᵀ (derived map of W's entity).
struct transposed_entity {
  std::shared_ptr<const nm_entity<2, 4>> entity;
};

/// Builds Wᵀ's entity; shape_error if `e` is not transposable (naming the first bad column).
inline transposed_entity build_transposed(const nm_entity<2, 4>& e) {
  const matrix_shape s = e.logical_shape();
  const index_t Gt = ceil_div(s.rows, index_t{4});
  packed_bits off(s.cols * Gt * 2, 2);
  for (index_t k = 0; k < s.cols; ++k)
    for (index_t gr = 0; gr < Gt; ++gr) {
      const unsigned m = detail::kept_rows(e, gr, k);
      if (detail::popcount4(m) > 2)
        throw shape_error(::stco::detail::message("stco::cuda::sparse_tc::transposed: W ", s,
                                                  " is not transposable: column ", k, " keeps ",
                                                  detail::popcount4(m), " of rows ", gr * 4, "..",
                                                  std::min<index_t>(gr * 4 + 4, s.rows) - 1));
      const int real = static_cast<int>(std::min<index_t>(4, s.rows - gr * 4));
      unsigned chosen = m;
      for (int j = 0; j < 4 && detail::popcount4(chosen) < 2; ++j)
        if (!(chosen & (1u << j)) && (j < real || real < 2)) chosen |= 1u << j;
      unsigned o[2], n = 0;
      for (unsigned j = 0; j < 4; ++j)
        if (chosen & (1u << j)) o[n++] = j;
      off.set((k * Gt + gr) * 2, o[0]);
      off.set((k * Gt + gr) * 2 + 1, o[1]);
    }
  return {std::make_shared<const nm_entity<2, 4>>(matrix_shape{s.cols, s.rows}, std::move(off))};
}

/// Wᵀ's entity, built on first request and cached inside `e`.
inline const std::shared_ptr<const nm_entity<2, 4>>& transposed(const nm_entity<2, 4>& e) {
  return e
      .derived<transposed_entity>([](const index_entity& b) {
        return build_transposed(static_cast<const nm_entity<2, 4>&>(b));
      })
      .entity;
}

/// Wᵀ's values ([K, 2·⌈R/4⌉]) from W's ([R, 2·⌈K/4⌉]) over entity `e` (host reference of the
/// device gather).
template <class T>
std::vector<T> transpose_values(const nm_entity<2, 4>& e, const T* w) {
  const auto& t = *transposed(e);
  const matrix_shape s = e.logical_shape();
  const index_t G = e.groups(), Gt = t.groups();
  std::vector<T> out(static_cast<std::size_t>(s.cols * Gt * 2), from_double<T>(0.0));
  for (index_t k = 0; k < s.cols; ++k)
    for (index_t gr = 0; gr < Gt; ++gr)
      for (index_t sl = 0; sl < 2; ++sl) {
        const index_t r = gr * 4 + t.offset((k * Gt + gr) * 2 + sl);
        if (r >= s.rows) continue;
        const index_t src = (r * G + k / 4) * 2;
        const unsigned o = static_cast<unsigned>(k % 4);
        if (e.offset(src) == o)
          out[(k * Gt + gr) * 2 + sl] = w[src];
        else if (e.offset(src + 1) == o)
          out[(k * Gt + gr) * 2 + sl] = w[src + 1];
      }
  return out;
}

}  // namespace stco::cuda::sparse_tc
