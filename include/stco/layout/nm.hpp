// stco/layout/nm.hpp — N:M sparsity: each aligned group of M consecutive K-elements of a row keeps
// at most N.
//
// Storage. K is padded up to G·M, G = ⌈K/M⌉ groups. Values are [R, G·N] row-major: row r, group g,
// slot s at (r·G + g)·N + s. The index entity is one ⌈log2 M⌉-bit offset per stored value, in the
// same order, packed LSB-first into 32-bit words (2 bits per value for 2:4). Offsets within a group
// are distinct and increasing. In the ragged last group (K mod M ≠ 0) positions ≥ K are padding:
// a slot may point there only when the group has fewer than N real positions, and its value is 0.
// Kernels must not read X at padding addresses. Backends derive their own metadata order (e.g. the
// sparse tensor core's) from this one, lazily, through the entity's cache.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "stco/core/error.hpp"
#include "stco/core/extents.hpp"
#include "stco/core/tensor_view.hpp"
#include "stco/core/value_traits.hpp"
#include "stco/layout/detail/nm_group.hpp"
#include "stco/layout/index_entity.hpp"
#include "stco/layout/layout_contract.hpp"
#include "stco/layout/packed_bits.hpp"

namespace stco {

template <int N, int M>
struct nm;

/// Index entity of nm<N,M>: the packed offsets.
template <int N, int M>
class nm_entity final : public index_entity {
 public:
  using layout_type = nm<N, M>;
  static constexpr int bits = offset_bits(M);

  /// Adopts `offsets` (R·G·N fields of ⌈log2 M⌉ bits) and validates them (index_error if bad).
  nm_entity(matrix_shape logical, packed_bits offsets)
      : index_entity(logical, layout_type::name()), offsets_(std::move(offsets)) {
    check();
  }
  /// From raw packed words, as loaded from a file. The shape and the word count are checked
  /// against each other before anything is allocated.
  static std::shared_ptr<const nm_entity> from_words(matrix_shape logical,
                                                     std::vector<std::uint32_t> words) {
    if (logical.rows < 0 || logical.cols < 0)
      throw index_error(detail::message(layout_type::name(), ": negative shape ", logical));
    return std::make_shared<const nm_entity>(
        logical, packed_bits(slot_count(logical), bits, std::move(words)));
  }
  /// R·⌈K/M⌉·N, the stored values of a shape; index_error if it exceeds 2^63 - 1.
  static index_t slot_count(matrix_shape logical) {
    const std::string what = layout_type::name() + ": offsets R * ceil(K / M) * N";
    return detail::checked_mul<index_error>(
        detail::checked_mul<index_error>(logical.rows, ceil_div(logical.cols, M), what.c_str()), N,
        what.c_str());
  }

  index_t groups() const noexcept { return ceil_div(logical_shape().cols, M); }
  index_t slots_per_row() const noexcept { return groups() * N; }
  /// Offset within its group of stored value `slot`.
  unsigned offset(index_t slot) const noexcept { return offsets_.get(slot); }
  const packed_bits& offsets() const noexcept { return offsets_; }

  matrix_shape compressed_shape() const override { return {logical_shape().rows, slots_per_row()}; }
  std::size_t index_bytes() const override { return offsets_.bytes(); }
  index_t kept() const override { return kept_; }

  /// Re-checks every invariant; index_error names the first row and group that breaks one.
  void check() const {
    const matrix_shape s = logical_shape();
    const std::string who = layout_type::name();
    if (s.rows < 0 || s.cols < 0) throw index_error(detail::message(who, ": negative shape ", s));
    const index_t G = groups(), count = slot_count(s);
    if (offsets_.size() != count || offsets_.bits() != bits)
      throw index_error(detail::message(who, ": ", offsets_.size(), " offsets of ", offsets_.bits(),
                                        " bits for shape ", s, "; expected ", count, " of ", bits,
                                        " bits"));
    index_t kept = 0;
    // With K = 0 there is nothing to check: no loop over R, which no stored data bounds then.
    for (index_t r = 0; G > 0 && r < s.rows; ++r)
      for (index_t g = 0; g < G; ++g) {
        const index_t base = (r * G + g) * N;
        const index_t real = std::min<index_t>(M, s.cols - g * M);
        for (int j = 0; j < N; ++j) {
          const unsigned o = offsets_.get(base + j);
          if (o >= static_cast<unsigned>(M))
            throw index_error(detail::message(who, ": row ", r, ", group ", g, ", slot ", j,
                                              ": offset ", o, " is not below M = ", M));
          if (j > 0 && o <= offsets_.get(base + j - 1))
            throw index_error(detail::message(who, ": row ", r, ", group ", g,
                                              ": offsets not strictly increasing at slot ", j, " (",
                                              offsets_.get(base + j - 1), " then ", o, ")"));
          if (static_cast<index_t>(o) >= real && real >= N)
            throw index_error(detail::message(who, ": row ", r, ", group ", g, ", slot ", j,
                                              ": offset ", o, " points past K = ", s.cols,
                                              " though the group has ", real, " real positions"));
          if (static_cast<index_t>(o) < real) ++kept;
        }
      }
    kept_ = kept;
  }

