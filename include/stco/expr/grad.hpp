// stco/expr/grad.hpp — gradients of an expression with address carrying.
//
//     auto g  = stco::grad(stco::relu(stco::matmul(W, X) + stco::bias(b)), dY, stash);
//     auto dW = g.wrt(W);   // sparse_matrix sharing W's index entity, computed at kept addresses
//     auto dX = g.wrt(X);   // Wᵀ·dZ through the entity's cached transposed traversal
//     auto db = g.wrt(b);
//
// dZ = dY ⊙ (the epilogue's derivative) is formed inside each gradient kernel from dY and the
// stashed activation input. Without a stash, an expression with an activation re-runs its
// forward pass once to recover the activation input (that costs one forward; pass the stash of
// the forward evaluation to avoid it).
//
// Operands are recognised by identity, not by value: wrt(W) takes the very sparse_matrix object
// the expression was built from (a copy, even of equal values and entity, is refused), wrt(X) and
// wrt(b) a tensor or view whose data pointer AND extents are the operand's (a view of part of X,
// or of X's memory under another shape, is refused), so the gradient written always has the
// operand's shape.
#pragma once

#include <type_traits>
#include <vector>

#include "stco/expr/eval.hpp"

namespace stco {

/// The gradients of one expression for one dY (made by stco::grad).
///
/// Copyable and movable, as a value: a copy is independent of the original. It holds the same
/// operand pointers, dY pointer and (when given) stash pointer, so those must outlive it, but
/// activation inputs that the gradient recomputed itself (no stash given) are owned by each copy,
/// so destroying the original leaves a copy valid.
template <class E>
class gradient {
  using F = flatten<E>;
  using Core = typename F::core_type;
  using Chain = typename F::chain_type;
  static_assert(!is_device_core<Core>::value,
                "stco::grad: the expression's operands live on the device; pass a device dY and "
                "a stream: stco::grad(expr, dY, stash, stco::cuda::stream{s})");

 public:
  using value_type = typename E::value_type;
  using layout_type = typename E::layout_type;
  using compute_type = acc_t<value_type>;
  static constexpr std::size_t rank = E::out_rank;

  gradient(const E& e, const value_type* dY, const std::array<index_t, rank>& dy_shape,
           const activation_stash<value_type>* stash)
      : e_(e), chain_(F::epilogue(e)), dy_(dY) {
    if (dy_shape != e.out_shape())
      throw shape_error(detail::message("stco::grad: dY ", detail::shape_text(dy_shape),
                                        " does not match the expression's output ",
                                        detail::shape_text(e.out_shape())));
    if constexpr (Chain::has_activation) {
      index_t n = 1;
      for (index_t d : e.out_shape()) n *= d;
      if (stash) {
        if (stash->size() != n)
          throw shape_error(detail::message("stco::grad: the stash holds ", stash->size(),
                                            " activation inputs, the output has ", n,
                                            " (evaluate the expression with it first)"));
        stash_z_ = stash->data();
      } else {
        auto y = evaluate(e, &own_);
        owns_z_ = true;
      }
    }
  }

  /// dL/dW at W's kept addresses, sharing W's entity. W must be the expression's weight.
  template <class L>
  sparse_matrix<value_type, L> wrt(const sparse_matrix<value_type, L>& W) const {
    auto dW = W.zeros_like();
    wrt_into(W, dW);
    return dW;
  }
  /// As wrt(W), into an existing gradient that shares W's entity.
  template <class L>
  void wrt_into(const sparse_matrix<value_type, L>& W, sparse_matrix<value_type, L>& dW) const {
    const Core& core = F::core(e_);
    if (static_cast<const void*>(&W) != static_cast<const void*>(core.w))
      throw argument_error(
          "stco::grad: wrt(W): W is not the expression's weight (W is identified by address: "
          "pass the sparse_matrix the expression was built from, not a copy)");
    if (dW.entity_ptr() != W.entity_ptr())
      throw argument_error(
          "stco::grad: wrt_into(W, dW): dW does not share W's index entity (build it with "
          "W.zeros_like())");
    std::vector<compute_type> acc(static_cast<std::size_t>(W.value_count()));
    if constexpr (rank == 2)
      kernel::cpu::matmul_grad_w(W, core.x, dy_, z(), chain_, acc.data());
    else
      kernel::cpu::conv2d_grad_w(W, core.x.data(), core.geo, dy_, z(), chain_, acc.data());
    value_type* out = dW.values();
    for (index_t i = 0; i < W.value_count(); ++i)
      out[i] = kernel::cpu::from_compute<value_type>(acc[i]);
  }

  /// dL/dX (rank 2 for matmul, NHWC for conv2d), or dL/db for a rank-1 bias.
  template <class T, class Ext>
  tensor<value_type, Ext::rank()> wrt(const basic_tensor<T, Ext>& t) const {
    return wrt(t.view());
  }
  template <class T, class Ext>
  tensor<value_type, Ext::rank()> wrt(const basic_tensor_view<T, Ext>& t) const {
    dextents<Ext::rank()> ext;
    if constexpr (Ext::rank() == 1)
      ext = dextents<1>(t.extent(0));
    else if constexpr (Ext::rank() == 2)
      ext = dextents<2>(t.extent(0), t.extent(1));
    else
      ext = dextents<4>(t.extent(0), t.extent(1), t.extent(2), t.extent(3));
    tensor<value_type, Ext::rank()> out(ext);
    wrt_into(t, out.view());
    return out;
  }

