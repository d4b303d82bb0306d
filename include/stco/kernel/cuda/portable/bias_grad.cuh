// stco/kernel/cuda/portable/bias_grad.cuh — db[c] = Σ over channel c's outputs of dL/d(bias
// output): dY times the derivative of the ops after the bias, formed on the fly, reduced per
// channel by a CUB block reduction (one block per channel).
#pragma once

#include "stco/kernel/cuda/launch.cuh"
#include "stco/kernel/cuda/values.cuh"

namespace stco::kernel::cuda {

template <class T, class Chain>
struct bias_grad {
  static constexpr int threads = 256;
  struct params {
    const T* dy;
    const float* z;
    Chain ch;
    index_t count;      // outputs per channel
    index_t ch_stride;  // element (c, i) at c·ch_stride + i·elem_stride
    index_t elem_stride;
    T* db;
  };
  struct shared {};

  template <class Block>
  STCO_HD static void run(const Block& b, const params& p, shared&) {
    const index_t c = b.block_x();
    float s = 0.f;
    for (index_t i = b.thread(); i < p.count; i += threads) {
      const index_t pos = c * p.ch_stride + i * p.elem_stride;
      s += p.ch.bias_gradient(to_float(p.dy[pos]), c, pos, p.z ? p.z[pos] : 0.f);
    }
    s = b.template block_sum<threads>(s);
    if (b.thread() == 0) p.db[c] = from_float<T>(s);
  }
};

}  // namespace stco::kernel::cuda
