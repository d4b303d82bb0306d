// stco/nn/conv2d.hpp — a 2-D convolution layer over NHWC activations with its weight in any
// layout: one fused kernel forward (conv2d + bias + optional ReLU), the gradients through
// stco::grad with address carrying.
//
//     stco::nn::Conv2d<float, stco::nm<2, 4>> conv(32, 64, stco::conv{}.kernel(3).pad(1));
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "stco/nn/affine_layer.hpp"
#include "stco/nn/cpu/affine.hpp"

namespace stco::nn {

/// Weight [out_channels, KH·KW·in_channels/groups] in (kh, kw, c) order, pruned into L (dense
/// until prune(); the dense layout stays dense). Bias optional (off before a BatchNorm2d).
template <class T, class L = dense, class B = cpu>
class Conv2d : public affine_layer<T, L, B> {
  using base = affine_layer<T, L, B>;

 public:
  using typename base::tensor4;

  /// `p` must give the kernel size. Weights and bias are drawn from U(±1/√fan_in) with `seed`;
  /// without one, from the seed a Sequential derives for the layer from its model seed
  /// (stco/nn/seed.hpp).
  Conv2d(index_t in_channels, index_t out_channels, const conv& p, bool bias = true,
         std::optional<std::uint64_t> seed = std::nullopt)
      : base("Conv2d", out_channels, checked_k(in_channels, out_channels, p),
             checked_k(in_channels, out_channels, p), bias, seed),
        in_c_(in_channels),
        p_(p) {}

  const conv& params() const noexcept { return p_; }
  index_t in_channels() const noexcept { return in_c_; }
  index_t out_channels() const noexcept { return this->rows_; }

  std::string name() const override {
    return stco::detail::message(
        "Conv2d<", L::name(), ">(", in_c_, " → ", this->rows_, ", ", p_.kh, "x", p_.kw,
        p_.stride_h != 1 ? ", stride " : "", p_.stride_h != 1 ? std::to_string(p_.stride_h) : "",
        p_.pad_h ? ", pad " : "", p_.pad_h ? std::to_string(p_.pad_h) : "",
        this->has_bias_ ? "" : ", no bias", ")", this->relu_ ? " + ReLU" : "");
  }
  shape4 output_shape(const shape4& in) const override {
    if (in[3] != in_c_)
      throw shape_error(stco::detail::message("stco::nn::Conv2d: input ", detail::shape_text(in),
                                              " (NHWC) has ", in[3], " channels, the layer takes ",
                                              in_c_));
    return resolve_conv(in, {this->rows_, this->cols_}, p_).out_shape();
  }

  const tensor4& forward(const tensor4& x) override {
    detail::ensure_shape(y_, output_shape(detail::shape_of(x)));
    this->with_weight([&](const auto& W) {
      conv2d_forward(B{}, W, x, p_, this->bias_ptr(), this->relu_, y_, this->stash_);
    });
    x_ = &x;
    return y_;
  }

  const tensor4& backward(const tensor4& dy, bool need_dx = true) override {
    if (!x_) throw argument_error("stco::nn::Conv2d::backward: no forward pass to differentiate");
    if (detail::shape_of(dy) != detail::shape_of(y_))
      throw shape_error(stco::detail::message(
          "stco::nn::Conv2d::backward: dy ", detail::shape_text(detail::shape_of(dy)),
          " does not match the output ", detail::shape_text(detail::shape_of(y_))));
    if (need_dx) detail::ensure_shape(dx_, detail::shape_of(*x_));
    this->with_weight_grad([&](const auto& W, auto& dW) {
      conv2d_backward(B{}, W, *x_, p_, this->bias_ptr(), this->relu_, dy, this->stash_, &dW,
                      this->has_bias_ ? &this->db_ : nullptr, need_dx ? &dx_ : nullptr);
      if (this->want_dense_grad_)
        conv2d_dense_weight_grad(B{}, W, *x_, p_, this->bias_ptr(), this->relu_, dy, this->stash_,
                                 this->dense_grad_);
    });
    this->dense_grad_valid_ = this->want_dense_grad_;
    if (!need_dx) dx_ = tensor4();
    return dx_;
  }

 private:
  static index_t checked_k(index_t in_c, index_t out_c, const conv& p) {
    if (in_c < 1 || out_c < 1 || p.kh < 1 || p.kw < 1 || p.groups < 1 || in_c % p.groups ||
        out_c % p.groups)
      throw argument_error(stco::detail::message(
          "stco::nn::Conv2d: ", in_c, " → ", out_c, " channels, kernel ", p.kh, "x", p.kw,
          ", groups ", p.groups, ": channels and kernel must be ≥ 1 and divisible by groups"));
    return p.kh * p.kw * (in_c / p.groups);
  }

  index_t in_c_;
  conv p_;
  const tensor4* x_ = nullptr;
  tensor4 y_, dx_;
};

}  // namespace stco::nn
