// stco/optim/remap.hpp — carrying values from one index entity to another of the same shape, as a
// mask update does: positions kept in both patterns keep their values, newly kept positions start
// from a caller-given dense matrix (e.g. the dense weight SR-STE keeps) or zero.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#include "stco/core/error.hpp"
#include "stco/core/tensor.hpp"
#include "stco/core/value_traits.hpp"
#include "stco/layout/sparse_matrix.hpp"

namespace stco::optim {

/// The slot correspondence between an old and a new entity of one layout and shape, computed once
/// and applied to every tensor of the old pattern (the weight and each optimizer state tensor).
/// Building it walks both entities once: O(R·K) time and a transient R·K index array.
template <class L>
class remap_plan {
 public:
  using entity_type = typename L::entity;

  /// argument_error if either entity is null, shape_error if their logical shapes differ.
  remap_plan(std::shared_ptr<const entity_type> from, std::shared_ptr<const entity_type> to)
      : from_(std::move(from)), to_(std::move(to)) {
    check_target(from_.get(), to_.get());
    // A 32-bit map halves the transient array; only gigantic matrices need 64 bits.
    if (from_->compressed_shape().size() < index_t{std::numeric_limits<std::uint32_t>::max()})
      build<std::uint32_t>();
    else
      build<index_t>();
  }

  /// The checks of the constructor, without building the plan (for callers with nothing to remap).
  static void check_target(const entity_type* from, const entity_type* to) {
    if (!from || !to)
      throw argument_error(
          stco::detail::message("stco::optim::remap<", L::name(), ">: null index entity"));
    if (to->logical_shape() != from->logical_shape())
      throw shape_error(stco::detail::message("stco::optim::remap<", L::name(),
                                              ">: the new entity's shape ", to->logical_shape(),
                                              " differs from the old ", from->logical_shape()));
  }

  const std::shared_ptr<const entity_type>& source() const noexcept { return from_; }
  const std::shared_ptr<const entity_type>& target() const noexcept { return to_; }
  /// Positions kept in both patterns.
  index_t carried() const noexcept { return carried_; }
  /// Positions kept in the new pattern only.
  index_t fresh() const noexcept { return static_cast<index_t>(fresh_slot_.size()); }

  /// `old`'s values carried into the new pattern; newly kept positions are zero. `old` must be
  /// over the plan's source entity (shape_error otherwise). The result shares the target entity.
  template <class U>
  sparse_matrix<U, L> apply(const sparse_matrix<U, L>& old) const {
    check_source(old);
    sparse_matrix<U, L> out(to_);
    carry(old.values(), out.values());
    return out;
  }

  /// As apply(old), with newly kept positions taken from the dense [R, K] matrix `fill`
  /// (converted to U). shape_error if fill's shape differs.
  template <class U, class V>
  sparse_matrix<U, L> apply(const sparse_matrix<U, L>& old, matrix_view<const V> fill) const {
    check_source(old);
    check_fill(fill.shape());
    sparse_matrix<U, L> out(to_);
    U* o = out.values();
    carry(old.values(), o);
    for (std::size_t i = 0; i < fresh_slot_.size(); ++i) {
      const V f = fill[fresh_pos_[i]];
      if constexpr (std::is_same_v<U, V>)
        o[fresh_slot_[i]] = f;
      else
        o[fresh_slot_[i]] = from_double<U>(to_double(f));
    }
    return out;
  }

  void check_fill(matrix_shape fill) const {
    if (fill != from_->logical_shape())
      throw shape_error(stco::detail::message("stco::optim::remap<", L::name(), ">: fill matrix ",
                                              fill, " does not match the weight's shape ",
                                              from_->logical_shape()));
  }

 private:
  template <class Idx>
  void build() {
    const matrix_shape s = from_->logical_shape();
    constexpr Idx none = std::numeric_limits<Idx>::max();
    std::vector<Idx> slot_of(static_cast<std::size_t>(s.size()), none);
    L::for_each_slot(*from_, [&](index_t p, index_t r, index_t c) {
      if (r < s.rows && c < s.cols) slot_of[r * s.cols + c] = static_cast<Idx>(p);
    });
    // Padding slots of the new pattern map to nothing and stay zero, as sparse_matrix made them.
    src_.assign(static_cast<std::size_t>(to_->compressed_shape().size()), index_t{-1});
    L::for_each_slot(*to_, [&](index_t p, index_t r, index_t c) {
      if (r >= s.rows || c >= s.cols) return;
      const Idx o = slot_of[r * s.cols + c];
      if (o != none) {
        src_[p] = static_cast<index_t>(o);
        ++carried_;
      } else {
        fresh_slot_.push_back(p);
        fresh_pos_.push_back(r * s.cols + c);
      }
    });
  }

  template <class U>
  void check_source(const sparse_matrix<U, L>& old) const {
    if (old.entity_ptr() != from_)
      throw shape_error(stco::detail::message(
          "stco::optim::remap<", L::name(), ">: the matrix ", old.shape(),
          " is not over the plan's source entity; build the plan from its entity_ptr()"));
  }

  template <class U>
  void carry(const U* in, U* out) const {
    for (std::size_t p = 0; p < src_.size(); ++p)
      if (src_[p] >= 0) out[p] = in[src_[p]];
  }

  std::shared_ptr<const entity_type> from_, to_;
  std::vector<index_t> src_;  // per new slot: the old slot, or -1 (newly kept or padding)
  std::vector<index_t> fresh_slot_, fresh_pos_;  // newly kept: new slot and r·K + c
  index_t carried_ = 0;
};

/// A new sparse_matrix over `new_entity` (same layout and shape as `old`) holding `old`'s values
/// where both patterns keep a position and zero at newly kept positions. `old` is unchanged.
///
///     auto e = stco::optim::reselect(W, scores, 0.5);
///     auto W2 = stco::optim::remap(W, e);          // W2.entity_ptr() == e
template <class U, class L>
sparse_matrix<U, L> remap(const sparse_matrix<U, L>& old,
                          std::shared_ptr<const typename L::entity> new_entity) {
  return remap_plan<L>(old.entity_ptr(), std::move(new_entity)).apply(old);
}

/// As remap(old, new_entity), with newly kept positions taken from the dense [R, K] matrix `fill`
/// (a tensor or view of any value type; e.g. the dense weight kept by SR-STE).
template <class U, class L, class F>
sparse_matrix<U, L> remap(const sparse_matrix<U, L>& old,
                          std::shared_ptr<const typename L::entity> new_entity, const F& fill) {
  const auto f = stco::detail::as_const_matrix(fill);
  return remap_plan<L>(old.entity_ptr(), std::move(new_entity)).apply(old, f);
}

}  // namespace stco::optim
