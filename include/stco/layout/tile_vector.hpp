// stco/layout/tile_vector.hpp — tile-vector-wise sparsity: tile_wise<T> column selection, then
// N:M inside each tile's kept columns, so the kept part runs on the sparse tensor core.
//
// Storage. As tile_wise<T>: a pointer array over ⌈R/T⌉ tiles and each tile's increasing K-column
// list (k_t columns). Those columns, in list order, are the tile's compacted K; it is split into
// G_t = ⌈k_t/M⌉ groups of M, and every row of the tile keeps N per group. Values of tile t are
// [G_t·N, T] slot-major — group g, slot s, then the T rows — at base_t + (g·N + s)·T + r, with
// base_t = Σ_{u<t} G_u·N·T. One ⌈log2 M⌉-bit offset per stored value, in the same order, gives the
// position inside the group. Padding: rows beyond R, and compacted positions ≥ k_t in a tile's
// ragged last group (allowed only where that group has fewer than N real positions); both hold 0.
//
// Index cost: 2 (or 4) bytes per kept tile column plus ⌈log2 M⌉ bits per value. Each tile column
// carries T·N/M kept values, so the entity beats CSR's one index per nonzero only when that is well
// above 1 (tile_vector<32,2,4>: 0.125 B per value; tile_vector<8,1,8>: 2.4 B, more than CSR).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "stco/core/error.hpp"
#include "stco/core/tensor_view.hpp"
#include "stco/core/value_traits.hpp"
#include "stco/layout/detail/nm_group.hpp"
#include "stco/layout/detail/tile_grouping.hpp"
#include "stco/layout/packed_bits.hpp"
#include "stco/layout/tile_wise.hpp"

namespace stco {

template <int T, int N, int M>
struct tile_vector;

/// Index entity of tile_vector<T,N,M>: tile column lists plus packed N:M offsets.
template <int T, int N, int M>
class tile_vector_entity final : public index_entity {
 public:
  using layout_type = tile_vector<T, N, M>;
  static constexpr int bits = offset_bits(M);

  tile_vector_entity(matrix_shape logical, detail::tile_columns tc, packed_bits offsets)
      : index_entity(logical, layout_type::name()),
        tc_(std::move(tc)),
        offsets_(std::move(offsets)) {
    check();
  }
  /// From plain vectors and raw offset words (as loaded from outside).
  static std::shared_ptr<const tile_vector_entity> from_parts(
      matrix_shape logical, const std::vector<index_t>& tile_ptr, const std::vector<index_t>& cols,
      std::vector<std::uint32_t> offset_words) {
    detail::tile_columns tc{
        index_list::from(tile_ptr, static_cast<index_t>(cols.size()), "tile pointer"),
        index_list::from(cols, std::max<index_t>(logical.cols, 0), "tile column")};
    // The offset count follows from the lists; check them first so it is well defined, and
    // compare it with the words given before allocating anything.
    if (logical.rows < 0 || logical.cols < 0)
      throw index_error(detail::message(layout_type::name(), ": negative shape ", logical));
    detail::check_segmented(layout_type::name(), "tile", "column", tc.ptr, tc.cols,
                            ceil_div(logical.rows, T), logical.cols);
    return std::make_shared<const tile_vector_entity>(
        logical, std::move(tc), packed_bits(slot_count(tc), bits, std::move(offset_words)));
  }

  index_t tiles() const noexcept { return ceil_div(logical_shape().rows, T); }
  index_t tile_count(index_t t) const { return tc_.count(t); }
  index_t tile_groups(index_t t) const { return ceil_div(tc_.count(t), M); }
  const index_list& tile_ptr() const noexcept { return tc_.ptr; }
  const index_list& columns() const noexcept { return tc_.cols; }
  const packed_bits& offsets() const noexcept { return offsets_; }
  unsigned offset(index_t slot) const noexcept { return offsets_.get(slot); }

  matrix_shape compressed_shape() const override { return {offsets_.size() / T, index_t{T}}; }
  std::size_t index_bytes() const override { return tc_.bytes() + offsets_.bytes(); }
  index_t kept() const override { return kept_; }

  /// Σ_t ⌈k_t/M⌉·N·T, the stored values of checked tile lists; index_error beyond 2^63 - 1.
  static index_t slot_count(const detail::tile_columns& tc) {
    const std::string what = layout_type::name() + ": stored values";
    index_t count = 0;
    for (index_t t = 0; t + 1 < tc.ptr.size(); ++t)
      count = detail::checked_add<index_error>(
          count,
          detail::checked_mul<index_error>(ceil_div(tc.count(t), M), index_t{N} * T, what.c_str()),
          what.c_str());
    return count;
  }

