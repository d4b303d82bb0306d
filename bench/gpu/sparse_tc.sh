#!/usr/bin/env bash
# One device call for the nm<2,4> fast path: (build), SASS check, GPU tests, sanitizers, benchmarks.
# Logs and the benchmark JSON (with the device name) go to $OUT. The benchmark includes the
# public-expression rows (nm24/expr_*, nm24/expr_mag_*: expression vs direct kernel calls); only
# those: SPARSE_TC_BENCH_ARGS='--benchmark_filter=nm24/expr'.
#
#   bash bench/gpu/sparse_tc.sh          (on the GPU machine, from the repository root)
#
# Binaries: taken from $SPARSE_TC_BIN (default .sparse_tcbin) when it holds them — built on the development
# machine for sm_90a and carried, which saves device time — else built here (sm_90a, -j16, only
# these targets). cuSPARSELt is found under PyTorch's packages.
set -uo pipefail
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
LT=${STCO_CUSPARSELT_ROOT:-/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cusparselt}
BIN=${SPARSE_TC_BIN:-.sparse_tcbin}
export LD_LIBRARY_PATH="$LT/lib:$PWD/$BIN${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH=/usr/local/cuda/bin:$PATH

{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  nvcc --version | tail -2
  echo "peer check: none here (the peers are timed, not cross-checked; bench/gpu/peers.sh runs bench/gpu/peers/torch_check.py)"; } > "$OUT/device.txt" 2>&1
head -2 "$OUT/device.txt"

if [ ! -x "$BIN/test_sparse_tc_ops" ] || [ ! -x "$BIN/bench_nm24" ]; then
  [ -f .deps/unpack-debs ] && source .deps/unpack-debs
  cmake -S . -B build-sparse_tc -DCMAKE_BUILD_TYPE=Release -DSTCO_FAST_TEST_BUILD=OFF -DCMAKE_CUDA_ARCHITECTURES=90a \
    -DSTCO_CUSPARSELT_ROOT="$LT" >"$OUT/build.log" 2>&1 &&
    cmake --build build-sparse_tc -j16 --target test_sparse_tc_ops test_sparse_tc_metadata bench_nm24 \
      >>"$OUT/build.log" 2>&1 || { grep -E "error" "$OUT/build.log" | head -20; exit 1; }
  BIN=build-sparse_tc/bin
  mkdir -p "$BIN"
  cp build-sparse_tc/tests/test_sparse_tc_ops build-sparse_tc/tests/test_sparse_tc_metadata \
    build-sparse_tc/bench/gpu/bench_nm24 "$BIN/"
fi

# What the tensor cores run: sparse (HMMA.SP / HGMMA.SP) and dense instructions in the binary.
{ echo "SASS tensor-core instructions of bench_nm24:"
  cuobjdump -sass "$BIN/bench_nm24" | grep -oE "(HGMMA|HMMA)[.A-Z0-9_]*" | sort | uniq -c; } \
  >>"$OUT/device.txt" 2>&1
tail -n +4 "$OUT/device.txt"

if [ "${SPARSE_TC_ONLY_NCU:-0}" = 1 ]; then  # counters only: skip tests, sanitizers, the full bench
  SPARSE_TC_NCU=1; hopper_ok=1; path_env=""
else

# The Hopper path first, alone and briefly (a broken pipeline would hang, not fail).
timeout 90 "$BIN/test_sparse_tc_ops" -tc="*Hopper*,*refuses*" >"$OUT/test_hopper.log" 2>&1
rc_hopper=$?
timeout 200 "$BIN/test_sparse_tc_ops" -tce="*Hopper*,*refuses*" >"$OUT/test.log" 2>&1
rc_test=$?
echo "hopper test rc=$rc_hopper: $(grep -E "test cases:" "$OUT/test_hopper.log")"
echo "portable test rc=$rc_test: $(grep -E "test cases:" "$OUT/test.log")"
grep -E "ERROR|CHECK|with expansion|values:|seed" "$OUT/test_hopper.log" | head -12
grep -E "ERROR|CHECK|seed" "$OUT/test.log" | head -6
hopper_ok=1
[ $rc_hopper -ne 0 ] && hopper_ok=0

