// stco/nn/affine_layer.hpp — what Conv2d and Linear share: a weight that trains dense until it is
// pruned into layout L and then stays in L (address carrying: its gradient and optimizer state
// share its index entity; only a mask update builds a new one), an optional bias, an optional
// fused ReLU, and the pruning, mask-update and save/load plumbing. Written once for every backend:
// what touches the weights' memory (copies, decoding, pruning, scores, the mask update) goes
// through the backend's overloads (stco/nn/cpu/affine.hpp, stco/nn/cuda/affine.cuh); files and
// set_weight/weight_dense speak host tensors.
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
#include "stco/nn/seed.hpp"

namespace stco::nn {

template <class T, class L, class B>
class affine_layer : public layer<T, B>, public basic_prunable<typename B::optimizer> {
  static_assert(is_layout_v<L>, "stco::nn: the weight layout must be a stco layout");

 public:
  using layout_type = L;
  using dense_weight = typename B::template matrix<T, dense>;
  using sparse_weight = typename B::template matrix<T, L>;
  using vector_type = typename B::template tensor<T, 1>;
  using matrix2 = typename B::template tensor<T, 2>;
  using optimizer_type = typename B::optimizer;
  static constexpr bool dense_layout = std::is_same_v<L, dense>;

  /// The weight in its layout (null before pruning, and always for the dense layout).
  const sparse_weight* sparse() const noexcept { return ws_ ? &*ws_ : nullptr; }
  /// The weight during its dense phase (null once pruned).
  const dense_weight* dense_phase() const noexcept { return wd_ ? &*wd_ : nullptr; }
  /// The weight as a dense [R, K] matrix (zeros off the pattern).
  stco::tensor<T, 2> weight_dense() const {
    return ws_ ? host_tensor(B{}, decode_weight(B{}, *ws_))
               : host_tensor(B{}, decode_weight(B{}, *wd_));
  }
  /// The weight gradient of the last backward, dense [R, K] (zeros off the pattern).
  stco::tensor<T, 2> weight_grad_dense() const {
    if (ws_ && dws_ && dws_->entity_ptr() == ws_->entity_ptr())
      return host_tensor(B{}, decode_weight(B{}, *dws_));
    if (wd_ && dwd_) return host_tensor(B{}, decode_weight(B{}, *dwd_));
    return stco::tensor<T, 2>(dextents<2>(rows_, cols_));
  }
  /// The dense weight gradient of the last backward, when it was requested (else null).
  const matrix2* dense_weight_grad() const noexcept {
    return dense_grad_valid_ ? &dense_grad_ : nullptr;
  }
  bool has_bias() const noexcept { return has_bias_; }
  vector_type& bias() noexcept { return b_; }
  const vector_type& bias() const noexcept { return b_; }
  const vector_type& bias_grad() const noexcept { return db_; }
  bool relu_fused() const noexcept { return relu_; }

  /// Replaces the weight's values with `w` ([R, K]): in the dense phase all of them, once pruned
  /// those at kept positions (the pattern stays). For tests and initialization schemes.
  void set_weight(const stco::tensor<T, 2>& w) {
    if (w.extent(0) != rows_ || w.extent(1) != cols_)
      throw shape_error(stco::detail::message("stco::nn::", kind_, "::set_weight: ", w.shape(),
                                              " for a weight of [", rows_, ", ", cols_, "]"));
    reseedable_ = false;
    if (ws_)
      *ws_ = gather_weight(B{}, w, *ws_);
    else
      *wd_ = gather_weight(B{}, w, *wd_);
  }

