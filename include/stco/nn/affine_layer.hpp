// stco/nn/affine_layer.hpp — what Conv2d and Linear share: a weight that trains dense until it is
// pruned into layout L and then stays in L (address carrying: its gradient and optimizer state
// share its index entity; only a mask update builds a new one), an optional bias, an optional
// fused ReLU, and the pruning, mask-update and save/load plumbing.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <random>
#include <type_traits>

#include "stco/expr/activation_stash.hpp"
#include "stco/layouts.hpp"
#include "stco/nn/layer.hpp"
#include "stco/nn/prunable.hpp"

namespace stco::nn {

template <class T, class L, class B>
class affine_layer : public layer<T, B>, public prunable {
  static_assert(is_layout_v<L>, "stco::nn: the weight layout must be a stco layout");

 public:
  using layout_type = L;
  using dense_weight = typename B::template matrix<T, dense>;
  using sparse_weight = typename B::template matrix<T, L>;
  static constexpr bool dense_layout = std::is_same_v<L, dense>;

  /// The weight in its layout (null before pruning, and always for the dense layout).
  const sparse_weight* sparse() const noexcept { return ws_ ? &*ws_ : nullptr; }
  /// The weight during its dense phase (null once pruned).
  const dense_weight* dense_phase() const noexcept { return wd_ ? &*wd_ : nullptr; }
  /// The weight as a dense [R, K] matrix (zeros off the pattern).
  stco::tensor<T, 2> weight_dense() const { return ws_ ? stco::decode(*ws_) : stco::decode(*wd_); }
  /// The weight gradient of the last backward, dense [R, K] (zeros off the pattern).
  stco::tensor<T, 2> weight_grad_dense() const {
    if (ws_ && dws_ && dws_->entity_ptr() == ws_->entity_ptr()) return stco::decode(*dws_);
    if (wd_ && dwd_) return stco::decode(*dwd_);
    return stco::tensor<T, 2>(dextents<2>(rows_, cols_));
  }
  /// The dense weight gradient of the last backward, when it was requested (else null).
  const stco::tensor<T, 2>* dense_weight_grad() const noexcept {
    return dense_grad_valid_ ? &dense_grad_ : nullptr;
  }
  bool has_bias() const noexcept { return has_bias_; }
  stco::tensor<T, 1>& bias() noexcept { return b_; }
  const stco::tensor<T, 1>& bias() const noexcept { return b_; }
  const stco::tensor<T, 1>& bias_grad() const noexcept { return db_; }
  bool relu_fused() const noexcept { return relu_; }

  /// Replaces the weight's values with `w` ([R, K]): in the dense phase all of them, once pruned
  /// those at kept positions (the pattern stays). For tests and initialization schemes.
  void set_weight(const stco::tensor<T, 2>& w) {
    if (w.extent(0) != rows_ || w.extent(1) != cols_)
      throw shape_error(stco::detail::message("stco::nn::", kind_, "::set_weight: ", w.shape(),
                                              " for a weight of [", rows_, ", ", cols_, "]"));
    if (ws_)
      *ws_ = stco::gather<T>(w.view(), ws_->entity_ptr());
    else
      *wd_ = stco::gather<T>(w.view(), wd_->entity_ptr());
  }

