// stco/cuda.cuh — module header of the CUDA backend; include it only in .cu translation units
// (link stco::cuda). Device memory and streams, device sparse matrices sharing device index
// entities, the expression set on the device (eval, grad), the CUDA kernels behind it.
//
// Finer module headers: stco/core/cuda/*.cuh (memory, streams, errors), stco/layout/cuda/*.cuh
// (device entities and matrices), stco/expr/cuda/*.cuh (device expressions), stco/kernel/cuda/
// (kernels and dispatch), stco/optim/cuda/*.cuh (optimizers and mask update on the device).
#pragma once

#include "stco/core.hpp"
#include "stco/core/cuda/check.cuh"
#include "stco/core/cuda/device_buffer.cuh"
#include "stco/core/cuda/device_tensor.cuh"
#include "stco/core/cuda/options.cuh"
#include "stco/core/cuda/stream.cuh"
#include "stco/expr/cuda/activation_stash.cuh"
#include "stco/expr/cuda/eval.cuh"
#include "stco/expr/cuda/explain.cuh"
#include "stco/expr/cuda/grad.cuh"
#include "stco/expr/cuda/nodes.cuh"
#include "stco/layout/cuda/layouts.cuh"
#include "stco/layout/cuda/prune.cuh"
#include "stco/optim/cuda/adam.cuh"
#include "stco/optim/cuda/mask_update.cuh"
#include "stco/optim/cuda/remap.cuh"
#include "stco/optim/cuda/sgd.cuh"
