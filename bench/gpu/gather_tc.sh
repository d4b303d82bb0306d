#!/usr/bin/env bash
# One device call for the tile tensor-core kernels (gather_tc): build (unless prebuilt binaries are
# given), run the GPU tests, memcheck and racecheck, count the tensor-core instructions in the
# SASS, and run the benchmark. Logs and JSON (with the device name) go to $OUT.
#
#   bash bench/gpu/gather_tc.sh                 build here for sm_90a with -j16, then run
#   bash bench/gpu/gather_tc.sh DIR             run the binaries in DIR (test_gather_tc_matmul,
#                                            test_gather_tc_conv, bench_tile; DIR/lib on the
#                                            library path)
# Environment: GATHER_TC_BENCH_FILTER (Google Benchmark regex, default all; 'none' skips the
# benchmark), GATHER_TC_SANITIZE (all | memcheck | none; default all), GATHER_TC_SAN_MATMUL (doctest
# test-case filter of the matmul sanitizer runs), GATHER_TC_TARGETS (targets to build and run,
# default the two gather_tc tests and the benchmark; any test_* target named is built and run),
# GATHER_TC_PTXAS=1 (build with -Xptxas -v; the register / spill report of
# every kernel goes to $OUT/ptxas.txt).
set -uo pipefail
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
BIN=${1:-}

{
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  nvcc --version | tail -2
  echo "peer check: none here (the peers are timed, not cross-checked; bench/gpu/peers.sh runs bench/gpu/peers/torch_check.py)"
} >"$OUT/device.txt" 2>&1
cat "$OUT/device.txt"

TARGETS=${GATHER_TC_TARGETS:-test_gather_tc_matmul test_gather_tc_conv bench_tile}
if [ -z "$BIN" ]; then
  FLAGS=()
  [ "${GATHER_TC_PTXAS:-0}" = 1 ] && FLAGS=(-DCMAKE_CUDA_FLAGS=-Xptxas=-v)
  cmake -S . -B build-gather_tc-dev -DCMAKE_BUILD_TYPE=Release -DSTCO_FAST_TEST_BUILD=OFF -DSTCO_WERROR="${GATHER_TC_WERROR:-ON}" \
    -DCMAKE_CUDA_ARCHITECTURES=90a "${FLAGS[@]}" >"$OUT/configure.log" 2>&1 || { tail -20 "$OUT/configure.log"; exit 1; }
  SECONDS=0
  # One build per target, all at once: each is a single translation unit, and make builds the
  # targets of one invocation one after another.
  cmake --build build-gather_tc-dev --target stco_test_main >"$OUT/build.log" 2>&1
  for t in $TARGETS; do
    cmake --build build-gather_tc-dev -j4 --target "$t" >"$OUT/build-$t.log" 2>&1 &
  done
  wait
  cat "$OUT"/build-*.log >>"$OUT/build.log" && rm -f "$OUT"/build-*.log
  for t in $TARGETS; do
    [ -x "build-gather_tc-dev/tests/$t" ] || [ -x "build-gather_tc-dev/bench/gpu/$t" ] ||
      { grep -E "error" "$OUT/build.log" | head -30; echo "build of $t failed"; exit 1; }
  done
  echo "build: ${SECONDS}s, $(grep -c 'warning' "$OUT/build.log") warning lines"
  grep -E 'warning' "$OUT/build.log" | sort -u | head -10
  BIN=$OUT/bin
  mkdir -p "$BIN"
  for t in $TARGETS; do
    cp "build-gather_tc-dev/tests/$t" "$BIN/" 2>/dev/null || cp "build-gather_tc-dev/bench/gpu/$t" "$BIN/"
  done
  if [ "${GATHER_TC_PTXAS:-0}" = 1 ]; then
    python3 bench/gpu/ptxas_report.py "$OUT/build.log" | cu++filt | sort -u >"$OUT/ptxas.txt"
    grep -E "ws_kernel" "$OUT/ptxas.txt" | sed -E 's/stco::kernel::cuda::gather_tc:://g' | cut -c1-200
    grep -E "C7508|setmaxnreg" "$OUT/build.log" | head -5
  fi
fi
export LD_LIBRARY_PATH="$BIN/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"

rc=0
for t in $TARGETS; do
  case $t in test_*) ;; *) continue ;; esac
  [ -x "$BIN/$t" ] || continue
  SECONDS=0
  timeout "${GATHER_TC_TEST_TIMEOUT:-300}" "$BIN/$t" >"$OUT/$t.log" 2>&1
  r=$?
  echo "$t rc=$r (${SECONDS}s): $(grep -E '^\[doctest\] (test cases|assertions)' "$OUT/$t.log" | tr '\n' ' ')"
  [ $r -ne 0 ] && rc=1 && grep -B2 -A12 -m3 "ERROR" "$OUT/$t.log" | head -60
