// stco/kernel/cuda/conv2d.cuh — the CUDA drivers of NHWC convolution as an implicit GEMM
// (K = KH·KW·Cin/groups) and its gradients: each runs the route the planner gives (planner.cuh), a
// family's kernel or the portable tiled kernels (groups == 1) or per-output kernels (grouped,
// depthwise).
#pragma once

#include <algorithm>

#include "stco/kernel/cuda/matmul.cuh"
#include "stco/kernel/cuda/portable/conv_dims.cuh"
#include "stco/kernel/cuda/portable/grouped_conv.cuh"

namespace stco::kernel::cuda {

template <class T, class L, class Chain>
void conv2d_forward(const conv_call<T, L, Chain>& c) {
  check_device_value_type<T>();
  if (run_family<op::conv2d_forward, L, T, Chain>(plan<op::conv2d_forward, L, T, Chain>(c), c))
    return;
  using V = typename stco::cuda::device_entity<L>::view_type;
  using out_t = epilogue_out<T, Chain, true>;
  const conv_dims d = conv_dims::of(c.g);
  const out_t out{c.out, c.stash, c.chain, d.out_c};
  if (d.groups == 1) {
    using body = unit_product<V, T, conv_patches<T>, out_t>;
    const typename body::params p{c.w->entity().view(), {c.x, d}, out, c.w->values(), d.pixels()};
    launch<body>(body::grid_for(p), c.s, p);
  } else {
    using body = grouped_conv_forward<V, T, out_t>;
    const typename body::params p{c.w->entity().view(), c.w->values(), c.x, d, out};
    launch<body>(body::grid_for(p), c.s, p);
  }
}

template <class T, class L, class Chain>
void conv2d_grad_x(const conv_call<T, L, Chain>& c) {
  check_device_value_type<T>();
  if (run_family<op::conv2d_grad_x, L, T, Chain>(plan<op::conv2d_grad_x, L, T, Chain>(c), c))
    return;
  using TT = transposed_traversal<L>;
  const conv_dims d = conv_dims::of(c.g);
  const auto tv = TT::of(c.w->entity(), c.s);
  if (d.groups == 1) {
    using view = tap_view<typename TT::type>;
    using body = unit_product<view, T, dz_taps<T, Chain>, plain_out<T, true>>;
    const typename body::params p{view{tv, d.in_c, d.out_c, d.taps()},
                                  {c.dy, c.z, c.chain, d},
                                  {c.out, d.in_c},
                                  c.w->values(),
                                  d.in_pixels()};
    launch<body>(body::grid_for(p), c.s, p);
  } else {
    using body = grouped_conv_grad_x<typename TT::type, T, Chain>;
    const typename body::params p{tv, c.w->values(), c.dy, c.z, c.chain, d, c.out};
    launch<body>(body::grid_for(p), c.s, p);
  }
}

template <class T, class L, class Chain>
void conv2d_grad_w(const conv_call<T, L, Chain>& c) {
  check_device_value_type<T>();
  const index_t slots = c.w->value_count();
  if (slots > 0) STCO_CUDA_CHECK(cudaMemsetAsync(c.out, 0, slots * sizeof(T), c.s.get()));
  if (run_family<op::conv2d_grad_w, L, T, Chain>(plan<op::conv2d_grad_w, L, T, Chain>(c), c))
    return;
  const conv_dims d = conv_dims::of(c.g);
  if (d.groups == 1) {
    using V = typename stco::cuda::device_entity<L>::view_type;
    using body = sampled_product<V, T, conv_patches<T>, dz_pixels<T, Chain>>;
    const typename body::params p{c.w->entity().view(),
                                  {c.x, d},
                                  {c.dy, c.z, c.chain, d.out_c, d.pixels()},
                                  c.out,
                                  d.pixels()};
    launch<body>(body::grid_for(p), c.s, p);
  } else {
    // Per slot over stretches of output pixels, then a fixed-order sum of the stretches.
    const slot_coords& co = coords_of(c.w->entity(), c.s);
    const int parts = static_cast<int>(std::clamp<index_t>(ceil_div(d.pixels(), 1024), 1, 64));
    const int stretch = static_cast<int>(ceil_div(d.pixels(), parts));
    stco::cuda::device_buffer<float> partial(parts * slots, c.s);
    using body = grouped_conv_grad_w_partial<T, Chain>;
    launch<body>({ceil_div(slots, body::threads), parts}, c.s,
                 {co.at.data(), slots, c.x, c.dy, c.z, c.chain, d, stretch, partial.data()});
    using sum = partial_sum<T>;
    launch<sum>({ceil_div(slots, sum::threads), 1}, c.s, {partial.data(), slots, parts, c.out});
  }
}

}  // namespace stco::kernel::cuda
