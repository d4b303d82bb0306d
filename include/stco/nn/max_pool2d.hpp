// stco/nn/max_pool2d.hpp — max pooling over NHWC activations.
#pragma once

#include <string>
#include <vector>

#include "stco/nn/cpu/pooling.hpp"
#include "stco/nn/layer.hpp"
#include "stco/nn/pool_params.hpp"

namespace stco::nn {

template <class T, class B = cpu>
class MaxPool2d : public layer<T, B> {
 public:
  using typename layer<T, B>::tensor4;

  explicit MaxPool2d(const pool2d& p = pool2d::square(2)) : p_(p) {
    p_.out_shape({1, p.kernel_h, p.kernel_w, 1}, "MaxPool2d");
  }
  explicit MaxPool2d(index_t kernel, index_t stride = 0, index_t pad = 0)
      : MaxPool2d(pool2d::square(kernel, stride, pad)) {}

  std::string name() const override {
    return stco::detail::message("MaxPool2d(", p_.kernel_h, "x", p_.kernel_w, ", stride ", p_.sh(),
                                 p_.pad_h ? ", pad " + std::to_string(p_.pad_h) : "", ")");
  }
  shape4 output_shape(const shape4& in) const override { return p_.out_shape(in, "MaxPool2d"); }

  const tensor4& forward(const tensor4& x) override {
    in_ = detail::shape_of(x);
    const shape4 out = output_shape(in_);
    detail::ensure_shape(y_, out);
    if (argmax_.size() != y_.size()) argmax_ = index_vector(dextents<1>(y_.size()));
    max_pool2d_forward(B{}, x.data(), in_, p_, out, y_.data(), argmax_.data());
    return y_;
  }
  const tensor4& backward(const tensor4& dy, bool need_dx = true) override {
    if (!need_dx) return dx_ = tensor4();
    if (detail::shape_of(dy) != detail::shape_of(y_))
      throw shape_error(stco::detail::message(
          "stco::nn::MaxPool2d::backward: dy ", detail::shape_text(detail::shape_of(dy)),
          " does not match the output ", detail::shape_text(detail::shape_of(y_))));
    detail::ensure_shape(dx_, in_);
    max_pool2d_backward(B{}, dy.data(), argmax_.data(), in_, p_, detail::shape_of(y_), dx_.data());
    return dx_;
  }

 private:
  pool2d p_;
  shape4 in_{};
  using index_vector = typename B::template tensor<index_t, 1>;
  index_vector argmax_;  // in the backend's memory
  tensor4 y_, dx_;
};

}  // namespace stco::nn
