// bench/gpu/peers/timer.hpp — how every GPU benchmark times a call, stco and its peers alike (and
// torch_check.py on the PyTorch side, with the same numbers):
//   - CUDA events around each call, the stream synchronized after each one;
//   - warm-up first: at least `warmup` calls and at least `warmup_ms` of GPU time, so that clocks
//     and power settle and lazy set-up (handles, module loads, plans) stays out;
//   - then as many timed calls as fit in about `budget_ms` (between `min_reps` and `max_reps`);
//     the median is reported;
//   - inputs rotated by the caller: call i reads input set i % sets, with enough sets that the
//     rotation exceeds 4 × L2 (rotating_sets), so that no call finds its operands in L2;
//   - the SM clock, power and throttle reasons sampled halfway through the timed calls
//     (clock.hpp), kept with the result (last_timing()).
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "clock.hpp"

namespace stco_bench::gpu {

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "CUDA error %s: %s\n", what, cudaGetErrorString(e));
    std::abort();
  }
}

/// The defaults every benchmark uses unless it says otherwise (torch_check.py: the same).
struct timing_policy {
  int min_reps = 5, max_reps = 50;
  double budget_ms = 300.0;
  int warmup = 3;
  double warmup_ms = 25.0;
};

/// What the last median_ms call measured.
struct timing {
  double ms = 0, min_ms = 0, max_ms = 0;
  int reps = 0, warmup = 0;
  clock_sample clock;
};
inline timing& last_timing() {
  static timing t;
  return t;
}

/// One-line statement of the method, for benchmark contexts and result notes.
inline std::string timing_method(const timing_policy& p = {}) {
  char b[400];
  std::snprintf(b, sizeof b,
                "CUDA events around each call (stream synchronized after each); warm-up >= %d "
                "calls and >= %.0f ms; median of %d-%d calls filling ~%.0f ms; inputs rotated "
                "over sets whose total exceeds 4 x L2; SM clock / power / throttle reasons "
                "sampled halfway (NVML)",
                p.warmup, p.warmup_ms, p.min_reps, p.max_reps, p.budget_ms);
  return b;
}

/// Median time in milliseconds of `run(i)` on stream s (i = call index, for rotating inputs).
inline double median_ms(cudaStream_t s, const std::function<void(int)>& run, int min_reps = 5,
                        int max_reps = 50, double budget_ms = 300.0, int warmup = 3,
                        double warmup_ms = 25.0) {
  cudaEvent_t a, b;
  check(cudaEventCreate(&a), "cudaEventCreate");
  check(cudaEventCreate(&b), "cudaEventCreate");
  int call = 0;
  // One timed warm-up call sizes the warm-up and the repetition count.
  check(cudaEventRecord(a, s), "cudaEventRecord");
  run(call++);
  check(cudaEventRecord(b, s), "cudaEventRecord");
  check(cudaEventSynchronize(b), "cudaEventSynchronize");
  float first = 0;
  check(cudaEventElapsedTime(&first, a, b), "cudaEventElapsedTime");
  const float f = std::max(first, 1e-3f);
  // Calls slower than a tenth of the budget get no more warm-up (a CSR SpMM may take 100 ms).
  const int more = f > budget_ms / 10
                       ? 0
                       : std::clamp(static_cast<int>(std::ceil(warmup_ms / f)), warmup, 400) - 1;
  for (int i = 0; i < more; ++i) run(call++);
  const int reps = std::clamp(static_cast<int>(budget_ms / f), min_reps, max_reps);
  std::vector<float> t(static_cast<std::size_t>(reps));
  clock_sample clk;
  for (int i = 0; i < reps; ++i) {
    check(cudaEventRecord(a, s), "cudaEventRecord");
    run(call++);
    check(cudaEventRecord(b, s), "cudaEventRecord");
    if (i == reps / 2) clk = sample_clock();  // while the call runs
    check(cudaEventSynchronize(b), "cudaEventSynchronize");
    check(cudaEventElapsedTime(&t[static_cast<std::size_t>(i)], a, b), "cudaEventElapsedTime");
  }
  check(cudaGetLastError(), "timed work");
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  timing& out = last_timing();
  out.min_ms = *std::min_element(t.begin(), t.end());
  out.max_ms = *std::max_element(t.begin(), t.end());
  std::nth_element(t.begin(), t.begin() + reps / 2, t.end());
  out.ms = t[static_cast<std::size_t>(reps / 2)];
  out.reps = reps;
  out.warmup = 1 + more;
  out.clock = clk;
  return out.ms;
}

inline double median_ms(cudaStream_t s, const std::function<void(int)>& run,
                        const timing_policy& p) {
  return median_ms(s, run, p.min_reps, p.max_reps, p.budget_ms, p.warmup, p.warmup_ms);
}

/// The device's L2 size in bytes (50 MB on an H100 where it cannot be read).
inline std::size_t l2_bytes() {
  static const std::size_t bytes = [] {
    int dev = 0, l2 = 0;
    if (cudaGetDevice(&dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev) != cudaSuccess || l2 <= 0)
      return std::size_t{50} << 20;
    return static_cast<std::size_t>(l2);
  }();
  return bytes;
}

/// How many copies of an input set of `bytes` make the rotation exceed `floor_bytes` (default
/// 4 × L2), between 1 and `max_sets`.
inline int rotating_sets(std::size_t bytes, std::size_t floor_bytes = 0, int max_sets = 64) {
  if (floor_bytes == 0) floor_bytes = 4 * l2_bytes();
  if (bytes == 0) return 1;
  return static_cast<int>(std::clamp<std::size_t>((floor_bytes + bytes - 1) / bytes, 1,
                                                  static_cast<std::size_t>(max_sets)));
}

}  // namespace stco_bench::gpu
