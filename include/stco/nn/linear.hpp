// stco/nn/linear.hpp — a fully connected layer with its weight in any layout: y = W·x + b as one
// fused stco::matmul kernel (optional ReLU), the gradients through stco::grad with address
// carrying.
//
//     stco::nn::Linear<float, stco::tile_wise<32>> fc(3136, 128);
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "stco/nn/affine_layer.hpp"
#include "stco/nn/cpu/affine.hpp"
#include "stco/nn/cpu/elementwise.hpp"

namespace stco::nn {

/// Weight [out_features, in_features] in layout L. Takes any NHWC input [N, H, W, C] with
/// H·W·C = in_features (each sample's values in memory order) and gives [N, 1, 1, out_features].
/// The GEMM runs as W·Xᵀ with Xᵀ [in_features, N] (stco::matmul's [K, N] operand): the layer
/// transposes in and out, O(N·features) next to the product's O(N·features·out).
template <class T, class L = dense, class B = cpu>
class Linear : public affine_layer<T, L, B> {
  using base = affine_layer<T, L, B>;

 public:
  using typename base::tensor4;
  using matrix_type = typename B::template tensor<T, 2>;

  /// Weights and bias drawn from U(±1/√in_features) with `seed`; without one, from the seed a
  /// Sequential derives for the layer from its model seed (stco/nn/seed.hpp).
  Linear(index_t in_features, index_t out_features, bool bias = true,
         std::optional<std::uint64_t> seed = std::nullopt)
      : base("Linear", out_features, in_features, in_features, bias, seed) {}

  index_t in_features() const noexcept { return this->cols_; }
  index_t out_features() const noexcept { return this->rows_; }

  std::string name() const override {
    return stco::detail::message("Linear<", L::name(), ">(", this->cols_, " → ", this->rows_,
                                 this->has_bias_ ? "" : ", no bias", ")",
                                 this->relu_ ? " + ReLU" : "");
  }
  shape4 output_shape(const shape4& in) const override {
    if (in[1] * in[2] * in[3] != this->cols_)
      throw shape_error(stco::detail::message(
          "stco::nn::Linear: input ", detail::shape_text(in), " has ", in[1] * in[2] * in[3],
          " features per sample, the layer takes ", this->cols_));
    return {in[0], 1, 1, this->rows_};
  }

  const tensor4& forward(const tensor4& x) override {
    const shape4 out = output_shape(detail::shape_of(x));
    const index_t N = out[0], K = this->cols_, R = this->rows_;
    detail::ensure_shape(xT_, K, N);
    detail::ensure_shape(yT_, R, N);
    transpose(B{}, x.data(), N, K, xT_.data());
    this->with_weight([&](const auto& W) {
      linear_forward(B{}, W, xT_, this->bias_ptr(), this->relu_, yT_, this->stash_);
    });
    detail::ensure_shape(y_, out);
    transpose(B{}, yT_.data(), R, N, y_.data());
    x_ = &x;
    return y_;
  }

  const tensor4& backward(const tensor4& dy, bool need_dx = true) override {
    if (!x_) throw argument_error("stco::nn::Linear::backward: no forward pass to differentiate");
    if (detail::shape_of(dy) != detail::shape_of(y_))
      throw shape_error(stco::detail::message(
          "stco::nn::Linear::backward: dy ", detail::shape_text(detail::shape_of(dy)),
          " does not match the output ", detail::shape_text(detail::shape_of(y_))));
    const index_t N = y_.extent(0), K = this->cols_, R = this->rows_;
    detail::ensure_shape(dyT_, R, N);
    transpose(B{}, dy.data(), N, R, dyT_.data());
    if (need_dx) detail::ensure_shape(dxT_, K, N);
    this->with_weight_grad([&](const auto& W, auto& dW) {
      linear_backward(B{}, W, xT_, this->bias_ptr(), this->relu_, dyT_, this->stash_, &dW,
                      this->has_bias_ ? &this->db_ : nullptr, need_dx ? &dxT_ : nullptr);
      if (this->want_dense_grad_)
        linear_dense_weight_grad(B{}, W, xT_, this->bias_ptr(), this->relu_, dyT_, this->stash_,
                                 this->dense_grad_);
    });
    this->dense_grad_valid_ = this->want_dense_grad_;
    if (!need_dx) {
      dx_ = tensor4();
      return dx_;
    }
    detail::ensure_shape(dx_, detail::shape_of(*x_));
    transpose(B{}, dxT_.data(), K, N, dx_.data());
    return dx_;
  }

 private:
  const tensor4* x_ = nullptr;
  matrix_type xT_, yT_, dyT_, dxT_;
  tensor4 y_, dx_;
};

}  // namespace stco::nn
