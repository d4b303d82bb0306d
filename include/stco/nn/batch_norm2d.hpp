// stco/nn/batch_norm2d.hpp — batch normalization per channel of NHWC activations, as PyTorch's
// BatchNorm2d: training mode normalizes with the batch's mean and biased variance and updates
// running averages (unbiased variance) with `momentum`; eval mode uses the running averages.
// A following ReLU can be fused (Sequential does it).
#pragma once

#include <memory>
#include <string>

#include "stco/nn/cpu/affine.hpp"
#include "stco/nn/cpu/batch_norm.hpp"
#include "stco/nn/layer.hpp"

namespace stco::nn {

template <class T, class B = cpu>
class BatchNorm2d : public layer<T, B> {
 public:
  using typename layer<T, B>::tensor4;
  using vector_type = typename B::template tensor<T, 1>;

  explicit BatchNorm2d(index_t channels, double eps = 1e-5, double momentum = 0.1)
      : C_(channels),
        eps_(eps),
        momentum_(momentum),
        gamma_(vec()),
        beta_(vec()),
        dgamma_(vec()),
        dbeta_(vec()),
        mean_(vec()),
        var_(vec()),
        batch_mean_(vec()),
        batch_invstd_(vec()),
        batch_var_(vec()) {
    if (channels < 1 || !(eps > 0) || !(momentum >= 0 && momentum <= 1))
      throw argument_error(stco::detail::message(
          "stco::nn::BatchNorm2d: channels ", channels, ", eps ", eps, ", momentum ", momentum,
          " (need channels ≥ 1, eps > 0, momentum in [0, 1])"));
    fill_values(B{}, gamma_, T(1));
    fill_values(B{}, var_, T(1));
  }

  index_t channels() const noexcept { return C_; }
  vector_type& gamma() noexcept { return gamma_; }
  vector_type& beta() noexcept { return beta_; }
  const vector_type& gamma_grad() const noexcept { return dgamma_; }
  const vector_type& beta_grad() const noexcept { return dbeta_; }
  vector_type& running_mean() noexcept { return mean_; }
  vector_type& running_var() noexcept { return var_; }
  bool relu_fused() const noexcept { return relu_; }

  std::string name() const override {
    return stco::detail::message("BatchNorm2d(", C_, ")", relu_ ? " + ReLU" : "");
  }
  shape4 output_shape(const shape4& in) const override {
    if (in[3] != C_)
      throw shape_error(stco::detail::message("stco::nn::BatchNorm2d: input ",
                                              detail::shape_text(in), " (NHWC) has ", in[3],
                                              " channels, the layer has ", C_));
    return in;
  }
  bool fuse_relu() override { return relu_ = true; }

  const tensor4& forward(const tensor4& x) override {
    const shape4 s = output_shape(detail::shape_of(x));
    detail::ensure_shape(y_, s);
    const index_t rows = s[0] * s[1] * s[2];
    forward_training_ = this->training_;
    if (forward_training_) {
      batch_norm2d_forward_train(B{}, x.data(), rows, C_, gamma_.data(), beta_.data(), eps_, relu_,
                                 y_.data(), batch_mean_.data(), batch_invstd_.data(),
                                 batch_var_.data());
      batch_norm2d_update_running(B{}, C_, static_cast<T>(momentum_), batch_mean_.data(),
                                  batch_var_.data(), mean_.data(), var_.data());
    } else {
      batch_norm2d_forward_eval(B{}, x.data(), rows, C_, gamma_.data(), beta_.data(), mean_.data(),
                                var_.data(), eps_, relu_, y_.data());
    }
    x_ = &x;
    return y_;
  }

