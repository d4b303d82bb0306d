// stco/expr/cuda/grad.cuh — gradients of a device expression with address carrying, on a stream.
//
//     auto g   = stco::grad(stco::relu(stco::matmul(Wd, Xd) + stco::bias(bd)), dYd, stash, s);
//     auto dWd = g.wrt(Wd);  // device_sparse_matrix sharing Wd's device entity, kept slots only
//     auto dXd = g.wrt(Xd);  // Wᵀ·dZ through the entity's cached transposed traversal
//     auto dbd = g.wrt(bd);  // a CUB block reduction per channel
//
// dZ = dY ⊙ (the epilogue's derivative) is formed inside each gradient kernel from dY and the
// stashed activation input (portable, mma.sync and segmented kernels), except on the Hopper
// (sm_90a) fast paths of nm<2,4> (and the N:M masks it embeds), tile_wise<128> and
// tile_vector<128, N, M>: their operands arrive by TMA straight into the tensor cores'
// shared-memory tiles, which every output row-block reads again, so there dZ is formed by one
// elementwise pass into scratch (re-deriving it per tile would re-read the fp32 stash once per
// output row-block). That dZ is kept by the gradient object (dz_memo.cuh): wrt(W) and wrt(X)
// form it once between them, so dY and the stash must not change between the wrt() calls of one
// gradient. Without a stash, an expression with an
// activation re-runs its forward pass once on the stream to recover the activation input.
//
// Operands are recognised by identity: wrt(Wd) takes the very device_sparse_matrix object the
// expression was built from (a copy is refused), wrt(Xd) and wrt(bd) a device tensor whose data
// pointer AND extents are the operand's (a tensor that merely reuses the operand's freed memory
// under another shape is refused), and wrt_into's output must have the operand's extents.
#pragma once

#include <array>
#include <memory>
#include <type_traits>

#include "stco/expr/cuda/eval.cuh"
#include "stco/kernel/cuda/conv2d.cuh"
#include "stco/kernel/cuda/matmul.cuh"

namespace stco::cuda {

/// The gradients of one device expression for one dY (made by stco::grad).
///
/// Move-only: it owns device memory (the activation inputs it recomputed when no stash was given)
/// and the dZ memo, which a copy could not share safely without a deep device copy on a stream;
/// a moved-to object keeps reading the buffers it was moved.
template <class E>
class gradient {
  using F = flatten<E>;
  using Core = typename F::core_type;
  using Chain = typename F::chain_type;

 public:
  using value_type = typename E::value_type;
  using layout_type = typename E::layout_type;
  static constexpr std::size_t rank = E::out_rank;

  /// dY: device pointer to the upstream gradient of the output's shape; every later wrt() is
  /// queued on `s`.
  gradient(const E& e, const value_type* dY, const std::array<index_t, rank>& dy_shape,
           const activation_stash<value_type>* stash, stream s)
      : e_(e), chain_(F::epilogue(e)), dy_(dY), s_(s) {
    if (dy_shape != e.out_shape())
      throw shape_error(stco::detail::message("stco::cuda::grad: dY ", detail::shape_text(dy_shape),
                                              " does not match the expression's output ",
                                              detail::shape_text(e.out_shape())));
    detail::check_device_pointer(dY, "dY", "grad");
    if constexpr (Chain::has_activation) {
      index_t n = 1;
      for (index_t d : e.out_shape()) n *= d;
      if (stash) {
        if (stash->size() != n)
          throw shape_error(stco::detail::message("stco::cuda::grad: the stash holds ",
                                                  stash->size(),
                                                  " activation inputs, the "
                                                  "output has ",
                                                  n, " (evaluate the expression with it first)"));
        stash_z_ = stash->data();
      } else {
        auto y = detail::new_output(e, s);
        detail::eval_into(y, e, &own_, s);
        owns_z_ = true;
      }
    }
  }
  gradient(gradient&&) = default;
  gradient& operator=(gradient&&) = default;
  gradient(const gradient&) = delete;
  gradient& operator=(const gradient&) = delete;

