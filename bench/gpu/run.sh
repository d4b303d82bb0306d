#!/usr/bin/env bash
# One device call: build everything for the chip, run every test (CPU and GPU), and run the GPU
# tests under compute-sanitizer (memcheck on every GPU test binary, racecheck on the
# shared-memory kernels). Logs go to $OUT (the device tool brings them back). For the expression
# set's tests alone, from binaries built on the development machine: bench/gpu/cudacore.sh.
#   bash bench/gpu/run.sh            (on the GPU machine, from the repository root)
set -euo pipefail
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
arch=${STCO_CUDA_ARCH:-90}

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$OUT/device.txt"
nvcc --version | tail -2 | tee -a "$OUT/device.txt"

cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DSTCO_FAST_TEST_BUILD=OFF -DCMAKE_CUDA_ARCHITECTURES="$arch" -DSTCO_WERROR=ON \
  >"$OUT/configure.log" 2>&1 || { tail -30 "$OUT/configure.log"; exit 1; }
cmake --build build-gpu -j"$(nproc)" >"$OUT/build.log" 2>&1 || { grep -E "error" "$OUT/build.log" | head -30; exit 1; }

set +e
ctest --test-dir build-gpu --output-on-failure >"$OUT/ctest.log" 2>&1
rc_tests=$?
# The failing-allocation case is excluded: the sanitizer reports the (intended) API error.
compute-sanitizer --tool memcheck --leak-check full build-gpu/tests/test_gpu_memory \
  -tce="*failing CUDA call*" >"$OUT/memcheck.log" 2>&1
rc_memcheck=$?
# The device expression set (reduced settings: the sanitizers slow every kernel down a lot):
# memcheck on every binary, racecheck on the shared-memory kernels (tiled products, reductions).
export STCO_GPU_QUICK=1
for t in test_gpu_entity test_gpu_matmul_nm test_gpu_matmul_blocks test_gpu_matmul_lists \
         test_gpu_matmul_16bit test_gpu_conv test_gpu_conv_grouped test_gpu_prune test_gpu_optim \
         test_gpu_errors; do
  compute-sanitizer --tool memcheck --leak-check full --error-exitcode 3 build-gpu/tests/$t \
    -tce="*failing CUDA calls*" >>"$OUT/memcheck.log" 2>&1 || rc_memcheck=1
done
for spec in "test_gpu_matmul_blocks:*tile_wise<*4>*" "test_gpu_matmul_nm:*nm<*2,*4>*" \
            "test_gpu_conv:*csr*"; do
  compute-sanitizer --tool racecheck --error-exitcode 3 "build-gpu/tests/${spec%%:*}" \
    -tc="${spec#*:}" >>"$OUT/racecheck.log" 2>&1 || rc_memcheck=1
done
unset STCO_GPU_QUICK
set -e

tail -25 "$OUT/ctest.log"
tail -4 "$OUT/memcheck.log"
echo "tests rc=$rc_tests memcheck rc=$rc_memcheck"
[ "$rc_tests" -eq 0 ] && [ "$rc_memcheck" -eq 0 ]
