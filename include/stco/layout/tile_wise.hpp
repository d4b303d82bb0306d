// stco/layout/tile_wise.hpp — tile-wise sparsity: rows grouped in tiles of T; inside a tile whole
// K-columns are kept or pruned together, so each tile is a smaller dense GEMM.
//
// Storage. R is padded to nt = ⌈R/T⌉ tiles. The entity is a pointer array over tiles (nt + 1
// entries) and, per tile, the increasing list of kept K-columns (16- or 32-bit, by K). Values are
// [Σ k_t, T]: tile t's panel is stored k-major — kept column j of the tile, then its T rows — at
// (ptr[t] + j)·T, the packed form a GEMM micro-kernel streams. Rows of the last tile beyond R are
// padding and hold zero.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "stco/core/error.hpp"
#include "stco/core/tensor_view.hpp"
#include "stco/core/value_traits.hpp"
#include "stco/layout/detail/list_checks.hpp"
#include "stco/layout/detail/top_k.hpp"
#include "stco/layout/index_entity.hpp"
#include "stco/layout/index_list.hpp"
#include "stco/layout/layout_contract.hpp"

namespace stco {

namespace detail {
/// Tile pointers and sorted column lists: the index shared by tile_wise and tile_vector.
struct tile_columns {
  index_list ptr, cols;

  static tile_columns from(const std::vector<std::vector<index_t>>& per_tile, index_t K) {
    std::vector<index_t> ptr{0}, cols;
    for (const auto& t : per_tile) {
      cols.insert(cols.end(), t.begin(), t.end());
      ptr.push_back(static_cast<index_t>(cols.size()));
    }
    return {index_list::from(ptr, static_cast<index_t>(cols.size()), "tile pointer"),
            index_list::from(cols, std::max<index_t>(K, 0), "tile column")};
  }
  index_t count(index_t t) const { return ptr[t + 1] - ptr[t]; }
  std::size_t bytes() const { return ptr.bytes() + cols.bytes(); }
};

/// Per tile of `T` rows, the columns with the largest summed score (`keep` per tile).
template <int T>
std::vector<std::vector<index_t>> select_tile_columns(matrix_view<const double> scores,
                                                      index_t keep) {
  const matrix_shape s = scores.shape();
  const index_t nt = ceil_div(s.rows, T);
  std::vector<std::vector<index_t>> out(static_cast<std::size_t>(nt));
  std::vector<double> col(static_cast<std::size_t>(s.cols));
  for (index_t t = 0; t < nt; ++t) {
    std::fill(col.begin(), col.end(), 0.0);
    for (index_t r = t * T; r < std::min<index_t>(s.rows, t * T + T); ++r)
      for (index_t c = 0; c < s.cols; ++c) col[c] += scores(r, c);
    out[t] = top_k(s.cols, keep, [&](index_t c) { return col[c]; });
  }
  return out;
}

/// Per tile of `T` rows, the columns holding any nonzero.
template <int T, class V>
std::vector<std::vector<index_t>> nonzero_tile_columns(matrix_view<const V> w) {
  const matrix_shape s = w.shape();
  const index_t nt = ceil_div(s.rows, T);
  std::vector<std::vector<index_t>> out(static_cast<std::size_t>(nt));
  for (index_t t = 0; t < nt; ++t)
    for (index_t c = 0; c < s.cols; ++c)
      for (index_t r = t * T; r < std::min<index_t>(s.rows, t * T + T); ++r)
        if (is_nonzero(w(r, c))) {
          out[t].push_back(c);
          break;
        }
  return out;
}
}  // namespace detail

template <int T>
struct tile_wise;

/// Index entity of tile_wise<T>: per tile, its kept K-columns.
template <int T>
class tile_wise_entity final : public index_entity {
 public:
  using layout_type = tile_wise<T>;