  /// dL/dW at W's kept addresses, sharing W's device entity. W must be the expression's weight.
  template <class L>
  device_sparse_matrix<value_type, L> wrt(const device_sparse_matrix<value_type, L>& W) const {
    auto dW = W.zeros_like(s_);
    wrt_into(W, dW);
    return dW;
  }
  /// As wrt(W), into an existing gradient that shares W's entity (every slot is rewritten).
  template <class L>
  void wrt_into(const device_sparse_matrix<value_type, L>& W,
                device_sparse_matrix<value_type, L>& dW) const {
    const Core& core = F::core(e_);
    if (static_cast<const void*>(&W) != static_cast<const void*>(core.w))
      throw argument_error(
          "stco::cuda::grad: wrt(W): W is not the expression's weight (W is identified by "
          "address: pass the device_sparse_matrix the expression was built from, not a copy)");
    if (dW.entity_ptr() != W.entity_ptr())
      throw argument_error(
          "stco::cuda::grad: wrt_into(W, dW): dW does not share W's device entity (build it "
          "with W.zeros_like(s))");
    if constexpr (rank == 2)
      kernel::cuda::matmul_grad_w(grad_w_call(dW.values()));
    else
      kernel::cuda::conv2d_grad_w(grad_w_call(dW.values()));
  }

  /// The route wrt(W) takes (kernel/cuda/route.cuh; printable), for a freshly allocated dW.
  kernel::cuda::route grad_w_route() const {
    namespace kc = kernel::cuda;
    constexpr kc::op o = rank == 2 ? kc::op::matmul_grad_w : kc::op::conv2d_grad_w;
    return kc::plan<o, layout_type, value_type, Chain>(grad_w_call(kc::stand_in<value_type>()));
  }
  /// The route wrt(X) takes, for a freshly allocated dX.
  kernel::cuda::route grad_x_route() const {
    namespace kc = kernel::cuda;
    constexpr kc::op o = rank == 2 ? kc::op::matmul_grad_x : kc::op::conv2d_grad_x;
    return kc::plan<o, layout_type, value_type, Chain>(grad_x_call(kc::stand_in<value_type>()));
  }

  /// dL/dX (rank 2 for matmul, NHWC for conv2d), or dL/db for a rank-1 bias.
  template <class T, class Ext>
  device_tensor<value_type, Ext::rank()> wrt(const basic_device_tensor<T, Ext>& t) const {
    dextents<Ext::rank()> ext;
    if constexpr (Ext::rank() == 1)
      ext = dextents<1>(t.extent(0));
    else if constexpr (Ext::rank() == 2)
      ext = dextents<2>(t.extent(0), t.extent(1));
    else
      ext = dextents<4>(t.extent(0), t.extent(1), t.extent(2), t.extent(3));
    device_tensor<value_type, Ext::rank()> out(ext, s_);
    wrt_into(t, out);
    return out;
  }

  /// dL/dX or dL/db into `out`, which must have the operand's extents. `t` must be the operand
  /// itself: same data pointer and same extents.
  template <class T, class Ext, class OE>
  void wrt_into(const basic_device_tensor<T, Ext>& t,
                basic_device_tensor<value_type, OE>& out) const {
    static_assert(std::is_same_v<T, value_type>,
                  "stco::cuda::grad: wrt(): value types differ from the expression's");
    static_assert(OE::rank() == Ext::rank(),
                  "stco::cuda::grad: wrt_into(): the output's rank differs from the operand's");
    const Core& core = F::core(e_);
    if constexpr (Ext::rank() == 1) {
      const operand_ref b = bias_of(e_);
      if (b.data == nullptr || static_cast<const void*>(t.data()) != b.data)
        throw argument_error("stco::cuda::grad: wrt(b): b is not the expression's bias");
      if (t.extent(0) != b.size)
        throw argument_error(stco::detail::message(
            "stco::cuda::grad: wrt(b): b is not the expression's bias: a tensor of ", t.extent(0),
            " values at its address, the bias has ", b.size));
      check_out(out, t.extents().array(), "b");
      const auto sh = e_.out_shape();
      if constexpr (rank == 2)
        kernel::cuda::bias_gradient(dy_, z(), chain_, sh[0], sh[1], sh[1], 1, out.data(), s_);
      else
        kernel::cuda::bias_gradient(dy_, z(), chain_, sh[3], sh[0] * sh[1] * sh[2], 1, sh[3],
                                    out.data(), s_);
    } else {
      static_assert(Ext::rank() == rank, "stco::cuda::grad: wrt(): no operand of this rank");
      if (static_cast<const void*>(t.data()) != static_cast<const void*>(core.x))
        throw argument_error("stco::cuda::grad: wrt(X): X is not the expression's input");
      if (t.extents().array() != x_extents(core))
        throw argument_error(stco::detail::message(
            "stco::cuda::grad: wrt(X): X is not the expression's input: a tensor ",
            detail::shape_text(t.extents().array()), " at its address, X is ",
            detail::shape_text(x_extents(core))));
      check_out(out, t.extents().array(), "X");
      if constexpr (rank == 2)
        kernel::cuda::matmul_grad_x(grad_x_call(out.data()));
      else
        kernel::cuda::conv2d_grad_x(grad_x_call(out.data()));
    }
  }

