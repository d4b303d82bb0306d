// bench/common/gpu_random.cuh — random fp16 data generated on the device, so that filling the
// gigabyte-sized operands of the GPU benchmarks costs no host time or transfers.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace stco_bench::gpu {

/// out[i] = uniform in [-1, 1) as fp16 bits: a counter-based hash (splitmix64) of i and key.
template <class Bits>
__global__ void uniform_fp16(Bits* out, std::size_t count, std::uint64_t key) {
  const std::size_t step = std::size_t{gridDim.x} * blockDim.x;
  for (std::size_t i = std::size_t{blockIdx.x} * blockDim.x + threadIdx.x; i < count; i += step) {
    std::uint64_t z = (i + 1) * 0x9E3779B97F4A7C15ull + key;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const float u = static_cast<float>(z >> 40) * (2.0f / 16777216.0f) - 1.0f;
    out[i] = static_cast<Bits>(__half_as_ushort(__float2half_rn(u)));
  }
}

/// Fills `count` 16-bit values at device pointer p with uniform fp16 in [-1, 1), on stream s.
inline void fill_uniform_fp16(void* p, std::size_t count, std::uint64_t key, cudaStream_t s) {
  if (count == 0) return;
  uniform_fp16<std::uint16_t><<<2048, 256, 0, s>>>(static_cast<std::uint16_t*>(p), count, key);
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess)
    throw std::runtime_error(std::string("fill_uniform_fp16: ") + cudaGetErrorString(e));
}

}  // namespace stco_bench::gpu
