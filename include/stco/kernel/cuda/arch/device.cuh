// stco/kernel/cuda/arch/device.cuh — what the current device offers the kernels: its
// multiprocessor count, its compute capability, and whether it runs this binary's sm_90a code.
//
// Each device is asked once, on first use from any thread, and the answer is kept per device id
// (a program may drive several GPUs, switching with cudaSetDevice); concurrent callers are safe.
#pragma once

#include <cuda_runtime.h>

#include <map>
#include <mutex>

#include "stco/core/cuda/check.cuh"
#include "stco/kernel/cuda/arch/target.cuh"

namespace stco::kernel::cuda::arch {

/// Writes 1 when it runs as sm_90a code, 0 as any other. Launching it is the test: a kernel's
/// attributes give the same binary version (90) for sm_90 and sm_90a code.
template <int = 0>
__global__ void sm90a_probe_kernel(int* out) {
  *out = STCO_ARCH_SM90A;
}

/// What one device offers.
struct device_info {
  int id = 0;                ///< the CUDA device id
  int sm_count = 0;          ///< multiprocessors
  int major = 0, minor = 0;  ///< compute capability
  bool sm90a = false;        ///< runs this binary's sm_90a kernels (wgmma, setmaxnreg)
};

namespace detail {
/// Asks device `dev`, which must be the current device (the probe launches on it).
inline device_info probe_device(int dev) {
  device_info d;
  d.id = dev;
  STCO_CUDA_CHECK(cudaDeviceGetAttribute(&d.sm_count, cudaDevAttrMultiProcessorCount, dev));
  STCO_CUDA_CHECK(cudaDeviceGetAttribute(&d.major, cudaDevAttrComputeCapabilityMajor, dev));
  STCO_CUDA_CHECK(cudaDeviceGetAttribute(&d.minor, cudaDevAttrComputeCapabilityMinor, dev));
  // sm_90a code runs on compute capability 9.0 only; elsewhere there is nothing to probe.
  if (d.major == 9 && d.minor == 0) {
    int* p = nullptr;
    int h = 0;
    STCO_CUDA_CHECK(cudaMalloc(&p, sizeof(int)));
    sm90a_probe_kernel<><<<1, 1>>>(p);
    const cudaError_t e = cudaMemcpy(&h, p, sizeof(int), cudaMemcpyDeviceToHost);
    cudaFree(p);
    STCO_CUDA_CHECK(e);
    d.sm90a = h == 1;
  }
  return d;
}
}  // namespace detail

/// The current device (cudaGetDevice), probed on its first use. A failed probe throws
/// stco::cuda_error and is tried again on the next call.
inline device_info current_device() {
  int dev = 0;
  STCO_CUDA_CHECK(cudaGetDevice(&dev));
  static std::mutex m;
  static std::map<int, device_info> known;
  std::lock_guard<std::mutex> lock(m);
  auto it = known.find(dev);
  if (it == known.end()) it = known.emplace(dev, detail::probe_device(dev)).first;
  return it->second;
}

/// Multiprocessors of the current device.
inline int sm_count() { return current_device().sm_count; }

/// Whether the current device runs this binary's sm_90a kernels: a 9.0 device, and the calling
/// program built for compute_90a (CMAKE_CUDA_ARCHITECTURES containing 90a).
inline bool sm90a_available() { return current_device().sm90a; }

}  // namespace stco::kernel::cuda::arch
