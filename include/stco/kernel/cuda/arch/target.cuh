// stco/kernel/cuda/arch/target.cuh — which instruction set the current device compilation pass
// targets.
//
// wgmma and setmaxnreg are feature-specific to sm_90a: nvcc defines __CUDA_ARCH_FEAT_SM90_ALL only
// in the device pass for compute_90a. STCO_ARCH_SM90A is 1 there and 0 in every other pass (host,
// sm_80, plain sm_90). The sm_90a wrappers of arch/ exist only where it is 1; kernels built on them
// compile to a trap elsewhere, and the host launches them only where arch::sm90a_available()
// (arch/device.cuh) says the device runs this binary's sm_90a code.
#pragma once

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define STCO_ARCH_SM90A 1
#else
#define STCO_ARCH_SM90A 0
#endif
