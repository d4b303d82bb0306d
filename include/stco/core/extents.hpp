// stco/core/extents.hpp — tensor extents, each dimension static or dynamic.
//
// `extents<3, dynamic_extent>` is a 3×? shape whose first extent is known at compile time.
// Static extents cost no storage at run time and let expressions check shapes with static_assert.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "stco/core/error.hpp"
#include "stco/core/index.hpp"

namespace stco {

/// Marks a dimension whose extent is known only at run time.
inline constexpr index_t dynamic_extent = -1;

namespace detail {
/// Whether the product of the static extents (dynamic ones ignored) fits index_t.
template <index_t... Es>
constexpr bool static_count_fits() {
  index_t s = 1;
  for (index_t e : {index_t{1}, Es...})
    if (e > 0) {
      if (s > INT64_MAX / e) return false;
      s *= e;
    }
  return true;
}
}  // namespace detail

template <index_t... Es>
class extents {
  static_assert(((Es == dynamic_extent || Es >= 0) && ...),
                "stco::extents: a static extent must be non-negative (or dynamic_extent)");
  static_assert(detail::static_count_fits<Es...>(),
                "stco::extents: the static extents' element count exceeds 2^63 - 1");

 public:
  static constexpr std::size_t rank() { return sizeof...(Es); }
  static constexpr std::size_t rank_dynamic() { return ((Es == dynamic_extent) + ... + 0); }
  /// The compile-time extent of dimension i, or dynamic_extent.
  static constexpr index_t static_extent(std::size_t i) { return statics_[i]; }
  static constexpr bool is_static() { return rank_dynamic() == 0; }

  /// All-static extents, or dynamic extents of zero.
  constexpr extents() : e_{statics_} {
    for (auto& e : e_)
      if (e == dynamic_extent) e = 0;
  }

  /// From the dynamic extents only (in order), or from all extents (static ones are checked).
  template <class... Is,
            std::enable_if_t<(sizeof...(Is) > 0) &&
                                 (sizeof...(Is) == rank_dynamic() || sizeof...(Is) == rank()) &&
                                 (std::is_convertible_v<Is, index_t> && ...),
                             int> = 0>
  constexpr extents(Is... is)
      : extents(std::array<index_t, sizeof...(Is)>{static_cast<index_t>(is)...}) {}

  template <std::size_t N, std::enable_if_t<(N == rank_dynamic() || N == rank()), int> = 0>
  constexpr explicit extents(const std::array<index_t, N>& a) : e_{statics_} {
    if constexpr (N == rank() && N != rank_dynamic()) {
      for (std::size_t i = 0; i < rank(); ++i) set_checked(i, a[i]);
    } else {
      std::size_t d = 0;
      for (std::size_t i = 0; i < rank(); ++i)
        if (statics_[i] == dynamic_extent) set_checked(i, a[d++]);
    }
    check_count();
  }

  /// Converts between extents of equal rank; a static mismatch fails to compile, a dynamic one
  /// throws shape_error.
  template <index_t... Fs, std::enable_if_t<sizeof...(Fs) == sizeof...(Es), int> = 0>
  constexpr extents(const extents<Fs...>& o) : e_{statics_} {
    static_assert(((Es == dynamic_extent || Fs == dynamic_extent || Es == Fs) && ...),
                  "stco::extents: static extents differ");
    for (std::size_t i = 0; i < rank(); ++i) set_checked(i, o.extent(i));
  }

  constexpr index_t extent(std::size_t i) const { return e_[i]; }
  /// The element count. The constructors refuse extents whose count exceeds 2^63 - 1, so on a
  /// constructed object this never throws.
  constexpr index_t size() const {
    for (auto e : e_)
      if (e == 0) return 0;
    index_t s = 1;
    for (auto e : e_) s = detail::checked_mul(s, e, "stco::extents: element count");
    return s;
  }
  constexpr const std::array<index_t, sizeof...(Es)>& array() const { return e_; }

  template <index_t... Fs>
  friend constexpr bool operator==(const extents& a, const extents<Fs...>& b) {
    if constexpr (sizeof...(Fs) != sizeof...(Es)) {
      return false;
    } else {
      for (std::size_t i = 0; i < rank(); ++i)
        if (a.extent(i) != b.extent(i)) return false;
      return true;
    }
  }
  template <index_t... Fs>
  friend constexpr bool operator!=(const extents& a, const extents<Fs...>& b) {
    return !(a == b);
  }

 private:
  static constexpr std::array<index_t, sizeof...(Es)> statics_{Es...};

  /// shape_error listing the extents if their element count exceeds 2^63 - 1.
  constexpr void check_count() const {
    for (auto e : e_)
      if (e == 0) return;
    index_t s = 1;
    for (auto e : e_) {
      if (s > INT64_MAX / e) throw shape_error(too_many());
      s *= e;
    }
  }
  std::string too_many() const {
    std::string list;
    for (auto e : e_) list += (list.empty() ? "" : ", ") + std::to_string(e);
    return detail::message("stco::extents: [", list, "] hold more than 2^63 - 1 elements");
  }

  constexpr void set_checked(std::size_t i, index_t v) {
    if (v < 0)
      throw shape_error(detail::message("stco::extents: negative extent ", v, " in dimension ", i));
    if (statics_[i] != dynamic_extent && statics_[i] != v)
      throw shape_error(detail::message("stco::extents: dimension ", i, " is static ", statics_[i],
                                        " but got ", v));
    e_[i] = v;
  }

  std::array<index_t, sizeof...(Es)> e_;
};

namespace detail {
template <std::size_t R, index_t... Es>
struct dextents_impl : dextents_impl<R - 1, dynamic_extent, Es...> {};
template <index_t... Es>
struct dextents_impl<0, Es...> {
  using type = extents<Es...>;
};
}  // namespace detail

/// Extents of rank R, all dynamic.
template <std::size_t R>
using dextents = typename detail::dextents_impl<R>::type;

template <class T>
struct is_extents : std::false_type {};
template <index_t... Es>
struct is_extents<extents<Es...>> : std::true_type {};

/// Extents as a matrix_shape (rank 2 only).
template <index_t... Es>
constexpr matrix_shape to_shape(const extents<Es...>& e) {
  static_assert(sizeof...(Es) == 2, "stco::to_shape: only rank-2 extents are a matrix shape");
  return {e.extent(0), e.extent(1)};
}

}  // namespace stco