  // --- layer ---
  bool fuse_relu() override { return relu_ = true; }
  void step(optimizer& opt) override {
    std::visit(
        [&](auto& o) {
          if (ws_) {
            ensure_sparse_grad();
            o.step(*ws_, *dws_);
          } else {
            ensure_dense_grad();
            o.step(*wd_, *dwd_);
          }
          if (has_bias_) o.step(b_, db_);
        },
        opt);
  }
  void zero_grad() override {
    if (dws_) std::fill(dws_->values(), dws_->values() + dws_->value_count(), T(0));
    if (dwd_) std::fill(dwd_->values(), dwd_->values() + dwd_->value_count(), T(0));
    db_.fill(T(0));
    dense_grad_valid_ = false;
  }
  void forget(optimizer& opt) const override {
    std::visit(
        [&](auto& o) {
          if (ws_) o.forget(*ws_);
          if (wd_) o.forget(*wd_);
          o.forget(b_);
        },
        opt);
  }
  void parameters(std::vector<parameter_info>& out, const std::string& prefix) const override {
    parameter_info w;
    w.name = prefix + "weight";
    w.shape = {rows_, cols_};
    with_weight([&](const auto& W) {
      using WL = typename std::decay_t<decltype(W)>::layout_type;
      w.layout = WL::name();
      w.values = W.value_count();
      w.density = W.density();
      w.bytes = W.bytes();
    });
    out.push_back(w);
    if (has_bias_) out.push_back(detail::vector_info(prefix + "bias", b_));
  }
  void save(archive& a, const std::string& prefix) const override {
    with_weight([&](const auto& W) { a.put(prefix + "weight", W); });
    if (has_bias_) a.put(prefix + "bias", b_);
  }
  void stage_load(const archive& a, const std::string& prefix, load_commits& commits) override {
    const std::string wname = prefix + "weight";
    const std::string& lay = a.layout_of(wname);
    const matrix_shape s{rows_, cols_};
    std::shared_ptr<stco::tensor<T, 1>> b;
    if (has_bias_)
      b = std::make_shared<stco::tensor<T, 1>>(a.get_vector<T>(prefix + "bias", rows_));
    if (lay == dense::name() && !dense_layout) {
      auto W = std::make_shared<dense_weight>(a.get_matrix<T, dense>(wname, s));
      commits.push_back([this, W, b] {
        wd_.emplace(std::move(*W));
        ws_.reset(), dws_.reset(), dwd_.reset();
        after_load(b);
      });
    } else {
      if (lay != L::name())
        a.fail(*a.find(wname),
               stco::detail::message("layout '", lay, "', the model's ", kind_, " takes '",
                                     L::name(), "'", dense_layout ? "" : " or 'dense'"));
      auto W = std::make_shared<sparse_weight>(a.get_matrix<T, L>(wname, s));
      commits.push_back([this, W, b] {
        if constexpr (dense_layout) {
          wd_.emplace(std::move(*W));
          ws_.reset();
        } else {
          ws_.emplace(std::move(*W));
          wd_.reset();
        }
        dws_.reset(), dwd_.reset();
        after_load(b);
      });
    }
  }

  // --- prunable ---
  std::string layout_name() const override { return L::name(); }
  bool is_pruned() const override { return ws_.has_value(); }
  double sparsity() const override {
    double d = 1.0;
    with_weight([&](const auto& W) { d = W.density(); });
    return 1.0 - d;
  }
  double min_sparsity() const override { return L::min_sparsity; }
  double max_sparsity() const override { return L::max_sparsity; }
  matrix_shape weight_shape() const override { return {rows_, cols_}; }

  void prune(double s, optimizer& opt) override {
    if constexpr (dense_layout) {
      (void)s, (void)opt;
      throw argument_error(
          stco::detail::message("stco::nn::", kind_, "::prune: the layer's layout is dense"));
    } else {
      if (ws_) return update_mask(mask_rule{}, s, opt);
      auto dense_values = stco::decode(*wd_);
      sparse_weight W = stco::prune<L>(dense_values, s);  // throws before anything changes
      shadow_ = std::move(dense_values);
      std::visit([&](auto& o) { o.forget(*wd_); }, opt);
      ws_.emplace(std::move(W));
      wd_.reset(), dwd_.reset(), dws_.reset();
      dense_grad_valid_ = false;
    }
  }
  void request_dense_grad(bool on) override { want_dense_grad_ = on; }
  void update_mask(const mask_rule& rule, double s, optimizer& opt) override {
    if constexpr (dense_layout) {
      (void)rule, (void)s, (void)opt;
      throw argument_error(
          stco::detail::message("stco::nn::", kind_, "::update_mask: the layer's layout is dense"));
    } else {
      const char* op = "::update_mask: ";
      if (!ws_)
        throw argument_error(stco::detail::message("stco::nn::", kind_, op,
                                                   "the weight is not pruned yet (call prune)"));
      if (rule.needs_dense_grad() && !dense_grad_valid_)
        throw argument_error(stco::detail::message(
            "stco::nn::", kind_, op, "rule '", rule.name(),
            "' needs the dense weight gradient: call request_dense_grad(true) before backward"));
      const auto cur = stco::decode(*ws_);
      if (rule.how == mask_rule::kind::magnitude) {
        const auto scores = optim::magnitude_scores(cur);
        std::visit([&](auto& o) { optim::update_mask(*ws_, scores, s, o); }, opt);
      } else if (rule.how == mask_rule::kind::regrow) {
        const auto scores = optim::magnitude_gradient_scores(cur, dense_grad_, rule.lambda);
        std::visit([&](auto& o) { optim::update_mask(*ws_, scores, s, o); }, opt);
      } else {
        if (!(rule.lambda >= 0) || rule.interval < 1)
          throw argument_error(stco::detail::message("stco::nn::", kind_, op,
                                                     "sr_ste needs λ ≥ 0 and interval ≥ 1"));
        if (shadow_.size() != cur.size()) shadow_ = cur;
        const auto kept = stco::kept_mask(ws_->entity());
        const double rate =
            static_cast<double>(learning_rate(opt)) * static_cast<double>(rule.interval);
        const T decay = static_cast<T>(std::max(0.0, 1.0 - rate * rule.lambda));
        stco::tensor<T, 2> next(dextents<2>(rows_, cols_));
        for (index_t i = 0; i < next.size(); ++i)
          next[i] = kept[i] ? cur[i] : shadow_[i] * decay - static_cast<T>(rate) * dense_grad_[i];
        const auto scores = optim::magnitude_scores(next);
        std::visit([&](auto& o) { optim::update_mask(*ws_, scores, s, o, next); }, opt);
        shadow_ = std::move(next);
      }
      dws_.reset();
      dense_grad_valid_ = false;
    }
  }

