// stco/optim/cuda/updates.cuh — the element-wise update kernels of the device optimizers, the
// same arithmetic as stco/optim/{sgd,adam}.hpp in the same order, with products and sums rounded
// one by one (no fused multiply-add) so that device and host agree to the last bit where the host
// compiler does not contract either.
#pragma once

#include <cmath>

#include "stco/kernel/cuda/launch.cuh"
#include "stco/kernel/cuda/values.cuh"

namespace stco::cuda::optim::detail {

STCO_HD inline float mul(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
STCO_HD inline float add(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
STCO_HD inline float sub(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fsub_rn(a, b);
#else
  return a - b;
#endif
}
STCO_HD inline float div(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}
STCO_HD inline float root(float a) {
#if defined(__CUDA_ARCH__)
  return __fsqrt_rn(a);
#else
  return std::sqrt(a);
#endif
}

/// SGD with momentum, weight decay and Nesterov (torch.optim.SGD, dampening 0).
template <class T>
struct sgd_update {
  static constexpr int threads = 256;
  struct params {
    T* w;
    const T* g;
    float* buf;  // momentum buffer, or null (momentum 0)
    index_t n;
    float lr, momentum, weight_decay;
    bool nesterov, fresh;
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t i = b.block_x() * threads + b.thread();
    if (i >= p.n) return;
    float wi = kernel::cuda::to_float(p.w[i]);
    float gi = kernel::cuda::to_float(p.g[i]);
    if (p.weight_decay != 0) gi = add(gi, mul(p.weight_decay, wi));
    if (p.buf) {
      p.buf[i] = p.fresh ? gi : add(mul(p.momentum, p.buf[i]), gi);
      gi = p.nesterov ? add(gi, mul(p.momentum, p.buf[i])) : p.buf[i];
    }
    wi = sub(wi, mul(p.lr, gi));
    p.w[i] = kernel::cuda::from_float<T>(wi);
  }
};

/// Adam / AdamW (Decoupled) with bias correction; scalars precomputed on the host in double as
/// stco::optim::basic_adam does.
template <class T, bool Decoupled>
struct adam_update {
  static constexpr int threads = 256;
  struct params {
    T* w;
    const T* g;
    float* m;
    float* v;
    index_t n;
    float step_size, bc2_sqrt, decay, weight_decay, one_minus_b1, one_minus_b2, beta2, eps;
  };
  struct shared {};
  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t i = b.block_x() * threads + b.thread();
    if (i >= p.n) return;
    float wi = kernel::cuda::to_float(p.w[i]);
    float gi = kernel::cuda::to_float(p.g[i]);
    if (Decoupled) {
      if (p.weight_decay != 0) wi = mul(wi, p.decay);
    } else {
      if (p.weight_decay != 0) gi = add(gi, mul(p.weight_decay, wi));
    }
    const float m = add(p.m[i], mul(p.one_minus_b1, sub(gi, p.m[i])));
    const float v = add(mul(p.beta2, p.v[i]), mul(mul(p.one_minus_b2, gi), gi));
    p.m[i] = m;
    p.v[i] = v;
    if (m != 0) wi = sub(wi, div(mul(p.step_size, m), add(div(root(v), p.bc2_sqrt), p.eps)));
    p.w[i] = kernel::cuda::from_float<T>(wi);
  }
};

}  // namespace stco::cuda::optim::detail
