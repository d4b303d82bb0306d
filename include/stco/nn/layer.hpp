// stco/nn/layer.hpp — the interface every layer implements, and what a model lists about its
// parameters.
//
// Activations between layers are NHWC rank-4 tensors; a flat feature vector is [N, 1, 1, F].
// A layer owns its output and input-gradient buffers and returns references to them, valid until
// its next forward/backward. forward(x) keeps a reference to x for backward: x must stay alive
// and unchanged until then (inside a sequential container it is the previous layer's output).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "stco/nn/archive.hpp"
#include "stco/nn/backend.hpp"
#include "stco/nn/optimizer.hpp"
#include "stco/nn/seed.hpp"

namespace stco::nn {

/// One parameter as a model lists it.
struct parameter_info {
  std::string name;    // "<layer index>.<role>", e.g. "3.weight", "1.running_mean"
  std::string layout;  // L::name() of a weight, "vector" otherwise
  std::vector<index_t> shape;
  index_t values = 0;     // stored values (compressed, padding included)
  double density = 1.0;   // kept share of the logical positions
  std::size_t bytes = 0;  // values plus index
  bool trainable = true;  // false for running statistics
};

namespace detail {
/// (A host or device vector.)
template <class V>
parameter_info vector_info(std::string name, const V& v, bool trainable = true) {
  static_assert(V::rank() == 1, "stco::nn: vector_info takes a rank-1 tensor");
  using T = typename V::value_type;
  parameter_info p;
  p.name = std::move(name);
  p.layout = "vector";
  p.shape = {v.size()};
  p.values = v.size();
  p.bytes = static_cast<std::size_t>(v.size()) * sizeof(T);
  p.trainable = trainable;
  return p;
}
}  // namespace detail

/// Deferred changes of a load: run only once every record of the file has been checked, so a
/// failed load leaves the model unchanged. Each must not throw.
using load_commits = std::vector<std::function<void()>>;

template <class T, class B = cpu>
class layer {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "stco::nn layers compute in float or double");

 public:
  using value_type = T;
  using backend = B;
  using tensor4 = typename B::template tensor<T, 4>;
  using optimizer_type = typename B::optimizer;

  layer() = default;
  layer(const layer&) = delete;
  layer& operator=(const layer&) = delete;
  virtual ~layer() = default;

  /// A short description, e.g. "Conv2d<nm<2,4>>(32 → 64, 3x3, pad 1) + ReLU".
  virtual std::string name() const = 0;
  /// The output shape for an input of shape `in` (shape_error if the layer cannot take it).
  virtual shape4 output_shape(const shape4& in) const = 0;
  /// Computes the output for x (kept by reference until backward).
  virtual const tensor4& forward(const tensor4& x) = 0;
  /// From dL/dy of the last forward: the parameter gradients and, if need_dx, dL/dx (else the
  /// returned reference is to an empty tensor).
  virtual const tensor4& backward(const tensor4& dy, bool need_dx = true) = 0;

  /// Updates the parameters from their gradients of the last backward.
  virtual void step(optimizer_type&) {}
  /// Sets the parameter gradients to zero.
  virtual void zero_grad() {}
  /// Drops the optimizer's state for this layer's parameters.
  virtual void forget(optimizer_type&) const {}
  /// Training (batch statistics) or evaluation mode.
  virtual void train(bool on) { training_ = on; }
  bool training() const noexcept { return training_; }
  /// Absorbs a ReLU that follows into this layer's kernels; true if it did.
  virtual bool fuse_relu() { return false; }
  /// Sequential::add passes the layer's seed derived from the model seed (stco/nn/seed.hpp). A
  /// layer with random initial weights redraws them from it, unless it was built with an explicit
  /// seed or its weights changed since construction.
  virtual void take_model_seed(std::uint64_t seed) { (void)seed; }

  /// Appends this layer's parameters, named prefix + role.
  virtual void parameters(std::vector<parameter_info>&, const std::string& prefix) const {
    (void)prefix;
  }
  /// Adds this layer's tensors to `a`, named prefix + role.
  virtual void save(archive& a, const std::string& prefix) const { (void)a, (void)prefix; }
  /// Checks this layer's records in `a` and appends the changes that load them to `commits`
  /// (format_error if a record is missing or does not fit). Changes nothing itself.
  virtual void stage_load(const archive& a, const std::string& prefix, load_commits& commits) {
    (void)a, (void)prefix, (void)commits;
  }

 protected:
  bool training_ = true;
};

}  // namespace stco::nn