 protected:
  affine_layer(const char* kind, index_t rows, index_t cols, index_t fan_in, bool bias,
               std::uint64_t seed)
      : kind_(kind),
        rows_(rows),
        cols_(cols),
        has_bias_(bias),
        b_(dextents<1>(bias ? rows : 0)),
        db_(dextents<1>(bias ? rows : 0)) {
    if (rows < 1 || cols < 1)
      throw argument_error(stco::detail::message("stco::nn::", kind, ": weight [", rows, ", ", cols,
                                                 "] must not be empty"));
    // PyTorch's default: U(−1/√fan_in, 1/√fan_in) for the weight and the bias.
    std::mt19937_64 g(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    stco::tensor<T, 2> w(dextents<2>(rows, cols));
    for (auto& x : w) x = static_cast<T>(bound * u(g));
    for (auto& x : b_) x = static_cast<T>(bound * u(g));
    wd_.emplace(stco::gather<T>(w.view(), std::make_shared<const dense_entity>(w.shape())));
  }

  /// Calls f with the active weight (dense phase or layout).
  template <class F>
  void with_weight(F&& f) const {
    if (ws_)
      f(*ws_);
    else
      f(*wd_);
  }
  /// Calls f(W, dW) with the active weight and its gradient (sharing W's entity).
  template <class F>
  void with_weight_grad(F&& f) {
    if (ws_) {
      ensure_sparse_grad();
      f(*ws_, *dws_);
    } else {
      ensure_dense_grad();
      f(*wd_, *dwd_);
    }
  }
  const stco::tensor<T, 1>* bias_ptr() const { return has_bias_ ? &b_ : nullptr; }

  const char* kind_;
  index_t rows_, cols_;
  bool has_bias_;
  bool relu_ = false;
  bool want_dense_grad_ = false;
  bool dense_grad_valid_ = false;
  stco::tensor<T, 1> b_, db_;
  activation_stash<T> stash_;
  stco::tensor<T, 2> dense_grad_;  // the dense weight gradient, when requested

 private:
  void ensure_sparse_grad() {
    if (!dws_ || dws_->entity_ptr() != ws_->entity_ptr()) dws_.emplace(ws_->zeros_like());
  }
  void ensure_dense_grad() {
    if (!dwd_ || dwd_->entity_ptr() != wd_->entity_ptr()) dwd_.emplace(wd_->zeros_like());
  }
  void after_load(const std::shared_ptr<stco::tensor<T, 1>>& b) {
    if (b) b_ = std::move(*b);
    db_.fill(T(0));
    dense_grad_valid_ = false;
    shadow_ = stco::tensor<T, 2>();  // sr_ste restarts from the loaded weights
  }
  std::optional<dense_weight> wd_, dwd_;
  std::optional<sparse_weight> ws_, dws_;
  stco::tensor<T, 2> shadow_;  // sr_ste: the dense weights, pruned ones kept decaying
};

}  // namespace stco::nn
