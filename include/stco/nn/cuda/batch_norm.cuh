// stco/nn/cuda/batch_norm.cuh — batch normalization over NHWC activations on the CUDA backend,
// with an optional fused ReLU.
//
// Per-channel statistics: one block per channel sums its `rows` values in double, each thread a
// fixed stride of rows, then a fixed-order tree in shared memory, so results do not depend on
// scheduling. The element-wise passes run one thread per value.
#pragma once

#include "stco/nn/cuda/backend.cuh"

namespace stco::nn {

namespace detail {
constexpr int bn_threads = 256;

/// Sums v[0..bn_threads) of shared memory into v[0] (fixed order); all threads call it.
__device__ inline void bn_block_sum(double* v) {
  for (int w = bn_threads / 2; w > 0; w /= 2) {
    __syncthreads();
    if (static_cast<int>(threadIdx.x) < w) v[threadIdx.x] += v[threadIdx.x + w];
  }
  __syncthreads();
}

/// Batch statistics of channel blockIdx.x: mean, 1/√(var + eps), unbiased variance.
template <class T>
__global__ void bn_stats(const T* x, index_t rows, index_t C, double eps, T* mean, T* invstd,
                         T* var_unbiased) {
  __shared__ double v[bn_threads];
  __shared__ double mu;
  const index_t c = blockIdx.x;
  double a = 0;
  for (index_t p = threadIdx.x; p < rows; p += bn_threads) a += static_cast<double>(x[p * C + c]);
  v[threadIdx.x] = a;
  bn_block_sum(v);
  if (threadIdx.x == 0) mu = rows ? v[0] / static_cast<double>(rows) : 0.0;
  __syncthreads();
  const double m = mu;
  double q = 0;
  for (index_t p = threadIdx.x; p < rows; p += bn_threads) {
    const double d = static_cast<double>(x[p * C + c]) - m;
    q += d * d;
  }
  __syncthreads();
  v[threadIdx.x] = q;
  bn_block_sum(v);
  if (threadIdx.x == 0) {
    const double var = rows ? v[0] / static_cast<double>(rows) : 0.0;
    mean[c] = static_cast<T>(m);
    invstd[c] = static_cast<T>(1.0 / sqrt(var + eps));
    var_unbiased[c] = static_cast<T>(rows > 1 ? v[0] / static_cast<double>(rows - 1) : var);
  }
}

/// Σg and Σg·(x − μ)·invstd of channel blockIdx.x, g = dy masked by the fused ReLU; written as
/// dbeta, dgamma.
template <class T>
__global__ void bn_grad_sums(const T* x, const T* y, const T* dy, index_t rows, index_t C,
                             const T* mean, const T* invstd, bool relu, T* dgamma, T* dbeta) {
  __shared__ double v[bn_threads], w[bn_threads];
  const index_t c = blockIdx.x;
  const double m = static_cast<double>(mean[c]), is = static_cast<double>(invstd[c]);
  double a = 0, b = 0;
  for (index_t p = threadIdx.x; p < rows; p += bn_threads) {
    const index_t i = p * C + c;
    const double g = relu && !(y[i] > T(0)) ? 0.0 : static_cast<double>(dy[i]);
    a += g;
    b += g * (static_cast<double>(x[i]) - m) * is;
  }
  v[threadIdx.x] = a;
  w[threadIdx.x] = b;
  for (int s = bn_threads / 2; s > 0; s /= 2) {
    __syncthreads();
    if (static_cast<int>(threadIdx.x) < s) {
      v[threadIdx.x] += v[threadIdx.x + s];
      w[threadIdx.x] += w[threadIdx.x + s];
    }
  }
  if (threadIdx.x == 0) dbeta[c] = static_cast<T>(v[0]), dgamma[c] = static_cast<T>(w[0]);
}

/// y = x·scale[c] + shift[c] (then ReLU), scale and shift from γ, β and the statistics.
template <class T>
struct bn_apply_op {
  const T *x, *gamma, *beta, *mean, *invstd;
  index_t C;
  bool relu;
  T* y;
  __device__ void operator()(index_t i) const {
    const index_t c = i % C;
    const T scale = gamma[c] * invstd[c];
    const T v = (x[i] - mean[c]) * scale + beta[c];
    y[i] = relu && v < T(0) ? T(0) : v;
  }
};

/// Running statistics → invstd (eval mode).
template <class T>
struct bn_invstd_op {
  const T* var;
  double eps;
  T* invstd;
  __device__ void operator()(index_t c) const {
    invstd[c] = static_cast<T>(1.0 / sqrt(static_cast<double>(var[c]) + eps));
  }
};

/// dx of training mode: γ·invstd/M · (M·g − Σg − x̂·Σ(g·x̂)).
template <class T>
struct bn_dx_train_op {
  const T *x, *y, *dy, *gamma, *mean, *invstd, *dgamma, *dbeta;
  index_t C;
  double M;
  bool relu;
  T* dx;
  __device__ void operator()(index_t i) const {
    const index_t c = i % C;
    const T g = relu && !(y[i] > T(0)) ? T(0) : dy[i];
    const double gs = static_cast<double>(gamma[c]) * static_cast<double>(invstd[c]);
    const T a = static_cast<T>(gs);
    const T k =
        static_cast<T>(gs * static_cast<double>(dgamma[c]) / M * static_cast<double>(invstd[c]));
    const T b = static_cast<T>(gs * static_cast<double>(dbeta[c]) / M);
    dx[i] = a * g - b - k * (x[i] - mean[c]);
  }
};

/// dx of eval mode: g·γ·invstd.
template <class T>
struct bn_dx_eval_op {
  const T *y, *dy, *gamma, *invstd;
  index_t C;
  bool relu;
  T* dx;
  __device__ void operator()(index_t i) const {
    const index_t c = i % C;
    const T g = relu && !(y[i] > T(0)) ? T(0) : dy[i];
    dx[i] = g * gamma[c] * invstd[c];
  }
};

template <class T>
struct bn_running_op {
  T m;
  const T *batch_mean, *batch_var;
  T *mean, *var;
  __device__ void operator()(index_t c) const {
    mean[c] = (T(1) - m) * mean[c] + m * batch_mean[c];
    var[c] = (T(1) - m) * var[c] + m * batch_var[c];
  }
};

inline void check_launch() { STCO_CUDA_CHECK(cudaGetLastError()); }
}  // namespace detail

template <class T>
void batch_norm2d_forward_train(cuda_device, const T* x, index_t rows, index_t C, const T* gamma,
                                const T* beta, double eps, bool relu, T* y, T* mean, T* invstd,
                                T* var_unbiased) {
  const auto s = cuda_device::stream().get();
  detail::bn_stats<T><<<static_cast<unsigned>(C), detail::bn_threads, 0, s>>>(x, rows, C, eps, mean,
                                                                              invstd, var_unbiased);
  detail::check_launch();
  detail::for_each_index(rows * C,
                         detail::bn_apply_op<T>{x, gamma, beta, mean, invstd, C, relu, y});
}

template <class T>
void batch_norm2d_forward_eval(cuda_device, const T* x, index_t rows, index_t C, const T* gamma,
                               const T* beta, const T* running_mean, const T* running_var,
                               double eps, bool relu, T* y) {
  stco::cuda::device_buffer<T> invstd(C, cuda_device::stream());
  detail::for_each_index(C, detail::bn_invstd_op<T>{running_var, eps, invstd.data()});
  detail::for_each_index(
      rows * C, detail::bn_apply_op<T>{x, gamma, beta, running_mean, invstd.data(), C, relu, y});
}

template <class T>
void batch_norm2d_backward_train(cuda_device, const T* x, const T* y, const T* dy, index_t rows,
                                 index_t C, const T* gamma, const T* mean, const T* invstd,
                                 bool relu, T* dgamma, T* dbeta, T* dx) {
  detail::bn_grad_sums<T>
      <<<static_cast<unsigned>(C), detail::bn_threads, 0, cuda_device::stream().get()>>>(
          x, y, dy, rows, C, mean, invstd, relu, dgamma, dbeta);
  detail::check_launch();
  if (!dx) return;
  detail::for_each_index(rows * C,
                         detail::bn_dx_train_op<T>{x, y, dy, gamma, mean, invstd, dgamma, dbeta, C,
                                                   static_cast<double>(rows), relu, dx});
}

template <class T>
void batch_norm2d_backward_eval(cuda_device, const T* x, const T* y, const T* dy, index_t rows,
                                index_t C, const T* gamma, const T* running_mean,
                                const T* running_var, double eps, bool relu, T* dgamma, T* dbeta,
                                T* dx) {
  stco::cuda::device_buffer<T> invstd(C, cuda_device::stream());
  detail::for_each_index(C, detail::bn_invstd_op<T>{running_var, eps, invstd.data()});
  detail::bn_grad_sums<T>
      <<<static_cast<unsigned>(C), detail::bn_threads, 0, cuda_device::stream().get()>>>(
          x, y, dy, rows, C, running_mean, invstd.data(), relu, dgamma, dbeta);
  detail::check_launch();
  if (!dx) return;
  detail::for_each_index(rows * C,
                         detail::bn_dx_eval_op<T>{y, dy, gamma, invstd.data(), C, relu, dx});
}

template <class T>
void batch_norm2d_update_running(cuda_device, index_t C, T m, const T* batch_mean,
                                 const T* batch_var, T* mean, T* var) {
  detail::for_each_index(C, detail::bn_running_op<T>{m, batch_mean, batch_var, mean, var});
}

}  // namespace stco::nn
