// stco/expr/cuda/activation_stash.cuh — the activation inputs a device forward pass keeps for
// the backward pass, in device memory (float, the compute type of every device value type).
#pragma once

#include "stco/core/cuda/device_buffer.cuh"
#include "stco/core/value_traits.hpp"

namespace stco::cuda {

template <class T>
class activation_stash {
 public:
  using value_type = float;
  /// Elements held (the output size of the last forward that filled it; 0 before).
  index_t size() const noexcept { return z_.size(); }
  bool empty() const noexcept { return z_.size() == 0; }
  const float* data() const noexcept { return z_.data(); }
  /// Storage for n activation inputs, reallocated on `s` when the size changes.
  float* prepare(index_t n, stream s) {
    if (z_.size() != n) z_ = device_buffer<float>(n, s);
    return z_.data();
  }

 private:
  device_buffer<float> z_;
};

}  // namespace stco::cuda