  /// dL/dX or dL/db into `out`, which must have the operand's extents. `t` must be the operand
  /// itself (or a view of all of it): same data pointer and same extents.
  template <class T, class Ext, class O, class OE>
  void wrt_into(const basic_tensor_view<T, Ext>& t, basic_tensor_view<O, OE> out) const {
    static_assert(
        std::is_same_v<std::remove_const_t<T>, value_type> && std::is_same_v<O, value_type>,
        "stco::grad: wrt(): value types differ from the expression's");
    static_assert(OE::rank() == Ext::rank(),
                  "stco::grad: wrt_into(): the output's rank differs from the operand's");
    const Core& core = F::core(e_);
    if constexpr (Ext::rank() == 1) {
      const operand_ref b = bias_of(e_);
      if (b.data == nullptr || static_cast<const void*>(t.data()) != b.data)
        throw argument_error("stco::grad: wrt(b): b is not the expression's bias");
      if (t.extent(0) != b.size)
        throw argument_error(
            detail::message("stco::grad: wrt(b): b is not the expression's bias: a view of ",
                            t.extent(0), " values at its address, the bias has ", b.size));
      check_out(out, t.extents().array(), "b");
      const auto s = e_.out_shape();
      if constexpr (rank == 2)
        kernel::cpu::bias_grad(dy_, z(), s[0], s[1], s[1], 1, chain_, out.data());
      else
        kernel::cpu::bias_grad(dy_, z(), s[3], s[0] * s[1] * s[2], 1, s[3], chain_, out.data());
    } else {
      static_assert(Ext::rank() == rank, "stco::grad: wrt(): no operand of this rank");
      if (static_cast<const void*>(t.data()) != static_cast<const void*>(core.x.data()))
        throw argument_error("stco::grad: wrt(X): X is not the expression's input");
      if (t.extents().array() != core.x.extents().array())
        throw argument_error(
            detail::message("stco::grad: wrt(X): X is not the expression's input: a view ",
                            detail::shape_text(t.extents().array()), " at its address, X is ",
                            detail::shape_text(core.x.extents().array())));
      check_out(out, t.extents().array(), "X");
      if constexpr (rank == 2)
        kernel::cpu::matmul_grad_x(*core.w, dy_, core.x.extent(1), z(), chain_, out.data());
      else
        kernel::cpu::conv2d_grad_x(*core.w, core.geo, dy_, z(), chain_, out.data());
    }
  }

 private:
  struct operand_ref {
    const value_type* data;
    index_t size;
  };
  template <class X>
  static operand_ref bias_of(const X&) {
    return {nullptr, 0};
  }
  template <class Inner, class Op>
  static operand_ref bias_of(const epilogue_expr<Inner, Op>& x) {
    if constexpr (Op::is_bias)
      return {x.op.b, x.arg_size};
    else
      return bias_of(x.inner);
  }
  template <class O, class OE, std::size_t R>
  static void check_out(const basic_tensor_view<O, OE>& out, const std::array<index_t, R>& want,
                        const char* name) {
    if (out.extents().array() != want)
      throw shape_error(detail::message("stco::grad: wrt_into(", name, ", out): out ",
                                        detail::shape_text(out.extents().array()),
                                        " does not match ", name, " ", detail::shape_text(want)));
  }
  /// The activation inputs: the caller's stash, or this object's own (looked up on each use, so
  /// that copies and moves read their own buffer, never the original's).
  const compute_type* z() const noexcept { return owns_z_ ? own_.data() : stash_z_; }

  E e_;
  Chain chain_;
  const value_type* dy_;
  const compute_type* stash_z_ = nullptr;
  bool owns_z_ = false;
  activation_stash<value_type> own_;
};

/// The gradients of `e` for an upstream gradient dY of the output's shape.
template <class E, class DY, std::enable_if_t<is_expression_v<E>, int> = 0>
gradient<E> grad(const E& e, const DY& dY,
                 const activation_stash<typename E::value_type>* stash = nullptr) {
  constexpr std::size_t R = E::out_rank;
  static_assert(DY::rank() == R, "stco::grad: dY must have the output's rank");
  static_assert(
      std::is_same_v<std::remove_const_t<typename DY::value_type>, typename E::value_type>,
      "stco::grad: dY has a different value type than the expression");
  std::array<index_t, R> s{};
  for (std::size_t i = 0; i < R; ++i) s[i] = dY.extent(i);
  return gradient<E>(e, dY.data(), s, stash);
}
template <class E, class DY, std::enable_if_t<is_expression_v<E>, int> = 0>
gradient<E> grad(const E& e, const DY& dY, const activation_stash<typename E::value_type>& stash) {
  return grad(e, dY, &stash);
}

}  // namespace stco
