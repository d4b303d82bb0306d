#!/usr/bin/env bash
# Runs bench_ops (stco's sparse GEMM / convolution vs Eigen dense and Eigen CSR) on 2 threads and
# writes
#   bench/cpu/results/<yyyy-mm-dd>-<cpu-slug>.json   Google Benchmark JSON, the CPU model in its
#                                                    context; median and cv aggregates only
#   bench/cpu/results/table.md                       rendered by results/table.py
# The full Google Benchmark output (every repetition) stays in the build directory.
#
#   bench/cpu/run.sh                                  # the full run, ~20 min on 2 cores
#   bench/cpu/run.sh --benchmark_filter='mm1024/'     # a part (extra flags go to bench_ops)
#
# Environment: STCO_BENCH_BUILD (build directory, default build-bench), STCO_BENCH_OUT (JSON path).
# Run it on a quiet machine: it prints the load average before and after, and table.md shows
# both and the run-to-run spread. A load above ~0.3 makes the numbers worthless.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${STCO_BENCH_BUILD:-$root/build-bench}

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSTCO_BENCH_NATIVE=ON
fi
cmake --build "$build" -j2 --target bench_ops

cpu_model=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
slug=$(printf '%s' "$cpu_model" | tr 'A-Z' 'a-z' | sed -E 's/\((r|tm)\)//g; s/[^a-z0-9]+/-/g; s/^-+|-+$//g')
out=${STCO_BENCH_OUT:-$here/results/$(date +%F)-$slug.json}
raw=$build/bench_ops-raw.json
mkdir -p "$(dirname "$out")"

# Two threads on both sides. libgomp's workers spin ~300,000 pauses (several ms) after each
# Eigen parallel region before they sleep, taking a core from whatever runs next; bench_ops waits
# for that after each peer phase, and a short spin keeps the wait short without slowing Eigen
# (measured: Eigen's GEMM rate is unchanged, see the context's GOMP_SPINCOUNT).
export OMP_NUM_THREADS=2 STCO_NUM_THREADS=2
export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-10000}

load() { cut -d' ' -f1 /proc/loadavg; }
load_before=$(load)
echo "run.sh: CPU '$cpu_model', load average $load_before; writing $out" >&2
awk -v l="$load_before" 'BEGIN { if (l > 0.3) print "run.sh: warning: the machine is busy (load " l "): numbers will be noisy" > "/dev/stderr" }'

"$build/bench/bench_ops" \
  --benchmark_out="$raw" --benchmark_out_format=json \
  --benchmark_context=cpu_model="$cpu_model" \
  --benchmark_context=load_before="$load_before" \
  "$@"
load_after=$(load)
echo "run.sh: load average after the run $load_after" >&2

# Keep the medians and the spreads: the committed file stays small and still reads as Google
# Benchmark JSON.
python3 - "$raw" "$out" "$load_after" <<'EOF'
import json, sys
raw, out, load_after = sys.argv[1:4]
with open(raw) as f:
    d = json.load(f)
d["context"]["load_after"] = load_after
agg = any(b.get("run_type") == "aggregate" for b in d["benchmarks"])
d["benchmarks"] = [b for b in d["benchmarks"]
                   if not agg or b.get("aggregate_name") in ("median", "cv")]
with open(out, "w") as f:
    f.write('{\n"context": ' + json.dumps(d["context"], indent=1) + ',\n"benchmarks": [\n')
    f.write(",\n".join(json.dumps(b, separators=(",", ":")) for b in d["benchmarks"]))
    f.write("\n]\n}\n")
EOF

python3 "$here/results/table.py" "$out" > "$here/results/table.md"
echo "run.sh: wrote $out and $here/results/table.md" >&2
