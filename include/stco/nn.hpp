// stco/nn.hpp — module header: layers (Conv2d, Linear, ReLU, MaxPool2d, AvgPool2d, BatchNorm2d,
// Flatten), softmax cross-entropy, the Sequential container, pruning schedules and model
// save/load, on the host backend (stco::nn::cpu). The CUDA backend
// (stco::nn::cuda_device) is stco/nn/cuda.cuh, for .cu translation units.
#pragma once

#include "stco/nn/archive.hpp"
#include "stco/nn/avg_pool2d.hpp"
#include "stco/nn/backend.hpp"
#include "stco/nn/batch_norm2d.hpp"
#include "stco/nn/conv2d.hpp"
#include "stco/nn/cross_entropy.hpp"
#include "stco/nn/flatten.hpp"
#include "stco/nn/linear.hpp"
#include "stco/nn/max_pool2d.hpp"
#include "stco/nn/pruning.hpp"
#include "stco/nn/relu.hpp"
#include "stco/nn/sequential.hpp"
