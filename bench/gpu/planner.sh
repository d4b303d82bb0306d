#!/usr/bin/env bash
# The planner's device run (two calls on one warm machine; build directories are kept between them):
#
#   bash bench/gpu/planner.sh build     # configure + build the GPU tests and the benchmarks of this
#                                       # tree and of the baseline tree, then run the GPU tests
#   bash bench/gpu/planner.sh measure   # compute-sanitizer on the route tests and the tensor-core
#                                       # tests, then this tree's and the baseline's benchmarks,
#                                       # alternated on the same GPU
#
# The baseline is the commit before the planner, unpacked from .base/base.tar (git archive, made on
# the development machine and carried). The build phase also builds bench/gpu/peers.sh's
# benchmarks (PEERS_BUILD_ONLY), so that a third call, `bash bench/gpu/peers.sh`, only runs them. Everything is built for sm_90a with -DSTCO_FAST_TEST_BUILD=OFF
# (kernels optimized as users build them). Logs, JSON and the device name go to $OUT.
set -uo pipefail
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
phase=${1:-build}
start=$SECONDS
LT=${STCO_CUSPARSELT_ROOT:-/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cusparselt}
export PATH=/usr/local/cuda/bin:$PATH
export LD_LIBRARY_PATH="$LT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ -f .deps/unpack-debs ]; then
  source .deps/unpack-debs
  # zlib1g-dev's libz.so points at the runtime library, which the device has under /usr/lib.
  for d in /opt/deps/usr/lib/x86_64-linux-gnu; do
    [ -d "$d" ] && ln -sf /usr/lib/x86_64-linux-gnu/libz.so.1 "$d/libz.so"
  done
fi
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader \
  > "$OUT/device.txt" 2>&1
cat "$OUT/device.txt"

tests="test_gpu_routes test_cuda_arch test_gpu_memory test_gpu_nn test_sparse_tc_ops test_sparse_tc_metadata \
test_gpu_matmul_nm test_gpu_matmul_blocks test_gpu_matmul_lists test_gpu_matmul_16bit test_gpu_conv \
test_gpu_conv_grouped test_gpu_entity test_gpu_errors test_gpu_prune test_gpu_optim \
test_gather_tc_matmul test_gather_tc_conv"
base_benches="bench_nm24"

configure() {  # source dir, build dir, extra args
  cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release -DSTCO_FAST_TEST_BUILD=OFF \
    -DCMAKE_CUDA_ARCHITECTURES=90a -DSTCO_BUILD_FUZZERS=OFF -DSTCO_BUILD_EXAMPLES=OFF \
    -DSTCO_CUSPARSELT_ROOT="$LT" "${@:3}" > "/tmp/configure-$(basename "$2").log" 2>&1 ||
    { tail -30 "/tmp/configure-$(basename "$2").log"; return 1; }
}

if [ "$phase" = build ]; then
  configure . build-gpu || exit 1
  rm -rf .base/src && mkdir -p .base/src && tar -xf .base/base.tar -C .base/src
  configure .base/src build-base -DSTCO_BUILD_TESTS=OFF
  cmake --build build-gpu --target stco_test_main > "$OUT/build.log" 2>&1
  # One build per target, all at once (each target is one translation unit).
  for t in $tests; do
    timeout 420 cmake --build build-gpu --target "$t" > "/tmp/build-$t.log" 2>&1 &
  done
  for t in $base_benches; do
    timeout 420 cmake --build build-base --target "$t" > "/tmp/build-base-$t.log" 2>&1 &
  done
  PEERS_BUILD_ONLY=1 PEERS_DEADLINE=450 OUT=/tmp/peers-build bash bench/gpu/peers.sh \
    > /tmp/build-peers.log 2>&1 &
  wait
  cat /tmp/build-*.log >> "$OUT/build.log"
  echo "build $((SECONDS - start)) s"
  grep -E "error|warning" "$OUT/build.log" | head -20
  timeout $((560 - (SECONDS - start))) ctest --test-dir build-gpu -L gpu \
    -R "^($(echo $tests | tr ' ' '|'))\$" --output-on-failure --timeout 240 > "$OUT/ctest.log" 2>&1
  echo "ctest rc=$? $((SECONDS - start)) s"
  grep -E "tests passed|Passed|Failed|\*\*\*|Timeout" "$OUT/ctest.log" | head -40
  build-gpu/tests/test_gpu_routes -tc="explain*" > "$OUT/explain.txt" 2>&1
  cat "$OUT/explain.txt"
  exit 0
fi

# measure
for t in test_gpu_routes test_cuda_arch test_gather_tc_matmul test_sparse_tc_ops; do
  STCO_GPU_QUICK=1 timeout 150 compute-sanitizer --tool memcheck "build-gpu/tests/$t" \
    > "/tmp/memcheck-$t.log" 2>&1
  echo "memcheck $t rc=$? $(grep -E 'ERROR SUMMARY' "/tmp/memcheck-$t.log" | tail -1)" | tee -a "$OUT/sanitizer.txt"
done
STCO_GPU_QUICK=1 timeout 150 compute-sanitizer --tool racecheck build-gpu/tests/test_gpu_routes \
  > /tmp/racecheck.log 2>&1
echo "racecheck test_gpu_routes rc=$? $(grep -E 'RACECHECK SUMMARY' /tmp/racecheck.log | tail -1)" | tee -a "$OUT/sanitizer.txt"
# The public-expression rows (every call through the planner) of this tree and the baseline,
# alternated; the family-level rows of bench_tile plan once per row and run the kernels as before.
nm_filter=${NM_FILTER:-'nm24/expr(_mag)?_(fwd|dx|dw|step|relu_step)/sq(4096|8192)'}
mkdir -p /tmp/bench
for round in 1 2; do
  for tree in build-peers-dev build-base; do
    timeout 120 "$tree/bench/gpu/bench_nm24" --benchmark_filter="$nm_filter" \
      --benchmark_out="/tmp/bench/nm24-$tree-$round.json" --benchmark_out_format=json > /dev/null 2>&1
    echo "bench_nm24 $tree round $round rc=$? $((SECONDS - start)) s"
  done
done
tar -cf "$OUT/bench.tar" -C /tmp bench
