// stco/nn/cuda/backend.cuh — the CUDA backend of stco::nn: the tag `cuda_device`, its device
// tensors, its optimizers, and the memory operations the layers ask of a backend (uploads,
// downloads for files, zeroing, filling). Include stco/nn/cuda.cuh, in .cu translation units only.
//
//     using B = stco::nn::cuda_device;
//     stco::nn::Sequential<float, B> net;                       // the layers of stco/nn.hpp
//     net.add<stco::nn::Conv2d<float, stco::nm<2, 4>, B>>(32, 64, stco::conv{}.kernel(3).pad(1));
//     B::optimizer opt = stco::nn::cuda_sgd(0.05f, 0.9f);
//
// Every device call of the backend is queued on one stream, cuda_device::stream() (the default
// stream unless set_stream() names another); calls that hand values to the host (the loss, files,
// weight_dense) wait for it. Values are float (the device kernels compute in float; double layers
// stay on the CPU backend).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <utility>
#include <variant>

#include "stco/cuda.cuh"
#include "stco/nn/backend.hpp"

namespace stco::nn {

namespace detail {
inline cudaStream_t& cuda_stream_slot() noexcept {
  static cudaStream_t s = nullptr;
  return s;
}
}  // namespace detail

/// A device tensor of the CUDA backend: stco::cuda::device_tensor allocated on the backend's
/// stream, constructible from its extents alone (zero-filled), as the layers build their buffers.
template <class T, std::size_t R>
class device_tensor : public stco::cuda::device_tensor<T, R> {
  using base = stco::cuda::device_tensor<T, R>;

 public:
  device_tensor() = default;
  explicit device_tensor(const dextents<R>& e)
      : base(e, stco::cuda::stream(detail::cuda_stream_slot())) {}
  device_tensor(base&& b) noexcept : base(std::move(b)) {}  // NOLINT: adopts a device tensor
};

/// A device optimizer of stco::cuda::optim with the host optimizers' call shapes (step(W, dW),
/// remap(W, e), forget(W)), queued on the backend's stream.
template <class Inner>
class device_optimizer : public Inner {
 public:
  using inner_type = Inner;
  using Inner::Inner;

  template <class P, class G>
  void step(P& w, const G& g) {
    Inner::step(w, g, stco::cuda::stream(detail::cuda_stream_slot()));
  }
  template <class W, class E>
  void remap(const W& w, const E& e) {
    Inner::remap(w, e, stco::cuda::stream(detail::cuda_stream_slot()));
  }
  Inner& inner() noexcept { return *this; }
};

using cuda_sgd = device_optimizer<stco::cuda::optim::sgd>;
using cuda_adam = device_optimizer<stco::cuda::optim::adam>;
using cuda_adamw = device_optimizer<stco::cuda::optim::adamw>;

/// The CUDA backend: device tensors, device sparse matrices sharing device index entities, the
/// device expression set (fused forward, dX, dW at the kept addresses, db), device optimizers.
struct cuda_device {
  static constexpr const char* name() { return "cuda"; }
  template <class T, std::size_t R>
  using tensor = device_tensor<T, R>;
  template <class T, class L>
  using matrix = stco::cuda::device_sparse_matrix<T, L>;
  template <class T>
  using stash = stco::cuda::activation_stash<T>;
  using optimizer = std::variant<cuda_sgd, cuda_adam, cuda_adamw>;

  /// The stream every call of the backend is queued on.
  static stco::cuda::stream stream() noexcept {
    return stco::cuda::stream(detail::cuda_stream_slot());
  }
  /// Sets it (tensors already allocated keep freeing on the stream they were allocated on).
  static void set_stream(stco::cuda::stream s) noexcept { detail::cuda_stream_slot() = s.get(); }
  /// Waits for the stream.
  static void synchronize() { stream().synchronize(); }
};

namespace detail {
template <class T>
constexpr void check_cuda_value() {
  static_assert(std::is_same_v<T, float>,
                "stco::nn::cuda_device: the CUDA backend's layers compute in float (use the CPU "
                "backend for double)");
}

/// Element-wise kernels are functors with `__device__ void operator()(index_t i) const`.
template <class F>
__global__ void nn_for_each(index_t n, F f) {
  const index_t i = static_cast<index_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) f(i);
}
/// Runs f(i) for i in [0, n) on the backend's stream.
template <class F>
void for_each_index(index_t n, F f) {
  if (n <= 0) return;
  constexpr int threads = 256;
  const index_t blocks = ceil_div(n, threads);
  nn_for_each<<<static_cast<unsigned>(blocks), threads, 0, cuda_device::stream().get()>>>(n, f);
  STCO_CUDA_CHECK(cudaGetLastError());
}

template <class T>
struct fill_op {
  T* p;
  T v;
  __device__ void operator()(index_t i) const { p[i] = v; }
};
template <class T>
struct relu_op {
  const T* x;
  T* y;
  __device__ void operator()(index_t i) const { y[i] = x[i] > T(0) ? x[i] : T(0); }
};
template <class T>
struct relu_grad_op {
  const T *y, *dy;
  T* dx;
  __device__ void operator()(index_t i) const { dx[i] = y[i] > T(0) ? dy[i] : T(0); }
};
}  // namespace detail

// --- memory: what affine_layer and BatchNorm2d ask of a backend ---

