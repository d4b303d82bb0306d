#!/usr/bin/env bash
# One device call for the N:M masks embedded in 2:4 (sparse_tc/embed_nm.cuh), with the whole GPU test
# set: build every GPU test and bench_nm24 for sm_90a (-Werror, the tests' default build levels),
# run every GPU test under CTest, memcheck and racecheck the 16-bit matmul test (the embedded
# layouts' cases), then the benchmark rows (bench_nm24's embed rows, bench_tile's layouts vs CSR). Logs and the JSON (with the device name) go to $OUT.
#
#   bash bench/gpu/embed.sh     (on the GPU machine, from the repository root)
# Environment: EMBED_TARGETS (what to build; the tests among them are run), EMBED_TESTS=0 skips
# the tests and sanitizers, EMBED_SANITIZE=0 the sanitizers only, EMBED_BENCH_FILTER (bench_nm24 regex; default the embed rows and the 2:4 forward and
# step rows they are read against) and EMBED_TILE_FILTER (bench_tile regex; default the tile
# layouts at 75 % on the square shapes, each with its cuSPARSE CSR ratio); 'none' skips either.
set -uo pipefail
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
LT=${STCO_CUSPARSELT_ROOT:-/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cusparselt}
export LD_LIBRARY_PATH="$LT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH=/usr/local/cuda/bin:$PATH
start=$SECONDS

{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  nvcc --version | tail -2
  echo "peer check: none here (the peers are timed, not cross-checked; bench/gpu/peers.sh runs bench/gpu/peers/torch_check.py)"; } >"$OUT/device.txt" 2>&1
head -2 "$OUT/device.txt"

cmake -S . -B build-embed -DCMAKE_BUILD_TYPE=Release -DSTCO_FAST_TEST_BUILD=OFF -DCMAKE_CUDA_ARCHITECTURES=90a \
  -DSTCO_WERROR=ON -DSTCO_BUILD_EXAMPLES=OFF -DSTCO_CUSPARSELT_ROOT="$LT" >"$OUT/configure.log" 2>&1 ||
  { tail -20 "$OUT/configure.log"; exit 1; }
rm -f "$OUT/configure.log"  # the device tool brings back at most eight files
targets=${EMBED_TARGETS:-"test_gpu_memory test_gpu_nn test_sparse_tc_ops test_sparse_tc_metadata
  test_gpu_matmul_nm test_gpu_matmul_blocks test_gpu_matmul_lists test_gpu_matmul_16bit
  test_gpu_conv test_gpu_conv_grouped test_gpu_entity test_gpu_errors test_gpu_prune
  test_gpu_optim test_gather_tc_matmul test_gather_tc_conv bench_nm24 bench_tile"}
# One build per target, all at once: each is one translation unit, and make builds the targets
# of one invocation one after another.
cmake --build build-embed --target stco_test_main >"$OUT/build.log" 2>&1
for t in $targets; do
  timeout 420 cmake --build build-embed --target "$t" >"$OUT/build-$t.log" 2>&1 &
done
wait
cat "$OUT"/build-*.log >>"$OUT/build.log"
rm -f "$OUT"/build-*.log
echo "build done $((SECONDS - start)) s"
grep -E "error|Error" "$OUT/build.log" | head -20

if [ "${EMBED_TESTS:-1}" = 1 ]; then
# Every GPU test (and the host-only sparse_tc metadata test), with each binary's own run time.
tests=$(echo $targets | tr ' ' '\n' | grep -E '^test_gpu|^test_sparse_tc_ops|^test_gather_tc' | paste -sd'|')
ctest --test-dir build-embed -L gpu -R "^($tests)\$" --output-on-failure --timeout 240 \
  >"$OUT/ctest.log" 2>&1
echo "ctest rc=$? $((SECONDS - start)) s"
grep -E "Test +#|tests passed|Failed|\*\*\*" "$OUT/ctest.log" | head -30
if [ -x build-embed/tests/test_sparse_tc_metadata ]; then
  build-embed/tests/test_sparse_tc_metadata >/tmp/test_sparse_tc_metadata.log 2>&1
  echo "test_sparse_tc_metadata rc=$?: $(grep -E 'assertions:' /tmp/test_sparse_tc_metadata.log)" |
    tee -a "$OUT/device.txt"
fi

# The sanitizers on the 16-bit matmul test (quick case lists); EMBED_SANITIZE=0 skips them.
t=build-embed/tests/test_gpu_matmul_16bit
if [ "${EMBED_SANITIZE:-1}" = 1 ]; then
STCO_GPU_QUICK=1 timeout 150 compute-sanitizer --tool memcheck "$t" >/tmp/memcheck.log 2>&1
echo "memcheck rc=$? $(grep -E 'ERROR SUMMARY' /tmp/memcheck.log | tail -1)" | tee -a "$OUT/device.txt"
STCO_GPU_QUICK=1 timeout 150 compute-sanitizer --tool racecheck "$t" >/tmp/racecheck.log 2>&1
echo "racecheck rc=$? $(grep -E 'RACECHECK SUMMARY' /tmp/racecheck.log | tail -1)" | tee -a "$OUT/device.txt"
echo "sanitizers done $((SECONDS - start)) s"
fi
fi

filter=${EMBED_BENCH_FILTER:-'nm24/(embed_.*|fwd/sq(4096|8192)/|step/sq(4096|8192)/)'}
if [ "$filter" != none ]; then
  left=$((595 - (SECONDS - start)))
  timeout $((left < 300 ? left : 300)) build-embed/bench/gpu/bench_nm24 \
    --benchmark_filter="$filter" --benchmark_out="$OUT/bench_embed.json" \
    --benchmark_out_format=json >"$OUT/bench_embed.log" 2>&1
  echo "bench rc=$? $((SECONDS - start)) s"
  grep -E "^nm24" "$OUT/bench_embed.log" | sed -E 's/ +/ /g' | cut -c1-230
fi

tfilter=${EMBED_TILE_FILTER:-'gather_tc/(tile_wise<(128|64|32)>|tile_vector<128,2,4>|block<32,32>|channel)/75/sq(4096|8192)/'}
if [ "$tfilter" != none ]; then
  timeout $((595 - (SECONDS - start))) build-embed/bench/gpu/bench_tile \
    --benchmark_filter="$tfilter" --benchmark_out="$OUT/bench_tile.json" \
    --benchmark_out_format=json >"$OUT/bench_tile.log" 2>&1
  echo "bench_tile rc=$? $((SECONDS - start)) s"
  grep -E "^gather_tc" "$OUT/bench_tile.log" | sed -E 's/ +/ /g' | cut -c1-230
fi
