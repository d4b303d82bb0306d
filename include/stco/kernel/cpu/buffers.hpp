// stco/kernel/cpu/buffers.hpp — per-thread scratch for the CPU drivers, and value conversion into
// the compute type.
#pragma once

#include <algorithm>
#include <cstddef>
#include <new>
#include <type_traits>
#include <vector>

#include "stco/core/index.hpp"
#include "stco/core/value_traits.hpp"

namespace stco::kernel::cpu {

/// Alignment of scratch arrays: a cache line, so that no vector load of a packed panel splits
/// two lines (a split 64-byte load costs two; unaligned panels ran the N:M kernel at half speed).
inline constexpr std::size_t scratch_alignment = 64;

/// A cache-line-aligned array of trivially copyable C, contents unspecified.
template <class C>
class aligned_array {
  static_assert(std::is_trivially_copyable_v<C>, "aligned_array holds plain values");

 public:
  aligned_array() = default;
  aligned_array(const aligned_array&) = delete;
  aligned_array& operator=(const aligned_array&) = delete;
  ~aligned_array() { release(); }

  /// Grows to at least n elements (old contents are not kept).
  C* reserve(index_t n) {
    if (n > size_) {
      release();
      const std::size_t bytes = round_bytes(static_cast<std::size_t>(n) * sizeof(C));
      p_ = static_cast<C*>(::operator new(bytes, std::align_val_t(scratch_alignment)));
      size_ = n;
    }
    return p_;
  }
  C* data() noexcept { return p_; }

 private:
  static std::size_t round_bytes(std::size_t b) {
    return (b + scratch_alignment - 1) / scratch_alignment * scratch_alignment;
  }
  void release() noexcept {
    if (p_) ::operator delete(p_, std::align_val_t(scratch_alignment));
    p_ = nullptr;
    size_ = 0;
  }
  C* p_ = nullptr;
  index_t size_ = 0;
};

/// A thread's scratch array `Slot` of at least n elements, cache-line aligned (contents
/// unspecified). Slots let one thread hold several buffers at once.
template <class C, int Slot>
C* scratch(index_t n) {
  thread_local aligned_array<C> buf;
  return buf.reserve(n);
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
