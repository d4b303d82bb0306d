// stco/kernel/cuda/matmul.cuh — the CUDA drivers of Y = epilogue(W·X) and its gradients: each runs
// the route the planner (planner.cuh) gives, a family's kernel or the portable one.
#pragma once

#include <type_traits>

#include "stco/kernel/cuda/launch.cuh"
#include "stco/kernel/cuda/planner.cuh"
#include "stco/kernel/cuda/portable/bias_grad.cuh"
#include "stco/kernel/cuda/portable/loaders.cuh"
#include "stco/kernel/cuda/portable/sampled_product.cuh"
#include "stco/kernel/cuda/portable/transposed.cuh"
#include "stco/kernel/cuda/portable/unit_product.cuh"
#include "stco/kernel/cuda/values.cuh"

namespace stco::kernel::cuda {

template <class T, class L, class Chain>
void matmul_forward(const gemm_call<T, L, Chain>& c) {
  check_device_value_type<T>();
  if (run_family<op::matmul_forward, L, T, Chain>(plan<op::matmul_forward, L, T, Chain>(c), c))
    return;
  using V = typename stco::cuda::device_entity<L>::view_type;
  using body = unit_product<V, T, matrix_rows<T>, epilogue_out<T, Chain, false>>;
  const typename body::params p{
      c.w->entity().view(), {c.x, c.k, c.n}, {c.out, c.stash, c.chain, c.n}, c.w->values(), c.n};
  launch<body>(body::grid_for(p), c.s, p);
}

template <class T, class L, class Chain>
void matmul_grad_x(const gemm_call<T, L, Chain>& c) {
  check_device_value_type<T>();
  if (run_family<op::matmul_grad_x, L, T, Chain>(plan<op::matmul_grad_x, L, T, Chain>(c), c))
    return;
  using TT = transposed_traversal<L>;
  using body = unit_product<typename TT::type, T, dz_rows<T, Chain>, plain_out<T, false>>;
  const typename body::params p{
      TT::of(c.w->entity(), c.s), {c.dy, c.z, c.chain, c.r, c.n}, {c.out, c.n}, c.w->values(), c.n};
  launch<body>(body::grid_for(p), c.s, p);
}

template <class T, class L, class Chain>
void matmul_grad_w(const gemm_call<T, L, Chain>& c) {
  check_device_value_type<T>();
  if (c.w->value_count() > 0)
    STCO_CUDA_CHECK(cudaMemsetAsync(c.out, 0, c.w->value_count() * sizeof(T), c.s.get()));
  if (run_family<op::matmul_grad_w, L, T, Chain>(plan<op::matmul_grad_w, L, T, Chain>(c), c))
    return;
  using V = typename stco::cuda::device_entity<L>::view_type;
  using body = sampled_product<V, T, matrix_rows<T>, dz_rows<T, Chain>>;
  const typename body::params p{
      c.w->entity().view(), {c.x, c.k, c.n}, {c.dy, c.z, c.chain, c.r, c.n}, c.out, c.n};
  launch<body>(body::grid_for(p), c.s, p);
}

/// db[ch] for `channels` channels whose element i sits at ch·ch_stride + i·elem_stride.
template <class T, class Chain>
void bias_gradient(const T* dy, const float* z, const Chain& ch, index_t channels, index_t count,
                   index_t ch_stride, index_t elem_stride, T* db, stco::cuda::stream s) {
  check_device_value_type<T>();
  using body = bias_grad<T, Chain>;
  launch<body>({channels, 1}, s, {dy, z, ch, count, ch_stride, elem_stride, db});
}

}  // namespace stco::kernel::cuda
