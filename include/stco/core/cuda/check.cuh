// stco/core/cuda/check.cuh — turning a failed CUDA runtime call into stco::cuda_error.
#pragma once

#include <cuda_runtime.h>

#include "stco/core/error.hpp"

namespace stco::cuda {

/// Throws cuda_error naming `call` (the call's text) and where it was made, if `code` is an error.
inline void check(cudaError_t code, const char* call, const char* file, int line) {
  if (code != cudaSuccess) {
    (void)cudaGetLastError();  // reset the non-sticky error so later checks do not report it again
    throw cuda_error(static_cast<int>(code), call,
                     detail::message(call, " failed: ", cudaGetErrorName(code), " (",
                                     cudaGetErrorString(code), ") at ", file, ":", line));
  }
}

}  // namespace stco::cuda

/// Evaluates a CUDA runtime call and throws stco::cuda_error naming it on failure.
#define STCO_CUDA_CHECK(call) ::stco::cuda::check((call), #call, __FILE__, __LINE__)
