// stco/kernel/cpu/buffers.hpp — per-thread scratch for the CPU drivers, and value conversion into
// the compute type.
#pragma once

#include <algorithm>
#include <type_traits>
#include <vector>

#include "stco/core/index.hpp"
#include "stco/core/value_traits.hpp"

namespace stco::kernel::cpu {

/// A thread's scratch array `Slot` of at least n elements (contents unspecified). Slots let one
/// thread hold several buffers at once.
template <class C, int Slot>
C* scratch(index_t n) {
  thread_local std::vector<C> buf;
  if (static_cast<index_t>(buf.size()) < n) buf.resize(static_cast<std::size_t>(n));
  return buf.data();
}

template <class C, class T>
inline C to_compute(const T& v) {
  if constexpr (std::is_same_v<T, C>)
    return v;
  else if constexpr (std::is_arithmetic_v<T>)
    return static_cast<C>(v);
  else
    return static_cast<C>(to_double(v));
}
template <class T, class C>
inline T from_compute(C v) {
  if constexpr (std::is_same_v<T, C>)
    return v;
  else if constexpr (std::is_arithmetic_v<T>)
    return static_cast<T>(v);
  else
    return from_double<T>(static_cast<double>(v));
}

/// `n` values as compute type C: the same pointer when T is C, else a converted copy in `keep`.
template <class C, class T>
const C* compute_values(const T* v, index_t n, std::vector<C>& keep) {
  if constexpr (std::is_same_v<T, C>) {
    return v;
  } else {
    keep.resize(static_cast<std::size_t>(n));
    for (index_t i = 0; i < n; ++i) keep[i] = to_compute<C>(v[i]);
    return keep.data();
  }
}

}  // namespace stco::kernel::cpu
