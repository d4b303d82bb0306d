#!/usr/bin/env bash
# One device call for the peer module (bench/gpu/peers): build the GPU benchmarks that use it
# (sm_90a, -j16, only these targets), run them at the shapes they publish with every peer timing
# logged (--peers_out), then time the same operations with PyTorch on the same machine
# (bench/gpu/peers/torch_check.py) and tabulate, for every peer timing, whether the two agree
# within 5 %. Everything lands in $OUT, in at most eight files (the device tool brings back no
# more): README.md (what ran, which check, the verdict), torch_check.md (the table),
# torch_check.json (every peer timing, both sides), bench_<name>.json (Google Benchmark JSON per
# benchmark) and log.txt (device, versions, build and run logs).
#
#   bash bench/gpu/peers.sh                   (on the GPU machine, from the repository root)
#
# Environment:
#   PEERS_SET       reduced (default: fits one ~10-minute call, build included) | full (every
#                   row of the named benchmarks; spread it over several calls with PEERS_BENCHES)
#   PEERS_BENCHES   which benchmarks, any of: nm24 tile networks portable (default all four)
#   PEERS_DEADLINE  seconds the whole script may take (default 570)
#   PEERS_CHECK_BUDGET  seconds for the PyTorch timings (default: what is left, at most 100)
#   PEERS_STRICT=1  exit non-zero when a peer timing disagrees with PyTorch
#   PEERS_BUILD_ONLY=1  configure and build, then stop (a later call on the warm machine runs)
#   PEERS_FILTER_<BENCH>  a Google Benchmark regex replacing the set's filter for one benchmark
#                   (PEERS_FILTER_NM24, _TILE, _NETWORKS, _PORTABLE)
# A warm machine keeps build-peers-dev between calls, so a second call rebuilds nothing.
set -euo pipefail
start=$SECONDS
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
export PATH=/usr/local/cuda/bin:$PATH
deadline=${PEERS_DEADLINE:-570}
set_name=${PEERS_SET:-reduced}
benches=${PEERS_BENCHES:-nm24 tile networks portable}
log=$OUT/log.txt
work=$(mktemp -d /tmp/peers.XXXXXX)
left() { echo $((deadline - (SECONDS - start))); }
say() { echo "peers.sh: $*" | tee -a "$log"; }
die() {
  say "FAILED: $*"
  write_readme "failed: $*"
  exit 1
}
: >"$log"

case $set_name in reduced | full) ;; *) echo "peers.sh: PEERS_SET must be reduced or full" >&2; exit 2 ;; esac

# ---------------------------------------------------------------------------- the shapes ---
# reduced: the rows the peer numbers are quoted from — 4096³ and 8192³, and the VGG16 layer
# conv3_2 (56×56, 256 -> 256, 3×3: the layer PyTorch's cuDNN numbers were taken on) — plus one
# network (ResNet-18) in three layouts.
declare -A filter
if [ "$set_name" = reduced ]; then
  filter[nm24]='^nm24/(fwd|dx|dw|step)/(sq4096|sq8192|vgg16/conv3_2)/'
  filter[tile]='^gather_tc/(tile_wise<128>/75/sq8192|tile_wise<64>/75/vgg16/conv3_2)/'
  filter[networks]='^resnet18/(nm<2,4>T:gemm@0\.50|tile_wise<64>:conv@0\.75)/'
  filter[portable]='^(portable/half/(dense|nm<2,4>)/|cublas/half/)'
else
  filter[nm24]='.' filter[tile]='.' filter[networks]='.' filter[portable]='.'
fi
for b in nm24 tile networks portable; do
  v=PEERS_FILTER_${b^^}
  [ -n "${!v:-}" ] && filter[$b]=${!v}
done
declare -A target=([nm24]=bench_nm24 [tile]=bench_tile [networks]=bench_networks_gpu
                   [portable]=bench_portable)
declare -A binary=([nm24]=bench/gpu/bench_nm24 [tile]=bench/gpu/bench_tile
                   [networks]=bench/bench_networks_gpu [portable]=bench/gpu/bench_portable)
for b in $benches; do
  [ -n "${target[$b]:-}" ] || { echo "peers.sh: unknown benchmark '$b' in PEERS_BENCHES" >&2; exit 2; }
done