done

SAN=${GATHER_TC_SANITIZE:-all}
san() {  # tool, log, binary, test-case filter
  timeout 150 compute-sanitizer --tool "$1" --error-exitcode 9 "$BIN/$3" -tc="$4" >"$OUT/$2" 2>&1
  echo "$1 $3 [$4] rc=$? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$OUT/$2" | head -2 | tr '\n' ' ')"
}
if [ "$SAN" != none ]; then
  san memcheck memcheck_matmul.log test_gather_tc_matmul "${GATHER_TC_SAN_MATMUL:-*tile_vector*,*block*,*channel*}"
  [ -x "$BIN/test_gather_tc_conv" ] && san memcheck memcheck_conv.log test_gather_tc_conv "*tile_wise<64>*,*channel*"
fi
if [ "$SAN" = all ]; then
  san racecheck racecheck_matmul.log test_gather_tc_matmul "${GATHER_TC_SAN_MATMUL:-*tile_vector*}"
  [ -x "$BIN/test_gather_tc_conv" ] && san racecheck racecheck_conv.log test_gather_tc_conv "*tile_vector*"
fi

# Which tensor-core instructions the kernels run (HMMA: mma.sync; HGMMA: wgmma).
{
  echo "HMMA: $(cuobjdump -sass "$BIN/bench_tile" 2>/dev/null | grep -c HMMA)"
  echo "HGMMA: $(cuobjdump -sass "$BIN/bench_tile" 2>/dev/null | grep -c HGMMA)"
  echo "LDL/STL (local memory): $(cuobjdump -sass "$BIN/bench_tile" 2>/dev/null | grep -cE 'LDL|STL')"
  # the warp-specialized kernels alone
  cuobjdump -sass "$BIN/bench_tile" 2>/dev/null |
    awk '/Function : /{f = /ws9ws_kernel/} f' >"$OUT/ws_sass.txt"
  echo "ws_kernel: $(grep -c 'Function : ' "$OUT/ws_sass.txt") kernels, HGMMA $(grep -c HGMMA "$OUT/ws_sass.txt"), LDL/STL $(grep -cE 'LDL|STL' "$OUT/ws_sass.txt"), SYNCS $(grep -c SYNCS "$OUT/ws_sass.txt"), LDGSTS $(grep -c LDGSTS "$OUT/ws_sass.txt"), UTMALDG $(grep -c UTMALDG "$OUT/ws_sass.txt")"
} | tee "$OUT/sass.txt"

[ "${GATHER_TC_BENCH_FILTER:-.}" = none ] && exit $rc
[ -x "$BIN/bench_tile" ] || exit $rc
timeout "${GATHER_TC_BENCH_TIMEOUT:-420}" "$BIN/bench_tile" --benchmark_filter="${GATHER_TC_BENCH_FILTER:-.}" \
  --benchmark_out="$OUT/bench_tile.json" --benchmark_out_format=json >"$OUT/bench_tile.log" 2>&1
echo "bench rc=$?"
python3 - "$OUT/bench_tile.json" <<'EOF' || true
import json, sys
d = json.load(open(sys.argv[1]))
print("device:", d["context"].get("device"))
for b in d["benchmarks"]:
    c = lambda k: b.get(k, float("nan"))
    # x = cuBLAS time / ours, on the dense model's weight (rand) / the pruned weight decoded (pruned).
    r = lambda o: f'x{c(o + "_vs_cublas_rand"):5.2f}/{c(o + "_vs_cublas_pruned"):5.2f}'
    print(f'{b["name"]:58s} fwd {c("fwd_us"):9.1f}us {r("fwd")} | dx {r("dx")}'
          f' | dw {r("dw")} | step {r("step")}'
          + (f' (no memo {r("step_no_memo")})' if "step_no_memo_us" in b else "")
          + (f' | cudnn step x{c("step_vs_cudnn_rand"):5.2f}/{c("step_vs_cudnn_pruned"):5.2f}' if "step_vs_cudnn_rand" in b else "")
          + (f' | csr x{c("fwd_vs_csr"):6.1f}' if "fwd_vs_csr" in b else "")
          + (f' | paired fwd {c("fwd_paired_us"):7.1f}us {r("fwd_paired")}' if "fwd_paired_us" in b else ""))
EOF
tail -12 "$OUT/bench_tile.log"
exit $rc
