// bench/gpu/peers/timer.hpp — timing GPU work the way the benchmarks report it: CUDA events
// around each call, warm-up first, the median of many calls, with the caller rotating between
// input sets so that repeated calls do not run out of L2.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

namespace stco_bench::gpu {

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "CUDA error %s: %s\n", what, cudaGetErrorString(e));
    std::abort();
  }
}

/// Median time in milliseconds of `run(i)` (i = call index, for rotating inputs) on `s`. Runs
/// warm-up calls first, then as many timed calls as fit in about `budget_ms` (at least
/// `min_reps`, at most `max_reps`), each between its own pair of events.
inline double median_ms(cudaStream_t s, const std::function<void(int)>& run, int min_reps = 5,
                        int max_reps = 50, double budget_ms = 300.0, int warmup = 3) {
  cudaEvent_t a, b;
  check(cudaEventCreate(&a), "cudaEventCreate");
  check(cudaEventCreate(&b), "cudaEventCreate");
  int call = 0;
  // One timed warm-up call sizes the repetition count.
  check(cudaEventRecord(a, s), "cudaEventRecord");
  run(call++);
  check(cudaEventRecord(b, s), "cudaEventRecord");
  check(cudaEventSynchronize(b), "cudaEventSynchronize");
  float first = 0;
  check(cudaEventElapsedTime(&first, a, b), "cudaEventElapsedTime");
  for (int i = 1; i < warmup && first < budget_ms / 10; ++i) run(call++);
  const int reps =
      std::clamp(static_cast<int>(budget_ms / std::max(first, 1e-3f)), min_reps, max_reps);
  std::vector<float> t(static_cast<std::size_t>(reps));
  for (int i = 0; i < reps; ++i) {
    check(cudaEventRecord(a, s), "cudaEventRecord");
    run(call++);
    check(cudaEventRecord(b, s), "cudaEventRecord");
    check(cudaEventSynchronize(b), "cudaEventSynchronize");
    check(cudaEventElapsedTime(&t[static_cast<std::size_t>(i)], a, b), "cudaEventElapsedTime");
  }
  check(cudaGetLastError(), "timed work");
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  std::nth_element(t.begin(), t.begin() + reps / 2, t.end());
  return t[static_cast<std::size_t>(reps / 2)];
}

/// How many copies of an input set of `bytes` make the rotation exceed `floor_bytes` (default
/// 4 × a 50 MB L2), between 1 and `max_sets`.
inline int rotating_sets(std::size_t bytes, std::size_t floor_bytes = 200u << 20,
                         int max_sets = 8) {
  if (bytes == 0) return 1;
  return std::clamp(static_cast<int>((floor_bytes + bytes - 1) / bytes), 1, max_sets);
}

}  // namespace stco_bench::gpu
