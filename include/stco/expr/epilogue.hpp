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
#include <type_traits>
#include <utility>

#include "stco/config.hpp"
#include "stco/core/index.hpp"
#include "stco/core/value_traits.hpp"

namespace stco {

namespace ops {

template <class T>
struct bias {
  const T* b;
  static constexpr bool is_activation = false, is_bias = true;
  template <class C>
  STCO_HD C apply(C z, index_t ch, index_t) const {
    return z + static_cast<C>(to_double(b[ch]));
  }
  template <class C>
  STCO_HD C derivative(C, index_t, index_t) const {
    return C(1);
  }
};

struct scale {
  double a;
  static constexpr bool is_activation = false, is_bias = false;
  template <class C>
  STCO_HD C apply(C z, index_t, index_t) const {
    return z * static_cast<C>(a);
  }
  template <class C>
  STCO_HD C derivative(C, index_t, index_t) const {
    return static_cast<C>(a);
  }
};

template <class T>
struct residual {
  const T* r;
  static constexpr bool is_activation = false, is_bias = false;
  template <class C>
  STCO_HD C apply(C z, index_t, index_t pos) const {
    return z + static_cast<C>(to_double(r[pos]));
  }
  template <class C>
  STCO_HD C derivative(C, index_t, index_t) const {
    return C(1);
  }
};

struct relu {
  static constexpr bool is_activation = true, is_bias = false;
  static const char* name() { return "relu"; }
  template <class C>
  STCO_HD C apply(C z, index_t, index_t) const {
    return z > C(0) ? z : C(0);
  }
  /// d relu / dz at the activation input z.
  template <class C>
  STCO_HD C derivative(C z, index_t, index_t) const {
    return z > C(0) ? C(1) : C(0);
  }
};

/// GELU, tanh approximation (as PyTorch's approximate='tanh').
struct gelu {
  static constexpr bool is_activation = true, is_bias = false;
  static const char* name() { return "gelu"; }
  static constexpr double k0 = 0.7978845608028654, k1 = 0.044715;  // √(2/π)
  template <class C>
  STCO_HD C apply(C z, index_t, index_t) const {
    const C u = static_cast<C>(k0) * (z + static_cast<C>(k1) * z * z * z);
    return C(0.5) * z * (C(1) + std::tanh(u));
  }
  template <class C>
  STCO_HD C derivative(C z, index_t, index_t) const {
    const C u = static_cast<C>(k0) * (z + static_cast<C>(k1) * z * z * z);
    const C t = std::tanh(u);
    const C du = static_cast<C>(k0) * (C(1) + C(3) * static_cast<C>(k1) * z * z);
    return C(0.5) * (C(1) + t) + C(0.5) * z * (C(1) - t * t) * du;
  }
};

}  // namespace ops

namespace detail {
/// The ops of a chain: a minimal tuple (head, then the rest) that is trivially copyable whenever
/// its ops are, so the same chain object is a CUDA kernel argument and runs in device code.
template <class... Ops>
struct op_list {};
template <class Op, class... Rest>
struct op_list<Op, Rest...> {
  Op head;
  op_list<Rest...> tail;
};

/// l with op appended.
template <class Op>
op_list<Op> append_op(const op_list<>&, const Op& op) {
  return {op, {}};
}
template <class H, class... R, class Op>
op_list<H, R..., Op> append_op(const op_list<H, R...>& l, const Op& op) {
  return {l.head, append_op(l.tail, op)};
}

template <class C>
STCO_HD C apply_ops(const op_list<>&, C z, index_t, index_t, C*) {
  return z;
}
template <class C, class Op, class... Rest>
STCO_HD C apply_ops(const op_list<Op, Rest...>& l, C z, index_t ch, index_t pos, C* stash) {
  if constexpr (Op::is_activation)
    if (stash) *stash = z;
  return apply_ops(l.tail, l.head.apply(z, ch, pos), ch, pos, stash);
}

/// Product of the derivatives of the ops in l (after the bias only, when AfterBias).
template <bool AfterBias, class C>
STCO_HD C factor_ops(const op_list<>&, index_t, index_t, C, bool) {
  return C(1);
}
template <bool AfterBias, class C, class Op, class... Rest>
STCO_HD C factor_ops(const op_list<Op, Rest...>& l, index_t ch, index_t pos, C act_in,
                     bool seen_bias) {
  const bool counted = !AfterBias || seen_bias;
  const C d = counted ? l.head.derivative(act_in, ch, pos) : C(1);
  return d * factor_ops<AfterBias>(l.tail, ch, pos, act_in, seen_bias || Op::is_bias);
}
}  // namespace detail

/// The ops after a core op, in application order. Trivially copyable (the ops hold pointers and
/// scalars), and every member function is host and device code, so CUDA kernels take the chain
/// by value and apply it as the CPU kernels do.
template <class... Ops>
struct chain {
  detail::op_list<Ops...> ops;

  static constexpr int activations = (0 + ... + int(Ops::is_activation));
  static constexpr int biases = (0 + ... + int(Ops::is_bias));
  static constexpr bool has_activation = activations > 0;
  static_assert(activations <= 1,
                "stco: an epilogue holds at most one activation; split the expression in two "
                "(evaluate the first into a tensor, then apply the second)");
  static_assert(biases <= 1, "stco: an epilogue holds at most one bias; add the biases first");

  /// y for core output z; writes the activation's input to *stash when asked.
  template <class C>
  STCO_HD C apply(C z, index_t ch, index_t pos, C* stash = nullptr) const {
    return detail::apply_ops(ops, z, ch, pos, stash);
  }

  /// dL/dz (the core output) from dL/dy, given the stashed activation input.
  template <class C>
  STCO_HD C core_gradient(C dy, index_t ch, index_t pos, C act_in) const {
    return dy * detail::factor_ops<false>(ops, ch, pos, act_in, false);
  }
  /// dL/d(bias output) from dL/dy: the derivative of the ops after the bias only.
  template <class C>
  STCO_HD C bias_gradient(C dy, index_t ch, index_t pos, C act_in) const {
    return dy * detail::factor_ops<true>(ops, ch, pos, act_in, false);
  }
};

}  // namespace stco