  void check() const {
    const matrix_shape s = logical_shape();
    const std::string who = layout_type::name();
    if (s.rows < 0 || s.cols < 0) throw index_error(detail::message(who, ": negative shape ", s));
    detail::check_segmented(who, "tile", "column", tc_.ptr, tc_.cols, tiles(), s.cols);
    const index_t count = slot_count(tc_);
    if (offsets_.size() != count || offsets_.bits() != bits)
      throw index_error(detail::message(who, ": ", offsets_.size(), " offsets of ", offsets_.bits(),
                                        " bits; the tile lists need ", count, " of ", bits,
                                        " bits"));
    index_t kept = 0, base = 0;
    for (index_t t = 0; t < tiles(); ++t) {
      const index_t kt = tc_.count(t), G = tile_groups(t);
      for (index_t g = 0; g < G; ++g) {
        const index_t real = std::min<index_t>(M, kt - g * M);
        for (index_t r = 0; r < T; ++r)
          for (int j = 0; j < N; ++j) {
            const unsigned o = offsets_.get(base + (g * N + j) * T + r);
            if (o >= static_cast<unsigned>(M))
              throw index_error(detail::message(who, ": tile ", t, ", row ", t * T + r, ", group ",
                                                g, ", slot ", j, ": offset ", o,
                                                " is not below M = ", M));
            if (j > 0 && o <= offsets_.get(base + (g * N + j - 1) * T + r))
              throw index_error(detail::message(who, ": tile ", t, ", row ", t * T + r, ", group ",
                                                g, ": offsets not strictly increasing at slot ",
                                                j));
            if (static_cast<index_t>(o) >= real && real >= N)
              throw index_error(detail::message(who, ": tile ", t, ", row ", t * T + r, ", group ",
                                                g, ", slot ", j, ": offset ", o,
                                                " points past the tile's ", kt, " kept columns"));
            if (static_cast<index_t>(o) < real && t * T + r < s.rows) ++kept;
          }
      }
      base += G * N * T;
    }
    kept_ = kept;
  }

 private:
  detail::tile_columns tc_;
  packed_bits offsets_;
  mutable index_t kept_ = 0;
};

/// tile_wise<T> then N:M. `sparsity` is the overall share removed, at least 1 − N/M: tiles keep
/// the columns for density (1 − sparsity)·M/N, rounded to a multiple of M, then N:M halves them.
template <int T, int N, int M>
struct tile_vector {
  static_assert(T >= 1, "stco::tile_vector<T, N, M>: the tile height must be positive");
  static_assert(M >= 2 && M <= 16, "stco::tile_vector<T, N, M>: M must be in [2, 16]");
  static_assert(N >= 1 && N < M, "stco::tile_vector<T, N, M>: N must be in [1, M)");

  using entity = tile_vector_entity<T, N, M>;
  static constexpr int tile = T, n = N, m = M;
  static std::string name() { return detail::message("tile_vector<", T, ",", N, ",", M, ">"); }
  static constexpr double min_sparsity = 1.0 - static_cast<double>(N) / M, max_sparsity = 1.0;
  static constexpr double default_sparsity = 1.0 - static_cast<double>(N) / (2 * M);

  /// Kept columns per tile at this overall sparsity.
  static constexpr index_t tile_columns_kept(index_t K, double sparsity) {
    const index_t raw = kept_count(K, 1.0 - (1.0 - sparsity) * M / N);
    // raw rounded to the nearest multiple of M (halves up), at most K; raw + M/2 could overflow.
    const index_t down = raw / M * M;
    if (raw % M < M - M / 2) return down;
    return down <= K - M ? down + M : K;
  }
  static constexpr matrix_shape compressed_shape(matrix_shape logical,
                                                 double sparsity = default_sparsity) {
    return {detail::checked_mul(ceil_div(logical.rows, T),
                                ceil_div(tile_columns_kept(logical.cols, sparsity), M) * N,
                                "stco::tile_vector::compressed_shape"),
            index_t{T}};
  }

  static std::shared_ptr<const entity> select(matrix_view<const double> scores, double sparsity) {
    const matrix_shape s = scores.shape();
    auto cols = detail::select_tile_columns<T>(scores, tile_columns_kept(s.cols, sparsity));
    return build(s, std::move(cols),
                 [&](index_t t, index_t r, const std::vector<index_t>& tc, index_t g, int real) {
                   if (t * T + r >= s.rows)
                     return detail::select_group<N, M>(0, [](int) { return 0.0; });
                   return detail::select_group<N, M>(
                       real, [&](int i) { return scores(t * T + r, tc[g * M + i]); });
                 });
  }

