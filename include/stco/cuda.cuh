// stco/cuda.cuh — module header of the CUDA backend; include it only in .cu translation units
// (link stco::cuda). Device memory, streams and CUDA error checking.
#pragma once

#include "stco/core.hpp"
#include "stco/core/cuda/check.cuh"
#include "stco/core/cuda/device_buffer.cuh"
#include "stco/core/cuda/device_tensor.cuh"
#include "stco/core/cuda/stream.cuh"
