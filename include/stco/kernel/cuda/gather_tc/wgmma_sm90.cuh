// stco/kernel/cuda/gather_tc/wgmma_sm90.cuh — whether the tile tensor-core kernels run their
// Hopper (wgmma, sm_90a) mainloops: the run-time switch, and the check that the device runs this
// binary's sm_90a code. The instructions themselves are kernel/cuda/arch/wgmma_sm90.cuh.
#pragma once

#include "stco/core/cuda/options.cuh"
#include "stco/kernel/cuda/arch/device.cuh"

namespace stco::kernel::cuda::gather_tc {

/// Whether the kernels run their wgmma mainloop under options `o`: asked for (the default), and
/// the current device runs this binary's sm_90a code; mma.sync otherwise.
inline bool use_wgmma(const stco::cuda::options& o) {
  return o.gather_tc.wgmma && arch::sm90a_available();
}

}  // namespace stco::kernel::cuda::gather_tc
