// stco/nn/cuda/cross_entropy.cuh — softmax cross-entropy over a batch of device logits on the
// CUDA backend: one thread per sample (log-sum-exp in double), dlogits on the device, the per-row
// losses summed in row order on the host (the loss is read back: it is reported every step).
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "stco/nn/cross_entropy.hpp"
#include "stco/nn/cuda/backend.cuh"

namespace stco::nn {

namespace detail {
template <class T>
struct softmax_xent_op {
  const T* z;
  const std::int32_t* labels;
  index_t classes;
  double inv_batch;
  double* row_loss;
  T* dz;
  __device__ void operator()(index_t n) const {
    const T* zn = z + n * classes;
    double mx = static_cast<double>(zn[0]);
    for (index_t c = 1; c < classes; ++c) mx = fmax(mx, static_cast<double>(zn[c]));
    double sum = 0;
    for (index_t c = 0; c < classes; ++c) sum += exp(static_cast<double>(zn[c]) - mx);
    const double lse = mx + log(sum);
    const index_t y = labels[n];
    row_loss[n] = lse - static_cast<double>(zn[y]);
    for (index_t c = 0; c < classes; ++c) {
      const double p = exp(static_cast<double>(zn[c]) - lse);
      dz[n * classes + c] = static_cast<T>((p - (c == y ? 1.0 : 0.0)) * inv_batch);
    }
  }
};
}  // namespace detail

/// Loss and gradient for device logits [N, 1, 1, C] and N integer labels (host memory) in
/// [0, C), as the host overload: argument_error naming the sample for a label outside [0, C).
template <class T, class Label>
loss_result<T, cuda_device> softmax_cross_entropy(const device_tensor<T, 4>& logits,
                                                  const Label* labels) {
  static_assert(std::is_integral_v<Label>, "stco::nn::softmax_cross_entropy: integer labels");
  const shape4 s = detail::shape_of(logits);
  if (s[1] != 1 || s[2] != 1 || s[3] < 1)
    throw shape_error(stco::detail::message("stco::nn::softmax_cross_entropy: logits ",
                                            detail::shape_text(s), " must be [N, 1, 1, classes]"));
  std::vector<std::int32_t> lab(static_cast<std::size_t>(s[0]));
  for (index_t n = 0; n < s[0]; ++n) {
    if (static_cast<long long>(labels[n]) < 0 || static_cast<long long>(labels[n]) >= s[3])
      throw argument_error(stco::detail::message("stco::nn::softmax_cross_entropy: label ",
                                                 static_cast<long long>(labels[n]), " of sample ",
                                                 n, " is outside [0, ", s[3], ")"));
    lab[static_cast<std::size_t>(n)] = static_cast<std::int32_t>(labels[n]);
  }
  const auto st = cuda_device::stream();
  loss_result<T, cuda_device> r;
  r.dlogits = device_tensor<T, 4>(dextents<4>(s[0], 1, 1, s[3]));
  stco::cuda::device_buffer<std::int32_t> dlab(s[0], st);
  dlab.copy_from_host(lab.data(), s[0], st);
  stco::cuda::device_buffer<double> row(s[0], st);
  detail::for_each_index(
      s[0], detail::softmax_xent_op<T>{logits.data(), dlab.data(), s[3],
                                       s[0] ? 1.0 / static_cast<double>(s[0]) : 0.0, row.data(),
                                       r.dlogits.data()});
  const auto h = row.to_host(st);  // waits
  double total = 0;
  for (index_t n = 0; n < s[0]; ++n) total += h.data()[n];
  r.loss = s[0] ? total / static_cast<double>(s[0]) : 0.0;
  return r;
}

/// How many of the N samples' largest logits are at their label (ties: the lowest class).
template <class T, class Label>
index_t count_correct(const device_tensor<T, 4>& logits, const Label* labels) {
  return count_correct(logits.to_host(cuda_device::stream()), labels);
}

}  // namespace stco::nn