 private:
  packed_bits offsets_;
  mutable index_t kept_ = 0;
};

/// N:M structured sparsity (1 ≤ N < M ≤ 16). Sparsity is fixed at 1 − N/M.
template <int N, int M>
struct nm {
  static_assert(M >= 2 && M <= 16, "stco::nm<N, M>: M must be in [2, 16]");
  static_assert(N >= 1 && N < M, "stco::nm<N, M>: N must be in [1, M) (N:M keeps N of every M)");

  using entity = nm_entity<N, M>;
  static constexpr int n = N, m = M;
  static std::string name() { return detail::message("nm<", N, ",", M, ">"); }
  static constexpr double default_sparsity = 1.0 - static_cast<double>(N) / M;
  static constexpr double min_sparsity = default_sparsity, max_sparsity = default_sparsity;

  /// [R, ⌈K/M⌉·N] whatever the sparsity argument (it is fixed).
  static constexpr matrix_shape compressed_shape(matrix_shape logical, double = default_sparsity) {
    return {logical.rows,
            detail::checked_mul(ceil_div(logical.cols, M), N, "stco::nm::compressed_shape")};
  }

  static std::shared_ptr<const entity> select(matrix_view<const double> scores, double) {
    const matrix_shape s = scores.shape();
    const index_t G = ceil_div(s.cols, M);
    packed_bits off(entity::slot_count(s), entity::bits);
    for (index_t r = 0; G > 0 && r < s.rows; ++r)
      for (index_t g = 0; g < G; ++g) {
        const int real = static_cast<int>(std::min<index_t>(M, s.cols - g * M));
        const auto o =
            detail::select_group<N, M>(real, [&](int i) { return scores(r, g * M + i); });
        for (int j = 0; j < N; ++j) off.set((r * G + g) * N + j, o[j]);
      }
    return std::make_shared<const entity>(s, std::move(off));
  }

  template <class T>
  static std::shared_ptr<const entity> infer(matrix_view<const T> w) {
    const matrix_shape s = w.shape();
    const index_t G = ceil_div(s.cols, M);
    packed_bits off(entity::slot_count(s), entity::bits);
    for (index_t r = 0; G > 0 && r < s.rows; ++r)
      for (index_t g = 0; g < G; ++g) {
        const int real = static_cast<int>(std::min<index_t>(M, s.cols - g * M));
        detail::group_offsets<N, M> o{};
        const int nz = detail::infer_group<N, M>(
            real, [&](int i) { return is_nonzero(w(r, g * M + i)); }, o);
        if (nz > N)
          throw pattern_error(detail::message("stco::encode<", name(), ">: row ", r, ", group ", g,
                                              " (columns ", g * M, "..", g * M + real - 1, ") has ",
                                              nz, " nonzeros; the layout keeps at most ", N));
        for (int j = 0; j < N; ++j) off.set((r * G + g) * N + j, o[j]);
      }
    return std::make_shared<const entity>(s, std::move(off));
  }

  template <class F>
  static void for_each_slot(const entity& e, F&& f) {
    const index_t R = e.logical_shape().rows, G = e.groups();
    for (index_t r = 0; G > 0 && r < R; ++r)
      for (index_t g = 0; g < G; ++g)
        for (int j = 0; j < N; ++j) {
          const index_t p = (r * G + g) * N + j;
          f(p, r, g * M + static_cast<index_t>(e.offset(p)));
        }
  }

  static std::string locate(const entity& e, index_t row, index_t col) {
    const index_t g = col / M;
    return detail::message("row ", row, ", group ", g, " (columns ", g * M, "..",
                           std::min<index_t>(g * M + M, e.logical_shape().cols) - 1, ")");
  }

  static void validate(const entity& e) { e.check(); }
};

template <int N, int M, index_t R, index_t K>
struct compressed_extents<nm<N, M>, extents<R, K>> {
  using type = extents<R, (K == dynamic_extent ? dynamic_extent : ceil_div(K, M) * N)>;
};

}  // namespace stco