  const tensor4& backward(const tensor4& dy, bool need_dx = true) override {
    if (!x_) throw argument_error("stco::nn::BatchNorm2d::backward: no forward pass");
    const shape4 s = detail::shape_of(y_);
    if (detail::shape_of(dy) != s)
      throw shape_error(stco::detail::message(
          "stco::nn::BatchNorm2d::backward: dy ", detail::shape_text(detail::shape_of(dy)),
          " does not match the output ", detail::shape_text(s)));
    const index_t rows = s[0] * s[1] * s[2];
    T* dx = nullptr;
    if (need_dx) {
      detail::ensure_shape(dx_, s);
      dx = dx_.data();
    } else {
      dx_ = tensor4();
    }
    if (forward_training_)
      batch_norm2d_backward_train(B{}, x_->data(), y_.data(), dy.data(), rows, C_, gamma_.data(),
                                  batch_mean_.data(), batch_invstd_.data(), relu_, dgamma_.data(),
                                  dbeta_.data(), dx);
    else
      batch_norm2d_backward_eval(B{}, x_->data(), y_.data(), dy.data(), rows, C_, gamma_.data(),
                                 mean_.data(), var_.data(), eps_, relu_, dgamma_.data(),
                                 dbeta_.data(), dx);
    return dx_;
  }

  void step(typename B::optimizer& opt) override {
    std::visit(
        [&](auto& o) {
          o.step(gamma_, dgamma_);
          o.step(beta_, dbeta_);
        },
        opt);
  }
  void zero_grad() override {
    set_zero(B{}, dgamma_);
    set_zero(B{}, dbeta_);
  }
  void forget(typename B::optimizer& opt) const override {
    std::visit(
        [&](auto& o) {
          o.forget(gamma_);
          o.forget(beta_);
        },
        opt);
  }
  void parameters(std::vector<parameter_info>& out, const std::string& prefix) const override {
    out.push_back(detail::vector_info(prefix + "gamma", gamma_));
    out.push_back(detail::vector_info(prefix + "beta", beta_));
    out.push_back(detail::vector_info(prefix + "running_mean", mean_, false));
    out.push_back(detail::vector_info(prefix + "running_var", var_, false));
  }
  void save(archive& a, const std::string& prefix) const override {
    a.put(prefix + "gamma", host_copy(B{}, gamma_));
    a.put(prefix + "beta", host_copy(B{}, beta_));
    a.put(prefix + "running_mean", host_copy(B{}, mean_));
    a.put(prefix + "running_var", host_copy(B{}, var_));
  }
  void stage_load(const archive& a, const std::string& prefix, load_commits& commits) override {
    // Checked on the host, moved to the backend's memory here: the commit only moves.
    auto hv = a.get_vector<T>(prefix + "running_var", C_);
    for (index_t c = 0; c < C_; ++c)
      if (!(hv[c] >= T(0)))
        a.fail(
            *a.find(prefix + "running_var"),
            stco::detail::message("running variance ", hv[c], " of channel ", c, " is negative"));
    auto g = std::make_shared<vector_type>(upload(B{}, a.get_vector<T>(prefix + "gamma", C_)));
    auto b = std::make_shared<vector_type>(upload(B{}, a.get_vector<T>(prefix + "beta", C_)));
    auto m =
        std::make_shared<vector_type>(upload(B{}, a.get_vector<T>(prefix + "running_mean", C_)));
    auto v = std::make_shared<vector_type>(upload(B{}, std::move(hv)));
    commits.push_back([this, g, b, m, v] {
      gamma_ = std::move(*g);
      beta_ = std::move(*b);
      mean_ = std::move(*m);
      var_ = std::move(*v);
      zero_grad();
    });
  }

 private:
  vector_type vec() const { return vector_type(dextents<1>(C_)); }

  index_t C_;
  double eps_, momentum_;
  bool relu_ = false;
  bool forward_training_ = true;
  vector_type gamma_, beta_, dgamma_, dbeta_, mean_, var_;
  vector_type batch_mean_, batch_invstd_, batch_var_;
  const tensor4* x_ = nullptr;
  tensor4 y_, dx_;
};

}  // namespace stco::nn
