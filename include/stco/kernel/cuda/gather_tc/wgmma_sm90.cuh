// stco/kernel/cuda/gather_tc/wgmma_sm90.cuh — whether the tile tensor-core kernels run their
// Hopper (wgmma, sm_90a) mainloops: the run-time switch, and the check that the device runs this
// binary's sm_90a code. The instructions themselves are kernel/cuda/arch/wgmma_sm90.cuh.
#pragma once

#include "stco/kernel/cuda/arch/device.cuh"

namespace stco::kernel::cuda::gather_tc {

/// Which MMA the kernels use where both are built: wgmma (sm_90a) when available, unless a test
/// or benchmark asks for mma.sync.
inline bool& prefer_wgmma() {
  static bool prefer = true;
  return prefer;
}
inline bool use_wgmma() { return prefer_wgmma() && arch::sm90a_available(); }

}  // namespace stco::kernel::cuda::gather_tc
