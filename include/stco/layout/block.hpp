// stco/layout/block.hpp — block sparsity: BR×BC blocks of the matrix are kept whole or removed.
//
// Storage. R is padded to Rb = ⌈R/BR⌉ block-rows and K to Kb = ⌈K/BC⌉ block-columns. The entity
// is block-sparse-row: a pointer array over block-rows (Rb + 1 entries) and, per block-row, the
// increasing list of kept block-columns. Values are [nnzb, BR·BC]: block b's elements row-major at
// b·BR·BC. Positions of edge blocks beyond R or K are padding and hold zero.
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

template <int BR, int BC>
struct block;

/// Index entity of block<BR,BC>: block-row pointers and kept block-columns.
template <int BR, int BC>
class block_entity final : public index_entity {
 public:
  using layout_type = block<BR, BC>;

  /// Adopts the lists and validates them (index_error if bad).
  block_entity(matrix_shape logical, index_list row_ptr, index_list block_cols)
      : index_entity(logical, layout_type::name()),
        row_ptr_(std::move(row_ptr)),
        cols_(std::move(block_cols)) {
    check();
  }
  /// From plain vectors (as loaded from outside); widths are chosen to fit.
  static std::shared_ptr<const block_entity> from_parts(matrix_shape logical,
                                                        const std::vector<index_t>& row_ptr,
                                                        const std::vector<index_t>& block_cols) {
    return std::make_shared<const block_entity>(
        logical,
        index_list::from(row_ptr, static_cast<index_t>(block_cols.size()), "block-row pointer"),
        index_list::from(block_cols, std::max<index_t>(ceil_div(logical.cols, BC), 0),
                         "block-column"));
  }

  index_t block_rows() const noexcept { return ceil_div(logical_shape().rows, BR); }
  index_t block_cols() const noexcept { return ceil_div(logical_shape().cols, BC); }
  index_t blocks() const noexcept { return cols_.size(); }
  const index_list& row_ptr() const noexcept { return row_ptr_; }
  const index_list& col_index() const noexcept { return cols_; }

  matrix_shape compressed_shape() const override { return {blocks(), index_t{BR} * BC}; }
  std::size_t index_bytes() const override { return row_ptr_.bytes() + cols_.bytes(); }
  index_t kept() const override { return kept_; }

  void check() const {
    const matrix_shape s = logical_shape();
    if (s.rows < 0 || s.cols < 0)
      throw index_error(detail::message(layout_type::name(), ": negative shape ", s));
    detail::check_segmented(layout_type::name(), "block-row", "block-column", row_ptr_, cols_,
                            block_rows(), block_cols());
    detail::checked_mul<index_error>(blocks(), index_t{BR} * BC,
                                     (layout_type::name() + ": stored values").c_str());
    index_t kept = 0;
    for (index_t br = 0; br < block_rows(); ++br)
      for (index_t p = row_ptr_[br]; p < row_ptr_[br + 1]; ++p)
        kept += (std::min<index_t>(BR, s.rows - br * BR)) *
                (std::min<index_t>(BC, s.cols - cols_[p] * BC));
    kept_ = kept;
  }

 private:
  index_list row_ptr_, cols_;
  mutable index_t kept_ = 0;
};

/// BR×BC block sparsity; `sparsity` is the share of blocks removed (over ⌈R/BR⌉·⌈K/BC⌉ blocks).
template <int BR, int BC>
struct block {
  static_assert(BR >= 1 && BC >= 1, "stco::block<BR, BC>: block extents must be positive");

  using entity = block_entity<BR, BC>;
  static constexpr int block_rows = BR, block_cols = BC;
  static std::string name() { return detail::message("block<", BR, ",", BC, ">"); }
  static constexpr double default_sparsity = 0.5, min_sparsity = 0.0, max_sparsity = 1.0;

  static constexpr matrix_shape compressed_shape(matrix_shape logical,
                                                 double sparsity = default_sparsity) {
    return {kept_count(detail::checked_mul(ceil_div(logical.rows, BR), ceil_div(logical.cols, BC),
                                           "stco::block::compressed_shape"),
                       sparsity),
            index_t{BR} * BC};
  }

  /// Keeps the blocks with the largest summed score, over the whole matrix.
  static std::shared_ptr<const entity> select(matrix_view<const double> scores, double sparsity) {
    const matrix_shape s = scores.shape();
    const index_t Rb = ceil_div(s.rows, BR), Kb = ceil_div(s.cols, BC);
    std::vector<double> bs(static_cast<std::size_t>(Rb * Kb), 0.0);
    for (index_t r = 0; s.cols > 0 && r < s.rows; ++r)
      for (index_t c = 0; c < s.cols; ++c) bs[(r / BR) * Kb + c / BC] += scores(r, c);
    const auto keep =
        detail::top_k(Rb * Kb, kept_count(Rb * Kb, sparsity), [&](index_t b) { return bs[b]; });
    return build(s, keep, Kb);
  }

  template <class T>
  static std::shared_ptr<const entity> infer(matrix_view<const T> w) {
    const matrix_shape s = w.shape();
    const index_t Rb = ceil_div(s.rows, BR), Kb = ceil_div(s.cols, BC);
    std::vector<unsigned char> nz(static_cast<std::size_t>(Rb * Kb), 0);
    for (index_t r = 0; s.cols > 0 && r < s.rows; ++r)
      for (index_t c = 0; c < s.cols; ++c)
        if (is_nonzero(w(r, c))) nz[(r / BR) * Kb + c / BC] = 1;
    std::vector<index_t> keep;
    for (index_t b = 0; b < Rb * Kb; ++b)
      if (nz[b]) keep.push_back(b);
    return build(s, keep, Kb);
  }

  template <class F>
  static void for_each_slot(const entity& e, F&& f) {
    const auto& ptr = e.row_ptr();
    const auto& bc = e.col_index();
    for (index_t br = 0; br < e.block_rows(); ++br)
      for (index_t p = ptr[br]; p < ptr[br + 1]; ++p) {
        const index_t c0 = bc[p] * BC;
        for (index_t i = 0; i < BR; ++i)
          for (index_t j = 0; j < BC; ++j) f((p * BR + i) * BC + j, br * BR + i, c0 + j);
      }
  }

  static std::string locate(const entity&, index_t row, index_t col) {
    const index_t br = row / BR, bc = col / BC;
    return detail::message("block (", br, ", ", bc, ") (rows ", br * BR, "..", br * BR + BR - 1,
                           ", columns ", bc * BC, "..", bc * BC + BC - 1, ")");
  }

  static void validate(const entity& e) { e.check(); }

 private:
  /// `keep` holds increasing linear block ids br·Kb + bc.
  static std::shared_ptr<const entity> build(matrix_shape s, const std::vector<index_t>& keep,
                                             index_t Kb) {
    const index_t Rb = ceil_div(s.rows, BR);
    std::vector<index_t> ptr(static_cast<std::size_t>(Rb + 1), 0), cols;
    cols.reserve(keep.size());
    for (index_t b : keep) {
      ++ptr[b / Kb + 1];
      cols.push_back(b % Kb);
    }
    for (index_t i = 0; i < Rb; ++i) ptr[i + 1] += ptr[i];
    return entity::from_parts(s, ptr, cols);
  }
};

}  // namespace stco
