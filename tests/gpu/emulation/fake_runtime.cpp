// The CUDA runtime calls stco makes, over host memory, for STCO_CUDA_EMULATE builds (see
// emulate.hpp): allocations are host allocations remembered as "device" memory, copies and
// memsets run at once, streams are tokens. Enough for the library and its tests, nothing more.
#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

namespace {
std::mutex mutex;
std::map<std::uintptr_t, std::size_t>& allocations() {
  static std::map<std::uintptr_t, std::size_t> m;
  return m;
}
cudaError_t last = cudaSuccess;
cudaError_t fail(cudaError_t e) {
  last = e;
  return e;
}
bool is_device(const void* p) {
  std::lock_guard<std::mutex> lock(mutex);
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  auto& m = allocations();
  auto it = m.upper_bound(a);
  if (it == m.begin()) return false;
  --it;
  return a < it->first + std::max<std::size_t>(it->second, 1);
}
}  // namespace

extern "C" {

cudaError_t cudaMallocAsync(void** p, size_t bytes, cudaStream_t) {
  if (bytes > (std::size_t{1} << 40)) return fail(cudaErrorMemoryAllocation);
  *p = std::malloc(bytes ? bytes : 1);
  if (!*p) return fail(cudaErrorMemoryAllocation);
  std::lock_guard<std::mutex> lock(mutex);
  allocations()[reinterpret_cast<std::uintptr_t>(*p)] = bytes;
  return cudaSuccess;
}
cudaError_t cudaMalloc(void** p, size_t bytes) { return cudaMallocAsync(p, bytes, nullptr); }
cudaError_t cudaFreeAsync(void* p, cudaStream_t) {
  if (!p) return cudaSuccess;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (allocations().erase(reinterpret_cast<std::uintptr_t>(p)) == 0)
      return fail(cudaErrorInvalidValue);
  }
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) { return cudaFreeAsync(p, nullptr); }
cudaError_t cudaMemsetAsync(void* p, int v, size_t bytes, cudaStream_t) {
  std::memset(p, v, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemset(void* p, int v, size_t bytes) {
  return cudaMemsetAsync(p, v, bytes, nullptr);
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind,
                            cudaStream_t) {
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind k) {
  return cudaMemcpyAsync(dst, src, bytes, k, nullptr);
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned int) {
  static int token = 0;
  *s = reinterpret_cast<cudaStream_t>(reinterpret_cast<std::uintptr_t>(&token) + 64 * (++token));
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaGetLastError() {
  const cudaError_t e = last;
  last = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return last; }
const char* cudaGetErrorName(cudaError_t e) {
  return e == cudaErrorMemoryAllocation ? "cudaErrorMemoryAllocation"
         : e == cudaErrorInvalidValue   ? "cudaErrorInvalidValue"
                                        : "cudaError(emulated)";
}
const char* cudaGetErrorString(cudaError_t e) {
  return e == cudaErrorMemoryAllocation ? "out of memory" : "emulated CUDA error";
}
cudaError_t cudaGetDevice(int* d) {
  *d = 0;
  return cudaSuccess;
}
cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* a, const void* p) {
  std::memset(a, 0, sizeof *a);
  a->type = is_device(p) ? cudaMemoryTypeDevice : cudaMemoryTypeUnregistered;
  a->device = 0;
  a->devicePointer = is_device(p) ? const_cast<void*>(p) : nullptr;
  a->hostPointer = is_device(p) ? nullptr : const_cast<void*>(p);
  return cudaSuccess;
}

}  // extern "C"