  tile_wise_entity(matrix_shape logical, detail::tile_columns tc)
      : index_entity(logical, layout_type::name()), tc_(std::move(tc)) {
    check();
  }
  /// From plain vectors (as loaded from outside): tile pointers (tiles + 1) and column lists.
  static std::shared_ptr<const tile_wise_entity> from_parts(matrix_shape logical,
                                                            const std::vector<index_t>& tile_ptr,
                                                            const std::vector<index_t>& cols) {
    return std::make_shared<const tile_wise_entity>(
        logical, detail::tile_columns{
                     index_list::from(tile_ptr, static_cast<index_t>(cols.size()), "tile pointer"),
                     index_list::from(cols, std::max<index_t>(logical.cols, 0), "tile column")});
  }

  index_t tiles() const noexcept { return ceil_div(logical_shape().rows, T); }
  /// Kept columns of tile t.
  index_t tile_count(index_t t) const { return tc_.count(t); }
  const index_list& tile_ptr() const noexcept { return tc_.ptr; }
  const index_list& columns() const noexcept { return tc_.cols; }

  matrix_shape compressed_shape() const override { return {tc_.cols.size(), index_t{T}}; }
  std::size_t index_bytes() const override { return tc_.bytes(); }
  index_t kept() const override { return kept_; }

  void check() const {
    const matrix_shape s = logical_shape();
    if (s.rows < 0 || s.cols < 0)
      throw index_error(detail::message(layout_type::name(), ": negative shape ", s));
    detail::check_segmented(layout_type::name(), "tile", "column", tc_.ptr, tc_.cols, tiles(),
                            s.cols);
    detail::checked_mul<index_error>(tc_.cols.size(), T,
                                     (layout_type::name() + ": stored values").c_str());
    index_t kept = 0;
    for (index_t t = 0; t < tiles(); ++t)
      kept += std::min<index_t>(T, s.rows - t * T) * tc_.count(t);
    kept_ = kept;
  }

 private:
  detail::tile_columns tc_;
  mutable index_t kept_ = 0;
};

/// Tile-wise sparsity with tiles of T rows; `sparsity` is the share of K-columns each tile drops
/// (every tile keeps round(K·(1 − sparsity)) columns, chosen by their summed magnitude in the
/// tile).
template <int T>
struct tile_wise {
  static_assert(T >= 1, "stco::tile_wise<T>: the tile height must be positive");

  using entity = tile_wise_entity<T>;
  static constexpr int tile = T;
  static std::string name() { return detail::message("tile_wise<", T, ">"); }
  static constexpr double default_sparsity = 0.5, min_sparsity = 0.0, max_sparsity = 1.0;

  static constexpr matrix_shape compressed_shape(matrix_shape logical,
                                                 double sparsity = default_sparsity) {
    return {detail::checked_mul(ceil_div(logical.rows, T), kept_count(logical.cols, sparsity),
                                "stco::tile_wise::compressed_shape"),
            index_t{T}};
  }

  static std::shared_ptr<const entity> select(matrix_view<const double> scores, double sparsity) {
    const matrix_shape s = scores.shape();
    return std::make_shared<const entity>(
        s, detail::tile_columns::from(
               detail::select_tile_columns<T>(scores, kept_count(s.cols, sparsity)), s.cols));
  }

  template <class V>
  static std::shared_ptr<const entity> infer(matrix_view<const V> w) {
    return std::make_shared<const entity>(
        w.shape(), detail::tile_columns::from(detail::nonzero_tile_columns<T>(w), w.shape().cols));
  }

  template <class F>
  static void for_each_slot(const entity& e, F&& f) {
    const auto& ptr = e.tile_ptr();
    const auto& cols = e.columns();
    for (index_t t = 0; t < e.tiles(); ++t)
      for (index_t p = ptr[t]; p < ptr[t + 1]; ++p)
        for (index_t r = 0; r < T; ++r) f(p * T + r, t * T + r, cols[p]);
  }

  static std::string locate(const entity&, index_t row, index_t col) {
    const index_t t = row / T;
    return detail::message("tile ", t, " (rows ", t * T, "..", t * T + T - 1, "), column ", col);
  }

  static void validate(const entity& e) { e.check(); }
};

}  // namespace stco
