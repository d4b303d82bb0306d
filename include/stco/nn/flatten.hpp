// stco/nn/flatten.hpp — [N, H, W, C] → [N, 1, 1, H·W·C], each sample's values in memory order.
// (Linear takes any NHWC input directly; Flatten makes the reshape explicit in a model.)
#pragma once

#include <string>

#include "stco/nn/cpu/elementwise.hpp"
#include "stco/nn/layer.hpp"

namespace stco::nn {

template <class T, class B = cpu>
class Flatten : public layer<T, B> {
 public:
  using typename layer<T, B>::tensor4;

  std::string name() const override { return "Flatten"; }
  shape4 output_shape(const shape4& in) const override {
    return {in[0], 1, 1, in[1] * in[2] * in[3]};
  }
  const tensor4& forward(const tensor4& x) override {
    in_ = detail::shape_of(x);
    detail::ensure_shape(y_, output_shape(in_));
    copy_values(B{}, x.data(), x.size(), y_.data());
    return y_;
  }
  const tensor4& backward(const tensor4& dy, bool need_dx = true) override {
    if (!need_dx) return dx_ = tensor4();
    if (dy.size() != y_.size())
      throw shape_error(stco::detail::message(
          "stco::nn::Flatten::backward: dy ", detail::shape_text(detail::shape_of(dy)),
          " does not match the output ", detail::shape_text(detail::shape_of(y_))));
    detail::ensure_shape(dx_, in_);
    copy_values(B{}, dy.data(), dy.size(), dx_.data());
    return dx_;
  }

 private:
  shape4 in_{};
  tensor4 y_, dx_;
};

}  // namespace stco::nn
