// stco/expr/activation_stash.hpp — what the forward pass keeps for the backward pass.
//
// An expression with an activation needs the activation's input z to differentiate it. A forward
// evaluation given a stash writes z there from the same fused kernel (one extra store per output);
// grad(expr, dY, stash) then applies the activation's derivative from it inside the gradient
// kernels. Expressions without an activation need no stash.
#pragma once

#include <vector>

#include "stco/core/index.hpp"
#include "stco/expr/epilogue.hpp"

namespace stco {

template <class T>
class activation_stash {
 public:
  using value_type = acc_t<T>;
  /// Elements held (the output size of the last forward that filled it; 0 before).
  index_t size() const noexcept { return static_cast<index_t>(z_.size()); }
  bool empty() const noexcept { return z_.empty(); }
  const value_type* data() const noexcept { return z_.data(); }
  value_type* prepare(index_t n) {
    z_.resize(static_cast<std::size_t>(n));
    return z_.data();
  }

 private:
  std::vector<value_type> z_;
};

}  // namespace stco
