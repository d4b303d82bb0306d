// stco/layout/index_list.hpp — a list of non-negative indices stored in the narrowest width that
// holds its largest possible value (16, 32 or 64 bits).
//
// The width is chosen from a bound the layout knows (K for column lists, the count for pointer
// arrays) when the entity is built, so kernels dispatch on it once per call, not per element.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>
#include <variant>
#include <vector>

#include "stco/core/error.hpp"
#include "stco/core/index.hpp"

namespace stco {

class index_list {
 public:
  index_list() = default;

  /// Copies `values`, each in [0, bound], into the narrowest width that holds `bound`.
  /// Throws index_error naming the position of the first value outside [0, bound].
  template <class I>
  static index_list from(const std::vector<I>& values, index_t bound, const char* what = "index") {
    index_list l;
    if (bound <= static_cast<index_t>(std::numeric_limits<std::uint16_t>::max()))
      l.fill<std::uint16_t>(values, bound, what);
    else if (bound <= static_cast<index_t>(std::numeric_limits<std::uint32_t>::max()))
      l.fill<std::uint32_t>(values, bound, what);
    else
      l.fill<std::uint64_t>(values, bound, what);
    return l;
  }

  index_t size() const {
    return std::visit([](const auto& v) { return static_cast<index_t>(v.size()); }, v_);
  }
  bool empty() const { return size() == 0; }
  /// Bytes per stored index: 2, 4 or 8.
  int width() const {
    return std::visit([](const auto& v) { return static_cast<int>(sizeof(v[0])); }, v_);
  }
  std::size_t bytes() const { return static_cast<std::size_t>(size()) * width(); }

  index_t operator[](index_t i) const {
    return std::visit([i](const auto& v) { return static_cast<index_t>(v[i]); }, v_);
  }
  /// Calls f(const U* data, index_t n) with the typed storage (U = uint16/32/64_t).
  template <class F>
  decltype(auto) visit(F&& f) const {
    return std::visit([&](const auto& v) { return f(v.data(), static_cast<index_t>(v.size())); },
                      v_);
  }
  std::vector<index_t> to_vector() const {
    std::vector<index_t> out(static_cast<std::size_t>(size()));
    for (index_t i = 0; i < size(); ++i) out[i] = (*this)[i];
    return out;
  }

  friend bool operator==(const index_list& a, const index_list& b) {
    if (a.size() != b.size()) return false;
    for (index_t i = 0; i < a.size(); ++i)
      if (a[i] != b[i]) return false;
    return true;
  }

 private:
  template <class U, class I>
  void fill(const std::vector<I>& values, index_t bound, const char* what) {
    std::vector<U> out(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      const auto x = static_cast<index_t>(values[i]);
      if (x < 0 || x > bound)
        throw index_error(detail::message("stco::index_list: ", what, " ", x, " at position ", i,
                                          " is outside [0, ", bound, "]"));
      out[i] = static_cast<U>(x);
    }
    v_ = std::move(out);
  }

  std::variant<std::vector<std::uint16_t>, std::vector<std::uint32_t>, std::vector<std::uint64_t>>
      v_;
};

}  // namespace stco
