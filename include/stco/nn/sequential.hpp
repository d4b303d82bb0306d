// stco/nn/sequential.hpp — layers run in order: forward, backward, step, modes, parameters,
// save and load.
//
//     stco::nn::Sequential<float> net(/*seed=*/42);
//     net.add<stco::nn::Conv2d<float, stco::nm<2, 4>>>(1, 32, stco::conv{}.kernel(3).pad(1));
//     net.add<stco::nn::ReLU<float>>();          // fused into the convolution's kernel
//     ...
//     const auto& logits = net.forward(x);
//     auto l = stco::nn::softmax_cross_entropy(logits, labels);
//     net.backward(l.dlogits);
//     net.step(opt);
//
// Seeding: the net holds a model seed; add() gives layer i the seed layer_seed(seed, i)
// (splitmix64, stco/nn/seed.hpp), so same-shape layers start different and the same model seed
// rebuilds the same initial net. A layer built with an explicit seed keeps its own weights.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "stco/nn/archive.hpp"
#include "stco/nn/layer.hpp"
#include "stco/nn/prunable.hpp"
#include "stco/nn/relu.hpp"
#include "stco/nn/seed.hpp"

namespace stco::nn {

template <class T, class B = cpu>
class Sequential {
 public:
  using layer_type = layer<T, B>;
  using tensor4 = typename layer_type::tensor4;
  using optimizer_type = typename B::optimizer;
  using prunable_type = basic_prunable<optimizer_type>;

  /// An empty net whose layers draw their initial weights from `seed` (see above).
  explicit Sequential(std::uint64_t seed = default_model_seed) : seed_(seed) {}
  Sequential(Sequential&&) = default;
  Sequential& operator=(Sequential&&) = default;

  /// Appends a layer built from `args`; returns it. A ReLU that follows a layer able to absorb it
  /// (Conv2d, Linear, BatchNorm2d) is fused into that layer and passes its input through.
  template <class Layer, class... Args>
  Layer& add(Args&&... args) {
    static_assert(std::is_base_of_v<layer_type, Layer>,
                  "stco::nn::Sequential::add: not a layer of this value type and backend");
    auto p = std::make_unique<Layer>(std::forward<Args>(args)...);
    Layer& ref = *p;
    add(std::move(p));
    return ref;
  }
  layer_type& add(std::unique_ptr<layer_type> l) {
    if (!l) throw argument_error("stco::nn::Sequential::add: null layer");
    l->take_model_seed(layer_seed(seed_, layers_.size()));
    if (auto* r = dynamic_cast<ReLU<T, B>*>(l.get()); r && !layers_.empty())
      if (layers_.back()->fuse_relu()) r->set_fused(true);
    l->train(training_);
    layers_.push_back(std::move(l));
    return *layers_.back();
  }

  std::size_t size() const noexcept { return layers_.size(); }
  /// The model seed the layers' initial weights derive from.
  std::uint64_t seed() const noexcept { return seed_; }
  layer_type& operator[](std::size_t i) { return *layers_.at(i); }
  const layer_type& operator[](std::size_t i) const { return *layers_.at(i); }

  /// Runs every layer; returns the last one's output. x must stay alive until backward.
  const tensor4& forward(const tensor4& x) {
    if (layers_.empty()) throw argument_error("stco::nn::Sequential::forward: no layers");
    const tensor4* cur = &x;
    for (auto& l : layers_) cur = &l->forward(*cur);
    return *cur;
  }

  /// Back-propagates dL/d(output) through every layer, computing every parameter gradient. The
  /// first layer's input gradient is computed only if `need_input_grad` (returned, else empty).
  const tensor4& backward(const tensor4& dy, bool need_input_grad = false) {
    if (layers_.empty()) throw argument_error("stco::nn::Sequential::backward: no layers");
    const tensor4* cur = &dy;
    for (std::size_t i = layers_.size(); i-- > 0;)
      cur = &layers_[i]->backward(*cur, i > 0 || need_input_grad);
    return *cur;
  }

  void step(optimizer_type& opt) {
    for (auto& l : layers_) l->step(opt);
  }
  void zero_grad() {
    for (auto& l : layers_) l->zero_grad();
  }
  /// Drops the optimizer's state for every parameter (after a load, or to restart training).
  void forget(optimizer_type& opt) const {
    for (const auto& l : layers_) l->forget(opt);
  }
  void train(bool on = true) {
    training_ = on;
    for (auto& l : layers_) l->train(on);
  }
  void eval() { train(false); }
  bool training() const noexcept { return training_; }

  /// Every parameter and statistic, named "<layer index>.<role>".
  std::vector<parameter_info> parameters() const {
    std::vector<parameter_info> out;
    for (std::size_t i = 0; i < layers_.size(); ++i)
      layers_[i]->parameters(out, std::to_string(i) + ".");
    return out;
  }
  /// The layers with a prunable weight (layout other than dense), with their indices.
  std::vector<std::pair<std::size_t, prunable_type*>> prunable_layers() {
    std::vector<std::pair<std::size_t, prunable_type*>> out;
    for (std::size_t i = 0; i < layers_.size(); ++i)
      if (auto* p = dynamic_cast<prunable_type*>(layers_[i].get());
          p && p->layout_name() != "dense")
        out.emplace_back(i, p);
    return out;
  }

  /// One line per layer with its output shape for an input of shape `in`.
  std::string summary(shape4 in) const {
    std::string s;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      in = layers_[i]->output_shape(in);
      s += stco::detail::message("  ", i, "  ", layers_[i]->name(), "  → ", detail::shape_text(in),
                                 "\n");
    }
    return s;
  }

  /// The model's tensors (weights with their index entities, biases, batch-norm parameters and
  /// statistics) as an archive, and written to `path` (format: stco/nn/archive.hpp).
  archive to_archive() const {
    archive a;
    for (std::size_t i = 0; i < layers_.size(); ++i) layers_[i]->save(a, std::to_string(i) + ".");
    return a;
  }
  void save(const std::string& path) const { to_archive().write_file(path); }

  /// Loads every tensor from `a`. Everything is checked first — each record present, of the
  /// layer's layout (or dense, for a weight saved before pruning), shape and value type, its
  /// entity valid, no record left over — and only then is the model changed: a failed load
  /// (format_error) leaves it as it was. With `opt`, the optimizer's state for the model is
  /// dropped (it belonged to the old weights).
  void load(const archive& a, optimizer_type* opt = nullptr) {
    load_commits commits;
    for (std::size_t i = 0; i < layers_.size(); ++i)
      layers_[i]->stage_load(a, std::to_string(i) + ".", commits);
    std::set<std::string> expected;
    for (const auto& p : parameters()) expected.insert(p.name);
    for (const auto& r : a.records())
      if (!expected.count(r.name))
        a.fail(r, "the model has no tensor of this name (the file holds another model)");
    if (opt) forget(*opt);
    for (auto& c : commits) c();
  }
  void load(const std::string& path, optimizer_type* opt = nullptr) {
    load(archive::read_file(path), opt);
  }
  /// Loads from a model file held in memory (`size` bytes at `data`; `source` names it in
  /// errors). As load(): any defect throws format_error and leaves the model unchanged.
  void load_bytes(const unsigned char* data, std::size_t size, optimizer_type* opt = nullptr,
                  const std::string& source = "<memory>") {
    load(archive::parse(data, size, source), opt);
  }

 private:
  std::vector<std::unique_ptr<layer_type>> layers_;
  bool training_ = true;
  std::uint64_t seed_ = default_model_seed;
};

}  // namespace stco::nn