write_readme() {  # $1: the outcome line
  {
    echo "# Peer module run ($set_name set) — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Outcome: $1"
    echo
    echo "Check run: \`bench/gpu/peers.sh\` with PEERS_SET=$set_name on $(head -1 "$work/gpu.csv" 2>/dev/null || echo '?'):"
    echo "the benchmarks below, each peer timing logged, then \`bench/gpu/peers/torch_check.py\`"
    echo "timing the same operations with PyTorch on the same machine right after them"
    echo "(tolerance 5 %, $([ "${PEERS_STRICT:-0}" = 1 ] && echo 'strict: a disagreement fails the run' || echo 'reported, not fatal'))."
    echo
    echo "| benchmark | filter | exit | rows | peer timings |"
    echo "|---|---|---|---|---|"
    for b in $benches; do
      echo "| ${target[$b]} | \`${filter[$b]//|/\\|}\` | ${bench_rc[$b]:-not run} | ${bench_rows[$b]:-0} | ${bench_peers[$b]:-0} |"
    done
    echo
    [ -f "$work/summary.txt" ] && { echo "PyTorch cross-check: $(cat "$work/summary.txt")"; echo; }
    echo "Data kinds: dense-random = the dense model's weight (uniform in [-1, 1), no zeros);"
    echo "pruned-dense = the row's pruned weight decoded, zeros in place, run by the dense peer;"
    echo "pruned = the same weight run by a sparse peer. Counters *_rand / *_pruned say which."
    echo
    echo "Files: torch_check.md (every peer timing beside PyTorch's), torch_check.json (the same,"
    echo "with each side's clock and the peers' chosen algorithms), bench_*.json (Google Benchmark"
    echo "JSON: the method, data kinds and library versions are in each context), log.txt."
  } >"$OUT/README.md"
}
declare -A bench_rc bench_rows bench_peers

# ------------------------------------------------------------------------ device, libraries ---
{
  nvidia-smi --query-gpu=name,driver_version,memory.total,power.limit,clocks.max.sm --format=csv,noheader
} >"$work/gpu.csv" 2>&1 || true
{
  echo "== device"; cat "$work/gpu.csv"
  nvcc --version | tail -2 || true
  echo "nproc: $(nproc)"
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())' 2>&1 || true
} >>"$log"
site=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null || echo /opt/torch/.venv/lib/python3.12/site-packages)
find_root() {  # $1: package dir under nvidia/, $2: header -> the directory holding include/$2
  local d f
  for d in "$site/nvidia/$1" "$site/nvidia/cu13" "$site/nvidia/cu12"; do
    [ -f "$d/include/$2" ] && { echo "$d"; return; }
  done
  f=$(find "$site/nvidia" -maxdepth 4 -path '*include*' -name "$2" 2>/dev/null | head -1 || true)
  [ -n "$f" ] && dirname "$(dirname "$f")"
  return 0
}
LT=${STCO_CUSPARSELT_ROOT:-$(find_root cusparselt cusparseLt.h)}
DNN=${STCO_CUDNN_ROOT:-$(find_root cudnn cudnn.h)}
say "cuSPARSELt: ${LT:-not found}; cuDNN: ${DNN:-not found} (PyTorch's wheels, $site)"
for d in "$LT" "$DNN"; do
  [ -n "$d" ] && export LD_LIBRARY_PATH="$d/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
# Debian packages the GPU image lacks, if any were carried in .deps/ with their unpack script.
if [ -f .deps/unpack-debs ] && compgen -G ".deps/*.deb" >/dev/null; then
  # shellcheck source=/dev/null
  source .deps/unpack-debs
fi

# ----------------------------------------------------------------------------------- build ---
build="build-peers-dev"
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
if [ -f "$build/CMakeCache.txt" ] && ! grep -q "CMAKE_GENERATOR:INTERNAL=${gen[1]:-Unix Makefiles}" "$build/CMakeCache.txt"; then
  gen=()  # keep the generator an earlier call chose
fi
say "configure (${gen[1]:-make}), $(left) s left"
timeout 120 cmake -S . -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90a \
  -DSTCO_FAST_TEST_BUILD=OFF -DSTCO_BUILD_TESTS=OFF -DSTCO_BUILD_EXAMPLES=OFF \
  -DSTCO_CUSPARSELT_ROOT="${LT:-/nonexistent}" -DSTCO_CUDNN_ROOT="${DNN:-/nonexistent}" \
  >"$work/configure.log" 2>&1 || { tail -30 "$work/configure.log" | tee -a "$log"; die "configure"; }
grep -E "stco: (cuSPARSELt|cuDNN)" "$work/configure.log" | tee -a "$log" || true
targets=()
for b in $benches; do targets+=("${target[$b]}"); done
t0=$SECONDS
limit=$(($(left) - 60))
[ "$limit" -lt 60 ] && limit=60
rc_build=0
if [ "${gen[1]:-}" = Ninja ] || grep -q "CMAKE_GENERATOR:INTERNAL=Ninja" "$build/CMakeCache.txt"; then
  timeout "$limit" cmake --build "$build" -j16 --target "${targets[@]}" >"$work/build.log" 2>&1 ||
    rc_build=$?
else
  # make builds the targets of one invocation one after another: one invocation per target.
  pids=()
  for t in "${targets[@]}"; do
    timeout "$limit" cmake --build "$build" -j16 --target "$t" >"$work/build-$t.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || rc_build=$?; done
  cat "$work"/build-*.log >"$work/build.log" 2>/dev/null || true
fi
say "build: $((SECONDS - t0)) s, rc $rc_build, $(grep -c -i 'warning' "$work/build.log" || true) warning lines"
# A failed build could leave an older binary of an earlier call on a warm machine: never run it.
if [ "$rc_build" -ne 0 ]; then
  grep -E "error|Error" "$work/build.log" | head -30 | tee -a "$log" || true
  [ "$rc_build" -eq 124 ] && die "build ran out of time (see log.txt)"
  die "build (see log.txt)"
