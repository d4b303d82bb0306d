// stco/expr/epilogue.hpp — element-wise operations fused after a core op (matmul, conv2d), and
// their derivatives for the gradient kernels.
//
// An epilogue is an ordered chain of ops applied to each output element z of the core op:
// bias (per output channel), scale, one activation (relu or gelu) and residual add. Each op gets
// the output channel `ch` and the linear output position `pos`. The gradient kernels multiply dY
// by the chain's derivative on the fly (the activation's from the stashed activation input), so
// the masked dY is never written as a tensor.
#pragma once

#include <cmath>
#include <tuple>
#include <type_traits>
#include <utility>

#include "stco/core/index.hpp"
#include "stco/core/value_traits.hpp"

namespace stco {

namespace ops {

template <class T>
struct bias {
  const T* b;
  static constexpr bool is_activation = false, is_bias = true;
  template <class C>
  C apply(C z, index_t ch, index_t) const {
    return z + static_cast<C>(to_double(b[ch]));
  }
  template <class C>
  C derivative(C, index_t, index_t) const {
    return C(1);
  }
};

struct scale {
  double a;
  static constexpr bool is_activation = false, is_bias = false;
  template <class C>
  C apply(C z, index_t, index_t) const {
    return z * static_cast<C>(a);
  }
  template <class C>
  C derivative(C, index_t, index_t) const {
    return static_cast<C>(a);
  }
};

template <class T>
struct residual {
  const T* r;
  static constexpr bool is_activation = false, is_bias = false;
  template <class C>
  C apply(C z, index_t, index_t pos) const {
    return z + static_cast<C>(to_double(r[pos]));
  }
  template <class C>
  C derivative(C, index_t, index_t) const {
    return C(1);
  }
};

struct relu {
  static constexpr bool is_activation = true, is_bias = false;
  static const char* name() { return "relu"; }
  template <class C>
  C apply(C z, index_t, index_t) const {
    return z > C(0) ? z : C(0);
  }
  /// d relu / dz at the activation input z.
  template <class C>
  C derivative(C z, index_t, index_t) const {
    return z > C(0) ? C(1) : C(0);
  }
};

/// GELU, tanh approximation (as PyTorch's approximate='tanh').
struct gelu {
  static constexpr bool is_activation = true, is_bias = false;
  static const char* name() { return "gelu"; }
  static constexpr double k0 = 0.7978845608028654, k1 = 0.044715;  // √(2/π)
  template <class C>
  C apply(C z, index_t, index_t) const {
    const C u = static_cast<C>(k0) * (z + static_cast<C>(k1) * z * z * z);
    return C(0.5) * z * (C(1) + std::tanh(u));
  }
  template <class C>
  C derivative(C z, index_t, index_t) const {
    const C u = static_cast<C>(k0) * (z + static_cast<C>(k1) * z * z * z);
    const C t = std::tanh(u);
    const C du = static_cast<C>(k0) * (C(1) + C(3) * static_cast<C>(k1) * z * z);
    return C(0.5) * (C(1) + t) + C(0.5) * z * (C(1) - t * t) * du;
  }
};

}  // namespace ops

/// The ops after a core op, in application order.
template <class... Ops>
struct chain {
  std::tuple<Ops...> ops;

  static constexpr int activations = (0 + ... + int(Ops::is_activation));
  static constexpr int biases = (0 + ... + int(Ops::is_bias));
  static constexpr bool has_activation = activations > 0;
  static_assert(activations <= 1,
                "stco: an epilogue holds at most one activation; split the expression in two "
                "(evaluate the first into a tensor, then apply the second)");
  static_assert(biases <= 1, "stco: an epilogue holds at most one bias; add the biases first");

  /// y for core output z; writes the activation's input to *stash when asked.
  template <class C>
  C apply(C z, index_t ch, index_t pos, C* stash = nullptr) const {
    return apply_from<0>(z, ch, pos, stash);
  }

  /// dL/dz (the core output) from dL/dy, given the stashed activation input.
  template <class C>
  C core_gradient(C dy, index_t ch, index_t pos, C act_in) const {
    return dy * factor_from<0, false>(ch, pos, act_in);
  }
  /// dL/d(bias output) from dL/dy: the derivative of the ops after the bias only.
  template <class C>
  C bias_gradient(C dy, index_t ch, index_t pos, C act_in) const {
    return dy * factor_from<0, true>(ch, pos, act_in);
  }

 private:
  template <std::size_t I, class C>
  C apply_from(C z, index_t ch, index_t pos, C* stash) const {
    if constexpr (I == sizeof...(Ops)) {
      return z;
    } else {
      const auto& op = std::get<I>(ops);
      if constexpr (std::tuple_element_t<I, std::tuple<Ops...>>::is_activation)
        if (stash) *stash = z;
      return apply_from<I + 1>(op.apply(z, ch, pos), ch, pos, stash);
    }
  }
  /// Product of the derivatives of ops I.. (after the bias only, when AfterBias).
  template <std::size_t I, bool AfterBias, class C>
  C factor_from(index_t ch, index_t pos, C act_in, bool seen_bias = false) const {
    if constexpr (I == sizeof...(Ops)) {
      return C(1);
    } else {
      using Op = std::tuple_element_t<I, std::tuple<Ops...>>;
      const bool counted = !AfterBias || seen_bias;
      const C d = counted ? std::get<I>(ops).derivative(act_in, ch, pos) : C(1);
      return d * factor_from<I + 1, AfterBias>(ch, pos, act_in, seen_bias || Op::is_bias);
    }
  }
};

}  // namespace stco
