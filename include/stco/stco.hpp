// stco/stco.hpp — convenience header: everything host-side (core, layouts, expressions and CPU
// kernels, optimizers). For the CUDA backend include <stco/cuda.cuh> in .cu translation units; for
// Eigen interop, <stco/interop/eigen.hpp>.
#pragma once

#include "stco/core.hpp"
#include "stco/cpu.hpp"
#include "stco/layouts.hpp"
#include "stco/optim.hpp"