  // --- layer ---
  bool fuse_relu() override { return relu_ = true; }
  void take_model_seed(std::uint64_t seed) override {
    if (reseedable_) initialize(seed);
  }
  void step(optimizer_type& opt) override {
    reseedable_ = false;
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
    if (dws_) set_zero(B{}, *dws_);
    if (dwd_) set_zero(B{}, *dwd_);
    set_zero(B{}, db_);
    dense_grad_valid_ = false;
  }
  void forget(optimizer_type& opt) const override {
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
      w.density = weight_density(B{}, W);
      w.bytes = weight_bytes(B{}, W);
    });
    out.push_back(w);
    if (has_bias_) out.push_back(detail::vector_info(prefix + "bias", b_));
  }
  void save(archive& a, const std::string& prefix) const override {
    with_weight([&](const auto& W) { a.put(prefix + "weight", host_copy(B{}, W)); });
    if (has_bias_) a.put(prefix + "bias", host_copy(B{}, b_));
  }
  void stage_load(const archive& a, const std::string& prefix, load_commits& commits) override {
    const std::string wname = prefix + "weight";
    const std::string& lay = a.layout_of(wname);
    const matrix_shape s{rows_, cols_};
    // Checked on the host, moved to the backend's memory here: the commits only move.
    std::shared_ptr<vector_type> b;
    if (has_bias_)
      b = std::make_shared<vector_type>(upload(B{}, a.get_vector<T>(prefix + "bias", rows_)));
    if (lay == dense::name() && !dense_layout) {
      auto W = std::make_shared<dense_weight>(upload(B{}, a.get_matrix<T, dense>(wname, s)));
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
      auto W = std::make_shared<sparse_weight>(upload(B{}, a.get_matrix<T, L>(wname, s)));
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
    with_weight([&](const auto& W) { d = weight_density(B{}, W); });
    return 1.0 - d;
  }
  double min_sparsity() const override { return L::min_sparsity; }
  double max_sparsity() const override { return L::max_sparsity; }
  matrix_shape weight_shape() const override { return {rows_, cols_}; }

  void prune(double s, optimizer_type& opt) override {
    if constexpr (dense_layout) {
      (void)s, (void)opt;
      throw argument_error(
          stco::detail::message("stco::nn::", kind_, "::prune: the layer's layout is dense"));
    } else {
      reseedable_ = false;
      if (ws_) return update_mask(mask_rule{}, s, opt);
      auto dense_values = decode_weight(B{}, *wd_);
      sparse_weight W =
          prune_weight(B{}, layout_tag<L>{}, dense_values, s);  // throws before anything changes
      shadow_ = std::move(dense_values);
      std::visit([&](auto& o) { o.forget(*wd_); }, opt);
      ws_.emplace(std::move(W));
      wd_.reset(), dwd_.reset(), dws_.reset();
      dense_grad_valid_ = false;
    }
  }
  void request_dense_grad(bool on) override { want_dense_grad_ = on; }
  void update_mask(const mask_rule& rule, double s, optimizer_type& opt) override {
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
      const auto cur = decode_weight(B{}, *ws_);
      if (rule.how == mask_rule::kind::magnitude) {
        const auto scores = magnitude_scores(B{}, cur);
        std::visit([&](auto& o) { update_weight_mask(B{}, *ws_, scores, s, o); }, opt);
      } else if (rule.how == mask_rule::kind::regrow) {
        const auto scores = magnitude_gradient_scores(B{}, cur, dense_grad_, rule.lambda);
        std::visit([&](auto& o) { update_weight_mask(B{}, *ws_, scores, s, o); }, opt);
      } else {
        if (!(rule.lambda >= 0) || rule.interval < 1)
          throw argument_error(stco::detail::message("stco::nn::", kind_, op,
                                                     "sr_ste needs λ ≥ 0 and interval ≥ 1"));
        if (shadow_.size() != cur.size()) shadow_ = copy_tensor(B{}, cur);
        const double rate =
            static_cast<double>(learning_rate(opt)) * static_cast<double>(rule.interval);
        const T decay = static_cast<T>(std::max(0.0, 1.0 - rate * rule.lambda));
        // next = cur at kept positions, shadow·decay − rate·grad at pruned ones
        auto next =
            sr_ste_shadow(B{}, *ws_, cur, shadow_, dense_grad_, decay, static_cast<T>(rate));
        const auto scores = magnitude_scores(B{}, next);
        std::visit([&](auto& o) { update_weight_mask(B{}, *ws_, scores, s, o, next); }, opt);
        shadow_ = std::move(next);
      }
      dws_.reset();
      dense_grad_valid_ = false;
    }
  }

 protected:
  /// Without `seed`, the initial weights come from layer_seed(default_model_seed, 0) and are
  /// redrawn from the layer's own seed when a Sequential adds the layer (take_model_seed).
  affine_layer(const char* kind, index_t rows, index_t cols, index_t fan_in, bool bias,
               std::optional<std::uint64_t> seed)
      : kind_(kind),
        rows_(rows),
        cols_(cols),
        has_bias_(bias),
        db_(dextents<1>(bias ? rows : 0)),
        fan_in_(fan_in),
        reseedable_(!seed) {
    if (rows < 1 || cols < 1)
      throw argument_error(stco::detail::message("stco::nn::", kind, ": weight [", rows, ", ", cols,
                                                 "] must not be empty"));
    initialize(seed ? *seed : layer_seed(default_model_seed, 0));
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
  const vector_type* bias_ptr() const { return has_bias_ ? &b_ : nullptr; }

  const char* kind_;
  index_t rows_, cols_;
  bool has_bias_;
  bool relu_ = false;
  bool want_dense_grad_ = false;
  bool dense_grad_valid_ = false;
  vector_type b_, db_;
  typename B::template stash<T> stash_;
  matrix2 dense_grad_;  // the dense weight gradient, when requested

 private:
  void ensure_sparse_grad() {
    if (!dws_ || dws_->entity_ptr() != ws_->entity_ptr()) dws_.emplace(zeros_like(B{}, *ws_));
  }
  void ensure_dense_grad() {
    if (!dwd_ || dwd_->entity_ptr() != wd_->entity_ptr()) dwd_.emplace(zeros_like(B{}, *wd_));
  }
  /// PyTorch's default: U(−1/√fan_in, 1/√fan_in) for the weight and the bias, drawn from `seed`.
  void initialize(std::uint64_t seed) {
    std::mt19937_64 g(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in_));
    stco::tensor<T, 2> w(dextents<2>(rows_, cols_));
    stco::tensor<T, 1> b(dextents<1>(has_bias_ ? rows_ : 0));
    for (auto& x : w) x = static_cast<T>(bound * u(g));
    for (auto& x : b) x = static_cast<T>(bound * u(g));
    b_ = upload(B{}, std::move(b));
    wd_.emplace(
        upload(B{}, stco::gather<T>(w.view(), std::make_shared<const dense_entity>(w.shape()))));
  }
  void after_load(const std::shared_ptr<vector_type>& b) {
    reseedable_ = false;
    if (b) b_ = std::move(*b);
    set_zero(B{}, db_);
    dense_grad_valid_ = false;
    shadow_ = matrix2();  // sr_ste restarts from the loaded weights
  }
  std::optional<dense_weight> wd_, dwd_;
  std::optional<sparse_weight> ws_, dws_;
  matrix2 shadow_;  // sr_ste: the dense weights, pruned ones kept decaying
  index_t fan_in_;
  bool reseedable_;  // built without a seed and unchanged since: a model seed may redraw it
};

}  // namespace stco::nn