  /// The stream the gradients are queued on.
  stream get_stream() const noexcept { return s_; }

 private:
  /// The kernel calls of wrt(W) and wrt(X), writing to `out`.
  auto grad_w_call(value_type* out) const {
    const Core& core = F::core(e_);
    if constexpr (rank == 2) {
      const auto sh = e_.out_shape();
      return kernel::cuda::gemm_call<value_type, layout_type, Chain>{
          core.w, core.x, dy_,         z(),   out, nullptr,
          chain_, sh[0],  core.x_rows, sh[1], s_,  memo_.get()};
    } else {
      return kernel::cuda::conv_call<value_type, layout_type, Chain>{
          core.w, core.x, dy_, z(), out, nullptr, chain_, core.geo, s_, memo_.get()};
    }
  }
  auto grad_x_call(value_type* out) const {
    const Core& core = F::core(e_);
    if constexpr (rank == 2) {
      const auto sh = e_.out_shape();
      return kernel::cuda::gemm_call<value_type, layout_type, Chain>{
          core.w, nullptr, dy_,         z(),   out, nullptr,
          chain_, sh[0],   core.x_rows, sh[1], s_,  memo_.get()};
    } else {
      return kernel::cuda::conv_call<value_type, layout_type, Chain>{
          core.w, nullptr, dy_, z(), out, nullptr, chain_, core.geo, s_, memo_.get()};
    }
  }
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
  /// X's extents: [K, N] for matmul, NHWC for conv2d.
  static std::array<index_t, rank> x_extents(const Core& core) {
    if constexpr (rank == 2)
      return {core.x_rows, core.x_cols};
    else
      return {core.geo.batch, core.geo.in_h, core.geo.in_w, core.geo.in_c};
  }
  template <class OE, std::size_t R>
  static void check_out(const basic_device_tensor<value_type, OE>& out,
                        const std::array<index_t, R>& want, const char* name) {
    if (out.extents().array() != want)
      throw shape_error(stco::detail::message("stco::cuda::grad: wrt_into(", name, ", out): out ",
                                              detail::shape_text(out.extents().array()),
                                              " does not match ", name, " ",
                                              detail::shape_text(want)));
  }
  /// The activation inputs: the caller's stash or this object's own (looked up on each use, so a
  /// moved-to object reads the buffer it now owns).
  const float* z() const noexcept { return owns_z_ ? own_.data() : stash_z_; }

  E e_;
  Chain chain_;
  const value_type* dy_;
  stream s_;
  const float* stash_z_ = nullptr;
  bool owns_z_ = false;
  activation_stash<value_type> own_;
  // dZ formed by the first Hopper fast path that needs it, reused by the later wrt() calls.
  std::shared_ptr<kernel::cuda::dz_memo> memo_ = std::make_shared<kernel::cuda::dz_memo>();
};

namespace detail {
template <class E, class T, class Ext>
gradient<E> make_gradient(const E& e, const basic_device_tensor<T, Ext>& dY,
                          const activation_stash<typename E::value_type>* stash, stream s) {
  constexpr std::size_t R = E::out_rank;
  static_assert(Ext::rank() == R, "stco::grad: dY must have the output's rank");
  static_assert(std::is_same_v<T, typename E::value_type>,
                "stco::grad: dY has a different value type than the expression");
  std::array<index_t, R> sh{};
  for (std::size_t i = 0; i < R; ++i) sh[i] = dY.extent(i);
  return gradient<E>(e, dY.data(), sh, stash, s);
}
}  // namespace detail

}  // namespace stco::cuda

namespace stco {

/// The gradients of the device expression `e` for the device upstream gradient dY, queued on s.
template <class E, class T, class Ext, std::enable_if_t<cuda::is_device_expression_v<E>, int> = 0>
cuda::gradient<E> grad(const E& e, const cuda::basic_device_tensor<T, Ext>& dY,
                       const cuda::activation_stash<typename E::value_type>& stash,
                       cuda::stream s) {
  return cuda::detail::make_gradient(e, dY, &stash, s);
}
/// As above without a stash (an activation's input is recomputed by one forward pass).
template <class E, class T, class Ext, std::enable_if_t<cuda::is_device_expression_v<E>, int> = 0>
cuda::gradient<E> grad(const E& e, const cuda::basic_device_tensor<T, Ext>& dY, cuda::stream s) {
  return cuda::detail::make_gradient(e, dY, nullptr, s);
}

}  // namespace stco
