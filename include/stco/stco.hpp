// stco/stco.hpp — convenience header: everything host-side (core, layouts). For the CUDA backend
// include <stco/cuda.cuh> in .cu translation units; for Eigen interop, <stco/interop/eigen.hpp>.
#pragma once

#include "stco/core.hpp"
#include "stco/layouts.hpp"
