// stco/core/host_buffer.hpp — an owning, 64-byte-aligned, zero-initialised host array.
//
// The storage under tensors and compressed values. 64-byte alignment lets vector kernels use
// aligned loads on the first element; zero initialisation makes padding slots read as zero.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

#include "stco/core/error.hpp"
#include "stco/core/index.hpp"

namespace stco {

template <class T>
class host_buffer {
  static_assert(std::is_trivially_copyable_v<T>,
                "stco::host_buffer holds trivially copyable types");

 public:
  static constexpr std::size_t alignment = 64;

  host_buffer() = default;
  /// n zero elements. argument_error if n < 0; allocation_error if n·sizeof(T) exceeds 2^63 - 1
  /// bytes or the allocation fails.
  explicit host_buffer(index_t n) : n_(n) {
    if (n < 0) throw argument_error(detail::message("stco::host_buffer: negative size ", n));
    if (n > 0) {
      const index_t bytes = detail::checked_mul<allocation_error>(
          n, static_cast<index_t>(sizeof(T)), "stco::host_buffer: elements * element size");
      try {
        p_.reset(static_cast<T*>(
            ::operator new (static_cast<std::size_t>(bytes), std::align_val_t{alignment})));
      } catch (const std::bad_alloc&) {
        throw allocation_error(detail::message("stco::host_buffer: cannot allocate ", bytes,
                                               " bytes (", n, " elements of ", sizeof(T),
                                               " bytes)"));
      }
      std::memset(static_cast<void*>(p_.get()), 0, static_cast<std::size_t>(bytes));
    }
  }
  host_buffer(const host_buffer& o) : host_buffer(o.n_) { copy_from(o.data()); }
  host_buffer(host_buffer&& o) noexcept : p_(std::move(o.p_)), n_(o.n_) { o.n_ = 0; }
  host_buffer& operator=(const host_buffer& o) {
    if (this != &o) {
      host_buffer t(o);
      *this = std::move(t);
    }
    return *this;
  }
  host_buffer& operator=(host_buffer&& o) noexcept {
    p_ = std::move(o.p_);
    n_ = o.n_;
    o.n_ = 0;
    return *this;
  }

  T* data() noexcept { return p_.get(); }
  const T* data() const noexcept { return p_.get(); }
  index_t size() const noexcept { return n_; }
  std::size_t bytes() const noexcept { return bytes_of(n_); }
  T& operator[](index_t i) noexcept { return p_.get()[i]; }
  const T& operator[](index_t i) const noexcept { return p_.get()[i]; }
  T* begin() noexcept { return data(); }
  T* end() noexcept { return data() + n_; }
  const T* begin() const noexcept { return data(); }
  const T* end() const noexcept { return data() + n_; }

  /// Copies size() elements from src.
  void copy_from(const T* src) {
    if (n_ > 0) std::memcpy(static_cast<void*>(data()), src, bytes());
  }

 private:
  struct deleter {
    void operator()(T* p) const noexcept { ::operator delete (p, std::align_val_t{alignment}); }
  };
  static std::size_t bytes_of(index_t n) { return static_cast<std::size_t>(n) * sizeof(T); }

  std::unique_ptr<T, deleter> p_;
  index_t n_ = 0;
};

}  // namespace stco
