// stco/kernel/cuda/device_algorithms.cuh — the CUB device-wide primitives stco builds indices
// with: a radix sort of (64-bit key, 32-bit value) pairs and an exclusive sum of 32-bit counts.
// One instantiation each, whatever the layout, keeps CUB's compile cost paid once per TU.
#pragma once

#include <cstdint>

#include "stco/core/cuda/device_buffer.cuh"
#include "stco/core/cuda/stream.cuh"

#if defined(STCO_CUDA_EMULATE)
#include <algorithm>
#include <numeric>
#include <vector>
#elif defined(__CUDACC__)
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>
#endif

namespace stco::kernel::cuda {

/// Sorts n (key, value) pairs by key, stably, over key bits [0, end_bit): keys_out/values_out
/// receive the sorted pairs (the inputs are left as they were). Queued on `s`.
inline void sort_pairs(const std::uint64_t* keys_in, std::uint64_t* keys_out,
                       const std::uint32_t* values_in, std::uint32_t* values_out, index_t n,
                       int end_bit, stco::cuda::stream s) {
  if (n <= 0) return;
#if defined(STCO_CUDA_EMULATE)
  (void)end_bit;
  (void)s;
  std::vector<index_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), index_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](index_t a, index_t b) { return keys_in[a] < keys_in[b]; });
  std::vector<std::uint64_t> k(static_cast<std::size_t>(n));
  std::vector<std::uint32_t> v(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) k[i] = keys_in[order[i]], v[i] = values_in[order[i]];
  std::copy(k.begin(), k.end(), keys_out);
  std::copy(v.begin(), v.end(), values_out);
#else
  std::size_t bytes = 0;
  const int items = static_cast<int>(n);
  STCO_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, bytes, keys_in, keys_out, values_in,
                                                  values_out, items, 0, end_bit, s.get()));
  stco::cuda::device_buffer<unsigned char> temp(static_cast<index_t>(bytes), s);
  STCO_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp.data(), bytes, keys_in, keys_out, values_in,
                                                  values_out, items, 0, end_bit, s.get()));
#endif
}

/// out[i] = Σ_{j<i} in[j] for i < n, queued on `s`.
inline void exclusive_sum(const std::uint32_t* in, std::uint32_t* out, index_t n,
                          stco::cuda::stream s) {
  if (n <= 0) return;
#if defined(STCO_CUDA_EMULATE)
  (void)s;
  std::uint32_t acc = 0;
  for (index_t i = 0; i < n; ++i) {
    const std::uint32_t v = in[i];
    out[i] = acc;
    acc += v;
  }
#else
  std::size_t bytes = 0;
  const int items = static_cast<int>(n);
  STCO_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(nullptr, bytes, in, out, items, s.get()));
  stco::cuda::device_buffer<unsigned char> temp(static_cast<index_t>(bytes), s);
  STCO_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(temp.data(), bytes, in, out, items, s.get()));
#endif
}

/// The number of bits that hold values up to `max_value`.
inline int bits_for(std::uint64_t max_value) {
  int b = 1;
  while (b < 64 && (max_value >> b) != 0) ++b;
  return b;
}

/// One element of device memory, copied to the host (waits for `s`).
template <class T>
T read_scalar(const T* p, stco::cuda::stream s) {
  T v{};
  STCO_CUDA_CHECK(cudaMemcpyAsync(&v, p, sizeof(T), cudaMemcpyDeviceToHost, s.get()));
  s.synchronize();
  return v;
}

}  // namespace stco::kernel::cuda
