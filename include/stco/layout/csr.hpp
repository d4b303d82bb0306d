// stco/layout/csr.hpp — compressed sparse row: unstructured sparsity, the baseline and TASD input.
//
// Storage. Row pointers (R + 1 entries) and one column per nonzero, increasing within a row
// (16- or 32-bit, by K). Values are [nnz, 1] in the same order. No padding.
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

struct csr;

/// Index entity of csr: row pointers and column indices.
class csr_entity final : public index_entity {
 public:
  using layout_type = csr;

  csr_entity(matrix_shape logical, index_list row_ptr, index_list cols)
      : index_entity(logical, "csr"), row_ptr_(std::move(row_ptr)), cols_(std::move(cols)) {
    check();
  }
  static std::shared_ptr<const csr_entity> from_parts(matrix_shape logical,
                                                      const std::vector<index_t>& row_ptr,
                                                      const std::vector<index_t>& cols) {
    return std::make_shared<const csr_entity>(
        logical, index_list::from(row_ptr, static_cast<index_t>(cols.size()), "row pointer"),
        index_list::from(cols, std::max<index_t>(logical.cols, 0), "column"));
  }

  const index_list& row_ptr() const noexcept { return row_ptr_; }
  const index_list& col_index() const noexcept { return cols_; }
  index_t nnz() const noexcept { return cols_.size(); }

  matrix_shape compressed_shape() const override { return {nnz(), 1}; }
  std::size_t index_bytes() const override { return row_ptr_.bytes() + cols_.bytes(); }
  index_t kept() const override { return nnz(); }

  void check() const {
    const matrix_shape s = logical_shape();
    if (s.rows < 0 || s.cols < 0) throw index_error(detail::message("csr: negative shape ", s));
    detail::check_segmented("csr", "row", "column", row_ptr_, cols_, s.rows, s.cols);
  }

 private:
  index_list row_ptr_, cols_;
};

/// Unstructured sparsity; `sparsity` is the share of entries removed, by global magnitude.
struct csr {
  using entity = csr_entity;
  static std::string name() { return "csr"; }
  static constexpr double default_sparsity = 0.5, min_sparsity = 0.0, max_sparsity = 1.0;

  static constexpr matrix_shape compressed_shape(matrix_shape logical,
                                                 double sparsity = default_sparsity) {
    return {kept_count(logical.size(), sparsity), 1};
  }

  static std::shared_ptr<const entity> select(matrix_view<const double> scores, double sparsity) {
    const matrix_shape s = scores.shape();
    return build(s, detail::top_k(s.size(), kept_count(s.size(), sparsity),
                                  [&](index_t i) { return scores[i]; }));
  }

  template <class T>
  static std::shared_ptr<const entity> infer(matrix_view<const T> w) {
    std::vector<index_t> keep;
    for (index_t i = 0; i < w.size(); ++i)
      if (is_nonzero(w[i])) keep.push_back(i);
    return build(w.shape(), keep);
  }

  template <class F>
  static void for_each_slot(const entity& e, F&& f) {
    const auto& ptr = e.row_ptr();
    const auto& cols = e.col_index();
    for (index_t r = 0; r < e.logical_shape().rows; ++r)
      for (index_t p = ptr[r]; p < ptr[r + 1]; ++p) f(p, r, cols[p]);
  }

  static std::string locate(const entity&, index_t row, index_t col) {
    return detail::message("row ", row, ", column ", col);
  }

  static void validate(const entity& e) { e.check(); }

 private:
  /// `keep`: increasing linear positions r·K + c.
  static std::shared_ptr<const entity> build(matrix_shape s, const std::vector<index_t>& keep) {
    std::vector<index_t> ptr(static_cast<std::size_t>(s.rows + 1), 0), cols;
    cols.reserve(keep.size());
    for (index_t i : keep) {
      ++ptr[i / s.cols + 1];
      cols.push_back(i % s.cols);
    }
    for (index_t r = 0; r < s.rows; ++r) ptr[r + 1] += ptr[r];
    return entity::from_parts(s, ptr, cols);
  }
};

}  // namespace stco