template <class T, class L>
stco::cuda::device_sparse_matrix<T, L> upload(cuda_device, const sparse_matrix<T, L>& h) {
  return stco::cuda::device_sparse_matrix<T, L>::from_host(h, cuda_device::stream());
}
template <class T, class Ext>
device_tensor<T, Ext::rank()> upload(cuda_device, const basic_tensor<T, Ext>& h) {
  device_tensor<T, Ext::rank()> d(dextents<Ext::rank()>(h.extents()));
  d.copy_from_host(h, cuda_device::stream());
  return d;
}
/// A host copy (waits): what a file stores.
template <class T, class L>
sparse_matrix<T, L> host_copy(cuda_device, const stco::cuda::device_sparse_matrix<T, L>& W) {
  return W.to_host(cuda_device::stream());
}
template <class T, class Ext>
basic_tensor<T, Ext> host_copy(cuda_device, const stco::cuda::basic_device_tensor<T, Ext>& t) {
  return t.to_host(cuda_device::stream());
}
template <class T, class Ext>
basic_tensor<T, Ext> host_tensor(cuda_device, const stco::cuda::basic_device_tensor<T, Ext>& t) {
  return t.to_host(cuda_device::stream());
}
template <class T, std::size_t R>
device_tensor<T, R> copy_tensor(cuda_device, const device_tensor<T, R>& t) {
  device_tensor<T, R> out(t.extents());
  if (t.size() > 0)
    STCO_CUDA_CHECK(cudaMemcpyAsync(out.data(), t.data(),
                                    static_cast<std::size_t>(t.size()) * sizeof(T),
                                    cudaMemcpyDeviceToDevice, cuda_device::stream().get()));
  return out;
}
template <class T, class L>
stco::cuda::device_sparse_matrix<T, L> zeros_like(cuda_device,
                                                  const stco::cuda::device_sparse_matrix<T, L>& W) {
  return W.zeros_like(cuda_device::stream());
}
template <class T, class L>
void set_zero(cuda_device, stco::cuda::device_sparse_matrix<T, L>& W) {
  if (W.value_count() > 0)
    STCO_CUDA_CHECK(cudaMemsetAsync(W.values(), 0,
                                    static_cast<std::size_t>(W.value_count()) * sizeof(T),
                                    cuda_device::stream().get()));
}
template <class T, std::size_t R>
void set_zero(cuda_device, device_tensor<T, R>& t) {
  if (t.size() > 0)
    STCO_CUDA_CHECK(cudaMemsetAsync(t.data(), 0, static_cast<std::size_t>(t.size()) * sizeof(T),
                                    cuda_device::stream().get()));
}
template <class T, std::size_t R>
void fill_values(cuda_device, device_tensor<T, R>& t, T v) {
  detail::for_each_index(t.size(), detail::fill_op<T>{t.data(), v});
}
template <class T, class L>
double weight_density(cuda_device, const stco::cuda::device_sparse_matrix<T, L>& W) {
  return W.entity().density();
}
/// Values plus index, counted as on the host (the host form of the entity).
template <class T, class L>
std::size_t weight_bytes(cuda_device, const stco::cuda::device_sparse_matrix<T, L>& W) {
  return static_cast<std::size_t>(W.value_count()) * sizeof(T) +
         W.entity().host(cuda_device::stream())->index_bytes();
}

// --- element-wise layers ---

template <class T>
void relu_forward(cuda_device, const T* x, index_t n, T* y) {
  detail::for_each_index(n, detail::relu_op<T>{x, y});
}
template <class T>
void relu_backward(cuda_device, const T* y, const T* dy, index_t n, T* dx) {
  detail::for_each_index(n, detail::relu_grad_op<T>{y, dy, dx});
}
template <class T>
void copy_values(cuda_device, const T* in, index_t n, T* out) {
  if (n > 0)
    STCO_CUDA_CHECK(cudaMemcpyAsync(out, in, static_cast<std::size_t>(n) * sizeof(T),
                                    cudaMemcpyDeviceToDevice, cuda_device::stream().get()));
}

namespace detail {
template <class T>
__global__ void nn_transpose(const T* in, index_t rows, index_t cols, T* out) {
  __shared__ T tile[32][33];
  const index_t c0 = static_cast<index_t>(blockIdx.x) * 32,
                r0 = static_cast<index_t>(blockIdx.y) * 32;
  for (int k = threadIdx.y; k < 32; k += blockDim.y) {
    const index_t r = r0 + k, c = c0 + threadIdx.x;
    if (r < rows && c < cols) tile[k][threadIdx.x] = in[r * cols + c];
  }
  __syncthreads();
  for (int k = threadIdx.y; k < 32; k += blockDim.y) {
    const index_t c = c0 + k, r = r0 + threadIdx.x;
    if (r < rows && c < cols) out[c * rows + r] = tile[threadIdx.x][k];
  }
}
}  // namespace detail

/// out[c][r] = in[r][c] for an in of rows × cols (32×32 tiles through shared memory).
template <class T>
void transpose(cuda_device, const T* in, index_t rows, index_t cols, T* out) {
  if (rows <= 0 || cols <= 0) return;
  const dim3 grid(static_cast<unsigned>(ceil_div(cols, 32)),
                  static_cast<unsigned>(ceil_div(rows, 32)));
  detail::nn_transpose<T>
      <<<grid, dim3(32, 8), 0, cuda_device::stream().get()>>>(in, rows, cols, out);
  STCO_CUDA_CHECK(cudaGetLastError());
}

}  // namespace stco::nn
