#!/usr/bin/env bash
# One device call for bench/networks on the GPU: build bench_networks_gpu (sm_90a, -j16, only
# this target; its layout translation units compile in parallel), run it one network at a time
# (each its own JSON, so a network that runs out of time costs only itself), and summarise the
# network totals. Google Benchmark JSON per network (the device name in its context), device.txt,
# build.log and run.log go to $OUT (few files: the device tool brings back only a handful).
#
#   bash bench/networks/gpu.sh              (on the GPU machine, from the repository root)
#   then, here: python3 bench/networks/table.py --merge-gpu OUTDIR   (one JSON under results/) and
#   python3 bench/networks/table.py        (results/table.md)
#
# Environment: NETBENCH_DEADLINE (seconds this script may take in all, default 560),
# NETBENCH_NETS (default "resnet18 mobilenet_v1 mobilenet_v2 vgg16"), NETBENCH_ARCH (90a).
set -uo pipefail
start=$(date +%s)
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
export PATH=/usr/local/cuda/bin:$PATH
deadline=${NETBENCH_DEADLINE:-560}
left() { echo $((deadline - ($(date +%s) - start))); }

{
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  nvcc --version | tail -2
  echo "nproc: $(nproc)"
} >"$OUT/device.txt" 2>&1
cat "$OUT/device.txt"

build=build-netbench-dev
cmake -S . -B $build -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="${NETBENCH_ARCH:-90a}" \
  >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
cmake --build $build -j16 --target bench_networks_gpu >>"$OUT/build.log" 2>&1 ||
  { grep -E "error|Error" "$OUT/build.log" | head -40; exit 1; }
echo "build: $(($(date +%s) - start)) s"
bin=$build/bench/bench_networks_gpu

nets=(${NETBENCH_NETS:-resnet18 mobilenet_v1 mobilenet_v2 vgg16})
for i in "${!nets[@]}"; do
  net=${nets[$i]}
  # An equal share of what is left for each network still to run.
  share=$(($(left) / (${#nets[@]} - i)))
  if [ "$share" -lt 10 ]; then echo "$net: no time left"; continue; fi
  echo "=== $net" >>"$OUT/run.log"
  timeout "$share" "$bin" --benchmark_filter="^$net/" --benchmark_out="$OUT/$net.json" \
    --benchmark_out_format=json >/tmp/netbench-$net.log 2>&1
  echo "$net rc=$? ($share s allowed, $(left) s left)"
  cat /tmp/netbench-$net.log >>"$OUT/run.log"
  grep -E "/total" /tmp/netbench-$net.log | sed -E 's/ +/ /g' | cut -c1-160
  grep -E "error|Error|what\(\)" /tmp/netbench-$net.log | head -5
done
