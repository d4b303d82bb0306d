#!/usr/bin/env bash
# One device call for the CUDA expression set (cudacore): the device tests of every layout, op,
# epilogue and value type, then compute-sanitizer memcheck on each test binary and racecheck on
# the shared-memory kernels (reduced settings, STCO_GPU_QUICK). Logs go to $OUT.
#
# The binaries are built on the development machine for sm_90 and carried in .cudacore/bin (see
# the `carry` argument of the device tool); when they do not run there, they are built here.
#   bash bench/gpu/cudacore.sh            (on the GPU machine, from the repository root)
set -uo pipefail
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
tests=(test_gpu_entity test_gpu_matmul_nm test_gpu_matmul_blocks test_gpu_matmul_lists
       test_gpu_matmul_16bit test_gpu_conv test_gpu_conv_grouped test_gpu_prune test_gpu_optim
       test_gpu_errors)
summary="$OUT/summary.txt"
: >"$summary"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee -a "$summary"
echo "peer check: none here (the peers are timed, not cross-checked; bench/gpu/peers.sh runs bench/gpu/peers/torch_check.py)" | tee -a "$summary"

bin=.cudacore/bin
if ! "$bin/test_gpu_entity" --help >/dev/null 2>&1; then
  echo "carried binaries do not run here; building for sm_90" | tee -a "$summary"
  [ -f .deps/unpack-debs ] && source .deps/unpack-debs
  cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DSTCO_FAST_TEST_BUILD=OFF -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DSTCO_WERROR=ON >"$OUT/configure.log" 2>&1 || { tail -20 "$OUT/configure.log"; exit 1; }
  cmake --build build-gpu -j"$(nproc)" --target "${tests[@]}" >"$OUT/build.log" 2>&1 ||
    { grep -E "error" "$OUT/build.log" | head -30; exit 1; }
  bin=build-gpu/tests
fi

export STCO_TEST_SEED=${STCO_TEST_SEED:-$RANDOM$RANDOM}
rc=0
for t in "${tests[@]}"; do
  start=$SECONDS
  timeout 120 "$bin/$t" >"$OUT/$t.log" 2>&1
  r=$?
  [ $r -eq 0 ] || rc=1
  echo "$t rc=$r $((SECONDS - start))s $(grep -E '^\[doctest\] (test cases|assertions)' "$OUT/$t.log" | tr -s ' ' | tr '\n' ' ')" | tee -a "$summary"
done

# The sanitizers: every binary under memcheck with the reduced settings; racecheck on the tiled
# product kernels (forward, dX, dW) and the block reductions (loose patterns: the nvcc build
# spells template arguments its own way).
export STCO_GPU_QUICK=1
for t in "${tests[@]}"; do
  extra=()
  [ "$t" = test_gpu_errors ] && extra=(-tce="*failing CUDA calls*")
  timeout 90 compute-sanitizer --tool memcheck --leak-check full --error-exitcode 3 \
    "$bin/$t" "${extra[@]}" >"$OUT/memcheck_$t.log" 2>&1
  r=$?
  [ $r -eq 0 ] || rc=1
  echo "memcheck $t rc=$r $(grep -E 'ERROR SUMMARY' "$OUT/memcheck_$t.log")" | tee -a "$summary"
done
for spec in "test_gpu_matmul_blocks:*tile_wise<*4>*" "test_gpu_matmul_nm:*nm<*2,*4>*" \
            "test_gpu_conv:*csr*"; do
  t=${spec%%:*}
  timeout 120 compute-sanitizer --tool racecheck --error-exitcode 3 "$bin/$t" -tc="${spec#*:}" \
    >"$OUT/racecheck_$t.log" 2>&1
  r=$?
  [ $r -eq 0 ] || rc=1
  echo "racecheck $t ${spec#*:} rc=$r $(grep -E 'RACECHECK SUMMARY|ERROR SUMMARY' "$OUT/racecheck_$t.log")" | tee -a "$summary"
done
# The portable kernels' speed (fast paths off) against cuBLAS, when the benchmark was carried.
if [ -x "$bin/bench_portable" ]; then
  LD_LIBRARY_PATH=.cudacore/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} timeout 150 \
    "$bin/bench_portable" --benchmark_out="$OUT/bench_portable.json" \
    --benchmark_out_format=json >"$OUT/bench_portable.txt" 2>&1
  echo "bench_portable rc=$?" | tee -a "$summary"
fi
echo "cudacore rc=$rc" | tee -a "$summary"
exit $rc
