// stco/kernel/cuda/planner.cuh — the one place a CUDA call's route is chosen. Every driver
// (matmul.cuh, conv2d.cuh) calls plan<Op, L, T, Chain>(call) and then runs exactly that route:
//
//   1. the stream's options (core/cuda/options.cuh) may turn the tensor-core families off;
//   2. the family registered for (Op, layout, value type) — gather_tc or sparse_tc, through its
//      fast_path specialization (dispatch.cuh, fast_paths.cuh) — plans one of its kernels from the
//      call's shapes, alignment, device and options, or declines with a reason;
//   3. otherwise the portable kernels, with the reason no family took the call.
//
// Planning launches none of the call's kernels. On first use it does what the call's first run
// would do anyway: build an entity's cached index maps, probe the device once, and (N:M masks on
// the 2:4 kernels) allocate the per-stream 2:4 weight. stco::cuda::explain prints routes.
#pragma once

#include <type_traits>

#include "stco/core/bfloat16.hpp"
#include "stco/core/half.hpp"
#include "stco/kernel/cuda/dispatch.cuh"
#include "stco/kernel/cuda/fast_paths.cuh"
#include "stco/kernel/cuda/route.cuh"

namespace stco::kernel::cuda {

namespace detail {
template <class T>
const char* no_family_reason() {
  if constexpr (!std::is_same_v<T, half> && !std::is_same_v<T, bfloat16>)
    return "portable: the tensor-core kernels take half and bfloat16 values";
  else
    return "portable: no tensor-core kernel for this layout and op in this build";
}
}  // namespace detail

/// The portable kernel as the call would run it (grouped convolutions have their own).
template <class Call>
route portable_kernel(route r, const Call& c) {
  if constexpr (is_conv_call<Call>::value) {
    if (c.g.groups != 1) r.kernel = kernel_name::grouped_conv;
  }
  (void)c;
  return r;
}

/// The route of call c (a gemm_call or conv_call of op O, layout L, value type T).
template <op O, class L, class T, class Chain, class Call>
route plan(const Call& c) {
  using F = fast_path<O, L, T, Chain>;
  route r;
  if constexpr (F::available) {
    if (!c.s.options().fast_kernels)
      r = portable_route(O, "portable: the tensor-core kernels are off in the stream's options");
    else
      r = F::plan(c);
  } else {
    r = portable_route(O, detail::no_family_reason<T>());
  }
  r.operation = O;
  return r.family == family::portable ? portable_kernel(r, c) : r;
}

/// Runs route r when a family holds it (true); false: the caller runs the portable kernel.
template <op O, class L, class T, class Chain, class Call>
bool run_family(const route& r, const Call& c) {
  using F = fast_path<O, L, T, Chain>;
  if constexpr (F::available) {
    if (r.family != family::portable) {
      F::run(c, r);
      return true;
    }
  }
  (void)r, (void)c;
  return false;
}

}  // namespace stco::kernel::cuda
