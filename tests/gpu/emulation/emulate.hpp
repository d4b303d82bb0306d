// Host emulation of stco's CUDA launches, for checking kernel logic on machines without a GPU.
//
// Compiled with a host compiler, -DSTCO_CUDA_EMULATE and `-include emulate.hpp` before any stco
// header: stco::kernel::cuda::launch<Body>() then runs Body::run for every thread of every block
// on the CPU, each thread a fiber (ucontext) that yields at barriers, so __syncthreads and
// shared memory behave as on the GPU (a missing barrier shows up as wrong results). Memory comes
// from fake_runtime.cpp (cudaMalloc* over host memory, synchronous copies). Not for timing.
#pragma once

#if !defined(STCO_CUDA_EMULATE)
#error "emulate.hpp is for STCO_CUDA_EMULATE builds"
#endif

#include <ucontext.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

namespace stco::kernel::cuda::emulation {

/// Runs the threads of one block as fibers; barrier() parks the calling fiber until every live
/// thread of the block has reached a barrier (exited threads no longer count, as on the GPU).
class block_runner {
 public:
  static block_runner& instance() {
    static block_runner r;
    return r;
  }

  void run(int threads, const std::function<void(int)>& fn) {
    n_ = threads;
    fn_ = &fn;
    constexpr std::size_t stack = 256 * 1024;
    if (stacks_.size() < static_cast<std::size_t>(threads) * stack)
      stacks_.resize(static_cast<std::size_t>(threads) * stack);
    ctx_.assign(static_cast<std::size_t>(threads), ucontext_t{});
    state_.assign(static_cast<std::size_t>(threads), ready);
    for (int t = 0; t < threads; ++t) {
      getcontext(&ctx_[t]);
      ctx_[t].uc_stack.ss_sp = stacks_.data() + static_cast<std::size_t>(t) * stack;
      ctx_[t].uc_stack.ss_size = stack;
      ctx_[t].uc_link = &main_;
      makecontext(&ctx_[t], &block_runner::trampoline, 0);
    }
    for (;;) {
      int live = 0;
      for (int t = 0; t < threads; ++t) {
        if (state_[t] == done) continue;
        current_ = t;
        swapcontext(&main_, &ctx_[t]);
        if (state_[t] != done) ++live;
      }
      if (live == 0) break;
      for (int t = 0; t < threads; ++t)
        if (state_[t] == waiting) state_[t] = ready;
    }
  }

  void barrier(int t) {
    state_[t] = waiting;
    swapcontext(&ctx_[t], &main_);
  }

  /// Per-block scratch for block_sum.
  std::vector<double>& sums() { return sums_; }

 private:
  enum state { ready, waiting, done };
  static void trampoline() {
    auto& r = instance();
    const int t = r.current_;
    (*r.fn_)(t);
    r.state_[t] = done;
  }

  int n_ = 0;
  int current_ = 0;
  const std::function<void(int)>* fn_ = nullptr;
  std::vector<char> stacks_;
  std::vector<ucontext_t> ctx_;
  std::vector<int> state_;
  ucontext_t main_{};
  std::vector<double> sums_;
};

/// The emulated thread block (the interface of stco::kernel::cuda::device_block).
struct block {
  int tid, nthreads;
  std::int64_t bx, by;
  int thread() const { return tid; }
  int threads() const { return nthreads; }
  std::int64_t block_x() const { return bx; }
  std::int64_t block_y() const { return by; }
  void sync() const { block_runner::instance().barrier(tid); }
  template <int Threads, class V>
  V block_sum(V v) const {
    auto& s = block_runner::instance().sums();
    if (tid == 0) s.assign(static_cast<std::size_t>(nthreads), 0.0);
    sync();
    s[tid] = static_cast<double>(v);
    sync();
    V total{};
    if (tid == 0)
      for (int i = 0; i < nthreads; ++i) total += static_cast<V>(s[i]);
    sync();
    return total;
  }
};

inline std::int64_t& launches() {
  static std::int64_t n = 0;
  return n;
}

}  // namespace stco::kernel::cuda::emulation

namespace stco::kernel::cuda {

/// Runs Body over the grid on the CPU (see the file comment).
template <class Body, class Grid, class Params>
void emulate_launch(const Grid& g, const Params& p) {
  ++emulation::launches();
  auto sm = std::make_unique<typename Body::shared>();
  for (std::int64_t by = 0; by < g.y; ++by)
    for (std::int64_t bx = 0; bx < g.x; ++bx) {
      // Shared memory starts as garbage (NaN floats, -1 integers), as it may on the GPU.
      std::memset(static_cast<void*>(sm.get()), 0xff, sizeof(typename Body::shared));
      const std::function<void(int)> fn = [&](int tid) {
        const emulation::block b{tid, Body::threads, bx, by};
        Body::run(b, p, *sm);
      };
      emulation::block_runner::instance().run(Body::threads, fn);
    }
}

}  // namespace stco::kernel::cuda
