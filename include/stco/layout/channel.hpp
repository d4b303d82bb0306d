// stco/layout/channel.hpp — channel sparsity: whole rows (output channels) kept or removed.
//
// Storage. The entity is the increasing list of kept rows (16- or 32-bit, by R). Values are
// [kr, K] row-major: the kept rows, in order, as a smaller dense matrix. No padding. Shape
// inference for a network shrinks R here and the next layer's K to kr.
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

struct channel;

/// Index entity of channel: the kept rows.
class channel_entity final : public index_entity {
 public:
  using layout_type = channel;

  channel_entity(matrix_shape logical, index_list rows)
      : index_entity(logical, "channel"), rows_(std::move(rows)) {
    check();
  }
  static std::shared_ptr<const channel_entity> from_parts(matrix_shape logical,
                                                          const std::vector<index_t>& rows) {
    return std::make_shared<const channel_entity>(
        logical, index_list::from(rows, std::max<index_t>(logical.rows, 0), "row"));
  }

  const index_list& rows() const noexcept { return rows_; }
  matrix_shape compressed_shape() const override { return {rows_.size(), logical_shape().cols}; }
  std::size_t index_bytes() const override { return rows_.bytes(); }
  index_t kept() const override { return rows_.size() * logical_shape().cols; }

  void check() const {
    const matrix_shape s = logical_shape();
    if (s.rows < 0 || s.cols < 0) throw index_error(detail::message("channel: negative shape ", s));
    detail::check_sorted_unique("channel", "kept row", rows_, s.rows);
  }

 private:
  index_list rows_;
};

/// Row (output-channel) sparsity; `sparsity` is the share of rows removed, by summed magnitude.
struct channel {
  using entity = channel_entity;
  static std::string name() { return "channel"; }
  static constexpr double default_sparsity = 0.5, min_sparsity = 0.0, max_sparsity = 1.0;

  static constexpr matrix_shape compressed_shape(matrix_shape logical,
                                                 double sparsity = default_sparsity) {
    return {kept_count(logical.rows, sparsity), logical.cols};
  }

  static std::shared_ptr<const entity> select(matrix_view<const double> scores, double sparsity) {
    const matrix_shape s = scores.shape();
    std::vector<double> rs(static_cast<std::size_t>(s.rows), 0.0);
    for (index_t r = 0; s.cols > 0 && r < s.rows; ++r)
      for (index_t c = 0; c < s.cols; ++c) rs[r] += scores(r, c);
    return entity::from_parts(
        s, detail::top_k(s.rows, kept_count(s.rows, sparsity), [&](index_t r) { return rs[r]; }));
  }

  template <class T>
  static std::shared_ptr<const entity> infer(matrix_view<const T> w) {
    const matrix_shape s = w.shape();
    std::vector<index_t> rows;
    for (index_t r = 0; s.cols > 0 && r < s.rows; ++r)
      for (index_t c = 0; c < s.cols; ++c)
        if (is_nonzero(w(r, c))) {
          rows.push_back(r);
          break;
        }
    return entity::from_parts(s, rows);
  }

  template <class F>
  static void for_each_slot(const entity& e, F&& f) {
    const index_t K = e.logical_shape().cols;
    const auto& rows = e.rows();
    for (index_t i = 0; i < rows.size(); ++i)
      for (index_t c = 0; c < K; ++c) f(i * K + c, rows[i], c);
  }

  static std::string locate(const entity&, index_t row, index_t) {
    return detail::message("row ", row, " (a removed channel)");
  }

  static void validate(const entity& e) { e.check(); }
};

}  // namespace stco