# Sanitizers on the quick subset (one ragged shape per path, two epilogues).
skip=""
[ $hopper_ok -eq 0 ] && skip="-tce=*Hopper*"
{ STCO_SPARSE_TC_QUICK=1 timeout 150 compute-sanitizer --tool memcheck --leak-check full \
    "$BIN/test_sparse_tc_ops" $skip; echo "rc=$?"; } >"$OUT/memcheck.log" 2>&1
{ STCO_SPARSE_TC_QUICK=1 timeout 200 compute-sanitizer --tool racecheck "$BIN/test_sparse_tc_ops" $skip; \
  echo "rc=$?"; } >"$OUT/racecheck.log" 2>&1
echo "memcheck: $(grep -E "ERROR SUMMARY|rc=" "$OUT/memcheck.log" | tr '\n' ' ')"
echo "racecheck: $(grep -E "RACECHECK SUMMARY|ERROR SUMMARY|rc=" "$OUT/racecheck.log" | tr '\n' ' ')"

path_env=""
[ $hopper_ok -eq 0 ] && path_env="STCO_BENCH_PATH=sm80" && echo "Hopper path failed its test: benchmarking sm80"
env $path_env timeout ${SPARSE_TC_BENCH_TIMEOUT:-420} "$BIN/bench_nm24" --benchmark_out="$OUT/nm24.json" \
  --benchmark_out_format=json ${SPARSE_TC_BENCH_ARGS:-} >"$OUT/bench.log" 2>&1
echo "bench rc=$?"
fi  # SPARSE_TC_ONLY_NCU

# Hardware counters of our kernels at 8192³ (SPARSE_TC_NCU=1): forward, dW, and the Wᵀ value gather.
if [ "${SPARSE_TC_NCU:-0}" = 1 ]; then
  for spec in "nm24/fwd/sq8192/:gemm_kernel" "nm24/dw/sq8192/:gemm_kernel" "nm24/dx/sq8192/:gather"; do
    filter=${spec%%:*}; kern=${spec#*:}
    echo "=== $filter $kern" >>"$OUT/ncu.txt"
    env $path_env timeout 150 ncu --kernel-name "regex:$kern" --launch-skip 3 --launch-count 1 \
      --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats \
      --section ComputeWorkloadAnalysis --section LaunchStats --section Occupancy \
      "$BIN/bench_nm24" --benchmark_filter="$filter" >>"$OUT/ncu.txt" 2>&1
  done
  grep -E "===|Duration|Throughput|Pipe|Stall|Registers|Hit Rate|Active Warps" "$OUT/ncu.txt" | head -60
fi
python3 - "$OUT/nm24.json" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("no benchmark JSON:", e); sys.exit(0)
print(d["context"].get("device"), "sm90a:", d["context"].get("sm90a_path"), "cusparselt:", d["context"].get("cusparselt"))
for b in d["benchmarks"]:
    c = lambda k: b.get(k, float("nan"))
    extra = ("  direct %8.1f us  expr/direct x%5.2f" % (c("direct_us"), c("vs_direct"))
             if "vs_direct" in b else "  lt x%5.2f  csr x%7.1f" % (c("vs_cusparselt"), c("vs_csr")))
    # The dense peer on the dense model's weight (rand) and on the pruned weight decoded (pruned).
    print("%-40s %9.1f us %7.1f TF  cublas rand x%5.2f pruned x%5.2f%s" % (
        b["name"].split("/iterations")[0], c("us"), c("TFLOPs"), c("vs_cublas_rand"),
        c("vs_cublas_pruned"), extra))
EOF
