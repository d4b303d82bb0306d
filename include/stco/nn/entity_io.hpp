// stco/nn/entity_io.hpp — an index entity as plain integer arrays and back, for each stco layout:
// what the model file stores. Rebuilding goes through the entity's own constructor, which
// validates every invariant (index_error on a bad entity), and then through L::validate.
//
// A user layout becomes savable by specializing entity_io<L> with `parts` and `build`.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "stco/layouts.hpp"

namespace stco::nn {

using index_parts = std::vector<std::vector<std::uint64_t>>;

template <class L>
struct entity_io {
  static_assert(sizeof(L) == 0,
                "stco::nn::entity_io: this layout has no file form; specialize "
                "stco::nn::entity_io<L> with parts() and build()");
};

namespace detail {
inline std::vector<std::uint64_t> to_u64(const index_list& l) {
  std::vector<std::uint64_t> v(static_cast<std::size_t>(l.size()));
  for (index_t i = 0; i < l.size(); ++i) v[i] = static_cast<std::uint64_t>(l[i]);
  return v;
}
inline std::vector<std::uint64_t> to_u64(const packed_bits& b) {
  return std::vector<std::uint64_t>(b.words().begin(), b.words().end());
}
/// An index array back as index_t; index_error for a value beyond index_t's range.
inline std::vector<index_t> to_index(const std::vector<std::uint64_t>& v, const char* what) {
  std::vector<index_t> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] > static_cast<std::uint64_t>(INT64_MAX))
      throw index_error(
          stco::detail::message(what, " ", v[i], " at position ", i, " is too large"));
    out[i] = static_cast<index_t>(v[i]);
  }
  return out;
}
inline std::vector<std::uint32_t> to_words(const std::vector<std::uint64_t>& v) {
  std::vector<std::uint32_t> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] > 0xFFFFFFFFu)
      throw index_error(stco::detail::message("packed offset word ", v[i], " at position ", i,
                                              " does not fit 32 bits"));
    out[i] = static_cast<std::uint32_t>(v[i]);
  }
  return out;
}
inline void expect_parts(const index_parts& p, std::size_t n, const std::string& layout) {
  if (p.size() != n)
    throw index_error(
        stco::detail::message(layout, ": ", p.size(), " index arrays, the layout has ", n));
}
}  // namespace detail

template <>
struct entity_io<dense> {
  static index_parts parts(const dense_entity&) { return {}; }
  static std::shared_ptr<const dense_entity> build(matrix_shape s, const index_parts& p) {
    detail::expect_parts(p, 0, dense::name());
    return std::make_shared<const dense_entity>(s);
  }
};

template <int N, int M>
struct entity_io<nm<N, M>> {
  using E = nm_entity<N, M>;
  static index_parts parts(const E& e) { return {detail::to_u64(e.offsets())}; }
  static std::shared_ptr<const E> build(matrix_shape s, const index_parts& p) {
    detail::expect_parts(p, 1, nm<N, M>::name());
    return E::from_words(s, detail::to_words(p[0]));
  }
};

template <int T>
struct entity_io<tile_wise<T>> {
  using E = tile_wise_entity<T>;
  static index_parts parts(const E& e) {
    return {detail::to_u64(e.tile_ptr()), detail::to_u64(e.columns())};
  }
  static std::shared_ptr<const E> build(matrix_shape s, const index_parts& p) {
    detail::expect_parts(p, 2, tile_wise<T>::name());
    return E::from_parts(s, detail::to_index(p[0], "tile pointer"),
                         detail::to_index(p[1], "tile column"));
  }
};

template <int T, int N, int M>
struct entity_io<tile_vector<T, N, M>> {
  using E = tile_vector_entity<T, N, M>;
  static index_parts parts(const E& e) {
    return {detail::to_u64(e.tile_ptr()), detail::to_u64(e.columns()), detail::to_u64(e.offsets())};
  }
  static std::shared_ptr<const E> build(matrix_shape s, const index_parts& p) {
    detail::expect_parts(p, 3, tile_vector<T, N, M>::name());
    return E::from_parts(s, detail::to_index(p[0], "tile pointer"),
                         detail::to_index(p[1], "tile column"), detail::to_words(p[2]));
  }
};

template <int BR, int BC>
struct entity_io<block<BR, BC>> {
  using E = block_entity<BR, BC>;
  static index_parts parts(const E& e) {
    return {detail::to_u64(e.row_ptr()), detail::to_u64(e.col_index())};
  }
  static std::shared_ptr<const E> build(matrix_shape s, const index_parts& p) {
    detail::expect_parts(p, 2, block<BR, BC>::name());
    return E::from_parts(s, detail::to_index(p[0], "block-row pointer"),
                         detail::to_index(p[1], "block column"));
  }
};

template <>
struct entity_io<channel> {
  static index_parts parts(const channel_entity& e) { return {detail::to_u64(e.rows())}; }
  static std::shared_ptr<const channel_entity> build(matrix_shape s, const index_parts& p) {
    detail::expect_parts(p, 1, channel::name());
    return channel_entity::from_parts(s, detail::to_index(p[0], "kept row"));
  }
};

template <>
struct entity_io<csr> {
  static index_parts parts(const csr_entity& e) {
    return {detail::to_u64(e.row_ptr()), detail::to_u64(e.col_index())};
  }
  static std::shared_ptr<const csr_entity> build(matrix_shape s, const index_parts& p) {
    detail::expect_parts(p, 2, csr::name());
    return csr_entity::from_parts(s, detail::to_index(p[0], "row pointer"),
                                  detail::to_index(p[1], "column"));
  }
};

/// The entity of layout L rebuilt from its parts and validated; index_error if anything is off.
template <class L>
std::shared_ptr<const typename L::entity> build_entity(matrix_shape s, const index_parts& p) {
  if (s.rows < 0 || s.cols < 0)
    throw index_error(stco::detail::message(L::name(), ": negative shape ", s));
  auto e = entity_io<L>::build(s, p);
  L::validate(*e);
  return e;
}

}  // namespace stco::nn