  /// The pattern of w's nonzeros. A tile keeps its nonzero columns plus whatever all-zero columns
  /// make its groups fit N:M (detail/tile_grouping.hpp); pattern_error only if no choice does.
  template <class V>
  static std::shared_ptr<const entity> infer(matrix_view<const V> w) {
    const matrix_shape s = w.shape();
    std::vector<std::vector<index_t>> cols(static_cast<std::size_t>(ceil_div(s.rows, T)));
    for (index_t t = 0; t < static_cast<index_t>(cols.size()); ++t) {
      const index_t r0 = t * T, h = std::min<index_t>(T, s.rows - r0);
      auto g = detail::group_tile_columns<N, M>(
          h, s.cols, [&](index_t r, index_t c) { return is_nonzero(w(r0 + r, c)); });
      if (!g.ok)
        throw pattern_error(detail::message(
            "stco::encode<", name(), ">: tile ", t, " (rows ", r0, "..", r0 + h - 1,
            "): no choice of kept columns fits ", N, ":", M, "; no grouping gets past column ",
            g.stuck_column, " (a group starting there holds more than ", N, " nonzeros of row ",
            r0 + g.row, ", or too few all-zero columns are left to end it sooner)"));
      cols[t] = std::move(g.columns);
    }
    return build(s, std::move(cols),
                 [&](index_t t, index_t r, const std::vector<index_t>& tc, index_t g, int real) {
                   detail::group_offsets<N, M> o{};
                   if (t * T + r >= s.rows)
                     return detail::select_group<N, M>(0, [](int) { return 0.0; });
                   const int nz = detail::infer_group<N, M>(
                       real, [&](int i) { return is_nonzero(w(t * T + r, tc[g * M + i])); }, o);
                   if (nz > N) {
                     std::string list;
                     for (int i = 0; i < real; ++i)
                       list += (i ? "," : "") + std::to_string(tc[g * M + i]);
                     throw pattern_error(detail::message(
                         "stco::encode<", name(), ">: tile ", t, ", row ", t * T + r, ", group ", g,
                         " of the tile's kept columns (columns ", list, ") has ", nz,
                         " nonzeros; the layout keeps at most ", N));
                   }
                   return o;
                 });
  }

  template <class F>
  static void for_each_slot(const entity& e, F&& f) {
    const auto& ptr = e.tile_ptr();
    const auto& cols = e.columns();
    const index_t K = e.logical_shape().cols;
    index_t base = 0;
    for (index_t t = 0; t < e.tiles(); ++t) {
      const index_t kt = ptr[t + 1] - ptr[t], G = ceil_div(kt, M);
      for (index_t g = 0; g < G; ++g)
        for (int j = 0; j < N; ++j)
          for (index_t r = 0; r < T; ++r) {
            const index_t p = base + (g * N + j) * T + r;
            const index_t cc = g * M + e.offset(p);
            f(p, t * T + r, cc < kt ? cols[ptr[t] + cc] : K + cc);  // ≥ K marks padding
          }
      base += G * N * T;
    }
  }

  static std::string locate(const entity& e, index_t row, index_t col) {
    const index_t t = row / T;
    const auto& ptr = e.tile_ptr();
    const auto& cols = e.columns();
    for (index_t p = ptr[t]; p < ptr[t + 1]; ++p)
      if (cols[p] == col)
        return detail::message("tile ", t, " (rows ", t * T, "..", t * T + T - 1, "), row ", row,
                               ", group ", (p - ptr[t]) / M, " of the tile's kept columns");
    return detail::message("tile ", t, " (rows ", t * T, "..", t * T + T - 1, "), column ", col,
                           " (not a kept column of the tile)");
  }

  static void validate(const entity& e) { e.check(); }

 private:
  /// Builds the entity from per-tile column lists and a per (tile, row, group) offset chooser.
  template <class Choose>
  static std::shared_ptr<const entity> build(matrix_shape s, std::vector<std::vector<index_t>> cols,
                                             Choose&& choose) {
    index_t count = 0;
    for (const auto& tc : cols) count += ceil_div(static_cast<index_t>(tc.size()), M) * N * T;
    packed_bits off(count, entity::bits);
    index_t base = 0;
    for (index_t t = 0; t < static_cast<index_t>(cols.size()); ++t) {
      const auto& tc = cols[t];
      const index_t kt = static_cast<index_t>(tc.size()), G = ceil_div(kt, M);
      for (index_t g = 0; g < G; ++g) {
        const int real = static_cast<int>(std::min<index_t>(M, kt - g * M));
        for (index_t r = 0; r < T; ++r) {
          const auto o = choose(t, r, tc, g, real);
          for (int j = 0; j < N; ++j) off.set(base + (g * N + j) * T + r, o[j]);
        }
      }
      base += G * N * T;
    }
    return std::make_shared<const entity>(s, detail::tile_columns::from(cols, s.cols),
                                          std::move(off));
  }
};

}  // namespace stco
