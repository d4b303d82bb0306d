// stco/nn/relu.hpp — max(x, 0). Inside a Sequential, a ReLU that follows a Conv2d, Linear or
// BatchNorm2d is fused into that layer's kernel and passes its input through unchanged.
#pragma once

#include <string>

#include "stco/nn/cpu/elementwise.hpp"
#include "stco/nn/layer.hpp"

namespace stco::nn {

template <class T, class B = cpu>
class ReLU : public layer<T, B> {
 public:
  using typename layer<T, B>::tensor4;

  /// Marks this ReLU as computed by the layer before it (Sequential does this).
  void set_fused(bool on) noexcept { fused_ = on; }
  bool fused() const noexcept { return fused_; }

  std::string name() const override {
    return fused_ ? "ReLU (fused into the layer before)" : "ReLU";
  }
  shape4 output_shape(const shape4& in) const override { return in; }

  const tensor4& forward(const tensor4& x) override {
    if (fused_) return x;
    detail::ensure_shape(y_, detail::shape_of(x));
    relu_forward(B{}, x.data(), x.size(), y_.data());
    return y_;
  }
  const tensor4& backward(const tensor4& dy, bool need_dx = true) override {
    if (fused_ || !need_dx) return fused_ ? dy : (dx_ = tensor4());
    if (detail::shape_of(dy) != detail::shape_of(y_))
      throw shape_error(stco::detail::message(
          "stco::nn::ReLU::backward: dy ", detail::shape_text(detail::shape_of(dy)),
          " does not match the output ", detail::shape_text(detail::shape_of(y_))));
    detail::ensure_shape(dx_, detail::shape_of(dy));
    relu_backward(B{}, y_.data(), dy.data(), dy.size(), dx_.data());
    return dx_;
  }

 private:
  bool fused_ = false;
  tensor4 y_, dx_;
};

}  // namespace stco::nn