fi
for b in $benches; do
  [ -x "$build/${binary[$b]}" ] || die "build of ${target[$b]}: no binary (see log.txt)"
done

if [ "${PEERS_BUILD_ONLY:-0}" = 1 ]; then  # another script's call builds, a later call runs
  say "PEERS_BUILD_ONLY: built, not run"
  exit 0
fi

# ------------------------------------------------------------------------------------- run ---
check_budget=${PEERS_CHECK_BUDGET:-100}
# Time shares by how long each benchmark's rows take (nm24 builds 8192² masks on the host).
declare -A weight=([nm24]=4 [tile]=2 [networks]=3 [portable]=1)
nvidia-smi --query-gpu=clocks.sm,power.draw,temperature.gpu,clocks_event_reasons.active \
  --format=csv,noheader >>"$log" 2>&1 || true
to_come=0
for b in $benches; do to_come=$((to_come + weight[$b])); done
for b in $benches; do
  # Its weighted share of what is left after the PyTorch check's budget.
  share=$(( ($(left) - check_budget - 80) * weight[$b] / to_come ))
  to_come=$((to_come - weight[$b]))
  if [ "$share" -lt 20 ]; then
    say "${target[$b]}: no time left (run it alone with PEERS_BENCHES=$b)"
    bench_rc[$b]="skipped (time)"
    continue
  fi
  say "run ${target[$b]} ($share s allowed), filter ${filter[$b]}"
  rc=0
  timeout -k 10 "$share" "$build/${binary[$b]}" --benchmark_filter="${filter[$b]}" \
    --benchmark_out="$OUT/${target[$b]}.json" --benchmark_out_format=json \
    --peers_out="$work/${target[$b]}.peers.json" >"$work/${target[$b]}.log" 2>&1 || rc=$?
  [ $rc -eq 124 ] && say "${target[$b]}: stopped at its time share (its JSON and peer log hold the rows done)"
  bench_rc[$b]=$rc
  bench_rows[$b]=$(grep -cE "manual_time" "$work/${target[$b]}.log" || true)
  if [ -f "$work/${target[$b]}.peers.json" ]; then
    bench_peers[$b]=$(grep -c '"peer":' "$work/${target[$b]}.peers.json" || true)
  fi
  { echo "=== ${target[$b]} rc=$rc"; cat "$work/${target[$b]}.log"; } >>"$log"
  grep -E "error|Error|what\(\)|refuses|no plan" "$work/${target[$b]}.log" | head -5 || true
done
nvidia-smi --query-gpu=clocks.sm,power.draw,temperature.gpu,clocks_event_reasons.active \
  --format=csv,noheader >>"$log" 2>&1 || true

# ------------------------------------------------------------------- the PyTorch cross-check ---
logs=("$work"/*.peers.json)
if [ ! -e "${logs[0]}" ]; then
  write_readme "no benchmark wrote a peer log: nothing to cross-check (see log.txt)"
  die "no peer log"
fi
# The script stops new timings at the budget; a minute more lets the one under way finish (a
# cuDNN search on a large layer) and the tables be written.
budget=$(( $(left) - 80 ))
[ "$budget" -gt "$check_budget" ] && budget=$check_budget
[ "$budget" -lt 10 ] && budget=10
say "torch_check.py on ${#logs[@]} peer logs (${budget} s for the PyTorch timings)"
strict=()
[ "${PEERS_STRICT:-0}" = 1 ] && strict=(--strict)
rc_check=0
PYTHONUNBUFFERED=1 timeout -k 5 $((budget + 60)) python3 bench/gpu/peers/torch_check.py "${logs[@]}" \
  --out-json "$OUT/torch_check.json" --out-md "$OUT/torch_check.md" --time-budget "$budget" \
  "${strict[@]}" >"$work/check.log" 2>&1 || rc_check=$?
cat "$work/check.log" >>"$log"
grep -E "^torch_check: [0-9]+ checked" "$work/check.log" | sed 's/^torch_check: //' >"$work/summary.txt" || true
[ -s "$work/summary.txt" ] || echo "did not finish (rc $rc_check; see log.txt)" >"$work/summary.txt"
cat "$work/summary.txt"
grep -A14 "^## Disagreements" "$OUT/torch_check.md" 2>/dev/null | head -16 || true

failed=""
for b in $benches; do
  case ${bench_rc[$b]:-0} in 0 | 124 | "skipped (time)") ;; *) failed+=" ${target[$b]}" ;; esac
done
outcome="benchmarks ran${failed:+ (failed:$failed)}; PyTorch cross-check: $(cat "$work/summary.txt")"
write_readme "$outcome"
say "done in $((SECONDS - start)) s; files in $OUT: $(cd "$OUT" && echo *)"
rm -rf "$work"
[ -n "$failed" ] && exit 1
exit "$rc_check"
