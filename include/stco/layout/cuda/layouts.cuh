// stco/layout/cuda/layouts.cuh — every layout's device mirror, device entities and matrices.
#pragma once

#include "stco/layout/cuda/block.cuh"
#include "stco/layout/cuda/channel.cuh"
#include "stco/layout/cuda/csr.cuh"
#include "stco/layout/cuda/dense.cuh"
#include "stco/layout/cuda/device_entity.cuh"
#include "stco/layout/cuda/device_sparse_matrix.cuh"
#include "stco/layout/cuda/nm.cuh"
#include "stco/layout/cuda/tile_vector.cuh"
#include "stco/layout/cuda/tile_wise.cuh"
