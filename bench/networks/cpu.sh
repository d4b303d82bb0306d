#!/usr/bin/env bash
# Runs bench_networks_cpu (the training step of VGG16, ResNet-18, MobileNetV1 and MobileNetV2 at
# 32×32, batch 8, per layout, against Eigen dense and Eigen CSR) on 2 threads and writes
#   bench/networks/results/cpu-<cpu-slug>.json   Google Benchmark JSON; the CPU model and the
#                                                load average before and after in its context
#   bench/networks/results/table.md              rendered by table.py (with the GPU JSON if any)
#
#   bench/networks/cpu.sh                                  # every network, ~10-15 min on 2 cores
#   bench/networks/cpu.sh --benchmark_filter='^resnet18/'  # a part (flags go to the binary)
#
# Environment: STCO_BENCH_BUILD (build directory, default build-netbench), STCO_BENCH_OUT.
# Run it on a quiet machine (see bench/cpu/run.sh: the same thread and spin settings).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${STCO_BENCH_BUILD:-$here/../../build-netbench}
[ -f "$build/CMakeCache.txt" ] ||
  cmake -S "$here/../.." -B "$build" -DCMAKE_BUILD_TYPE=Release -DSTCO_BENCH_NATIVE=ON
nice -n 10 cmake --build "$build" -j2 --target bench_networks_cpu

cpu_model=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
out=${STCO_BENCH_OUT:-$here/results/cpu-$(python3 "$here/table.py" --slug "$cpu_model").json}

# Two threads on both sides; a short libgomp spin (bench_networks_cpu also waits for the spins
# to end after each peer phase).
export OMP_NUM_THREADS=2 STCO_NUM_THREADS=2
export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-10000}

# The library the binary was built from: the commit, and whether include/ differs from it.
lib=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$here" diff --quiet HEAD -- "$here/../../include" 2>/dev/null || lib="$lib + uncommitted changes"
ctx=(--benchmark_context=cpu_model="$cpu_model"
     --benchmark_context=load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
     --benchmark_context=stco_include="${STCO_BENCH_LIB:-$lib}")
echo "cpu.sh: CPU '$cpu_model', ${ctx[1]#*=}; writing $out" >&2
"$build/bench/bench_networks_cpu" --benchmark_out="$out" --benchmark_out_format=json "${ctx[@]}" "$@"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
echo "cpu.sh: load average after the run: $load_after" >&2
python3 - "$out" "$load_after" <<'PY'
import json, sys
path, load_after = sys.argv[1:3]
with open(path) as f:
    d = json.load(f)
d["context"]["load_after"] = load_after
with open(path, "w") as f:
    json.dump(d, f, indent=1)
    f.write("\n")
PY

python3 "$here/table.py" >"$here/results/table.md"
echo "cpu.sh: wrote $out and $here/results/table.md" >&2
