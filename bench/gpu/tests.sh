#!/usr/bin/env bash
# On the GPU machine: build the GPU tests (sm_90a; GPU_TEST_TARGETS to choose) and run them
# under CTest (label gpu); build log, ctest log and device name go to $OUT.
#   bash bench/gpu/tests.sh   (repository root)
set -uo pipefail
OUT=${OUT:-$PWD/out}; mkdir -p "$OUT"; start=$SECONDS
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > "$OUT/device.txt"
cmake -S . -B build-gputests -DCMAKE_BUILD_TYPE=Release -DSTCO_FAST_TEST_BUILD=OFF -DCMAKE_CUDA_ARCHITECTURES=90a \
  -DSTCO_BUILD_BENCHMARKS=OFF -DSTCO_BUILD_EXAMPLES=OFF > "$OUT/build.log" 2>&1
targets=${GPU_TEST_TARGETS:-"test_gpu_memory test_gpu_nn test_sparse_tc_ops test_gpu_matmul_nm test_gpu_matmul_blocks test_gpu_matmul_lists test_gpu_matmul_16bit test_gpu_conv test_gpu_conv_grouped test_gpu_entity test_gpu_errors test_gpu_prune test_gpu_optim test_gather_tc_matmul test_gather_tc_conv"}
# One build per target, all at once: each target is a single translation unit, and make builds
# the targets of one invocation one after another.
cmake --build build-gputests --target stco_test_main >> "$OUT/build.log" 2>&1
for t in $targets; do
  timeout "${GPU_BUILD_LIMIT:-400}" cmake --build build-gputests --target "$t" > "$OUT/build-$t.log" 2>&1 &
done
wait
cat "$OUT"/build-*.log >> "$OUT/build.log"; rm -f "$OUT"/build-*.log
echo "build rc=$? $((SECONDS-start)) s" | tee -a "$OUT/device.txt"
grep -E "error" "$OUT/build.log" | head -20
left=$((560 - (SECONDS-start)))
timeout $left ctest --test-dir build-gputests -L gpu -R "^($(echo $targets | tr ' ' '|'))\$" --output-on-failure --timeout 200 > "$OUT/ctest.log" 2>&1
echo "ctest rc=$? $((SECONDS-start)) s" | tee -a "$OUT/device.txt"
grep -E "tests passed|Passed|Failed|\*\*\*|Timeout" "$OUT/ctest.log" | head -40
# GPU_SANITIZE=1: compute-sanitizer memcheck on every built test binary, racecheck on the ones
# with tensor-core kernels, on the quick case lists (STCO_GPU_QUICK=1); summaries to $OUT.
if [ "${GPU_SANITIZE:-0}" = 1 ]; then
  for t in $targets; do
    [ -x "build-gputests/tests/$t" ] || continue
    STCO_GPU_QUICK=1 timeout 200 compute-sanitizer --tool memcheck --leak-check full \
      "build-gputests/tests/$t" > "/tmp/memcheck-$t.log" 2>&1
    echo "memcheck $t rc=$? $(grep -E 'ERROR SUMMARY' "/tmp/memcheck-$t.log" | tail -1)" | tee -a "$OUT/sanitizer.txt"
    case $t in
      test_gpu_matmul_16bit | test_sparse_tc_ops | test_gather_tc_*)
        STCO_GPU_QUICK=1 timeout 200 compute-sanitizer --tool racecheck "build-gputests/tests/$t" \
          > "/tmp/racecheck-$t.log" 2>&1
        echo "racecheck $t rc=$? $(grep -E 'RACECHECK SUMMARY' "/tmp/racecheck-$t.log" | tail -1)" | tee -a "$OUT/sanitizer.txt" ;;
    esac
  done
fi
