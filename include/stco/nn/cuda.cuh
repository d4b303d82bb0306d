// stco/nn/cuda.cuh — module header of stco::nn's CUDA backend (include it only in .cu translation
// units; link stco::cuda): every layer of stco/nn.hpp on the device through the tag
// stco::nn::cuda_device, the device optimizers, softmax cross-entropy on device logits.
//
//     using B = stco::nn::cuda_device;
//     stco::nn::Sequential<float, B> net;
//     net.add<stco::nn::Conv2d<float, stco::nm<2, 4>, B>>(1, 32, stco::conv{}.kernel(3).pad(1));
//     B::optimizer opt = stco::nn::cuda_sgd(0.05f, 0.9f);
//     auto x = stco::nn::upload(B{}, host_batch);                 // device_tensor<float, 4>
//     auto l = stco::nn::softmax_cross_entropy(net.forward(x), labels);
//     net.backward(l.dlogits);
//     net.step(opt);
#pragma once

#include "stco/nn/cuda/backend.cuh"
// the overloads first, then the layers that call them
#include "stco/nn.hpp"
#include "stco/nn/cuda/affine.cuh"
#include "stco/nn/cuda/batch_norm.cuh"
#include "stco/nn/cuda/cross_entropy.cuh"
#include "stco/nn/cuda/pooling.cuh"
