// stco/core/cuda/device_tensor.cuh — a row-major tensor in device memory, with explicit,
// stream-ordered transfers from and to host tensors.
#pragma once

#include "stco/core/cuda/device_buffer.cuh"
#include "stco/core/tensor.hpp"

namespace stco::cuda {

template <class T, class Ext>
class basic_device_tensor {
 public:
  using value_type = T;
  using extents_type = Ext;
  static constexpr std::size_t rank() { return Ext::rank(); }

  basic_device_tensor() = default;
  /// Zero-initialised, allocated on `s`.
  basic_device_tensor(const Ext& e, stream s) : ext_(e), buf_(e.size(), s) {}

  /// Copies a host tensor (or view) to the device on `s`.
  template <class E2>
  static basic_device_tensor from_host(basic_tensor_view<const T, E2> h, stream s) {
    basic_device_tensor d(Ext(h.extents()), s);
    d.buf_.copy_from_host(h.data(), h.size(), s);
    return d;
  }
  template <class E2>
  static basic_device_tensor from_host(const basic_tensor<T, E2>& h, stream s) {
    return from_host(basic_tensor_view<const T, E2>(h.view()), s);
  }
  /// Copies to a new host tensor and waits for the copy.
  basic_tensor<T, Ext> to_host(stream s) const {
    return basic_tensor<T, Ext>(ext_, buf_.to_host(s));
  }

  T* data() noexcept { return buf_.data(); }
  const T* data() const noexcept { return buf_.data(); }
  const Ext& extents() const noexcept { return ext_; }
  index_t extent(std::size_t i) const noexcept { return ext_.extent(i); }
  index_t size() const noexcept { return ext_.size(); }
  /// Rank-2 tensors: the matrix shape.
  matrix_shape shape() const { return to_shape(ext_); }
  /// Queues a copy of a host tensor of the same size into this one.
  template <class E2>
  void copy_from_host(const basic_tensor<T, E2>& h, stream s) {
    buf_.copy_from_host(h.data(), h.size(), s);
  }
  /// A view of the device memory (dereference it only in device code).
  basic_tensor_view<T, Ext> view() noexcept { return {data(), ext_}; }
  basic_tensor_view<const T, Ext> view() const noexcept { return {data(), ext_}; }

 private:
  Ext ext_{};
  device_buffer<T> buf_;
};

/// A device tensor of rank R with dynamic extents.
template <class T, std::size_t R>
using device_tensor = basic_device_tensor<T, dextents<R>>;

}  // namespace stco::cuda
