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
# NETBENCH_NETS (default "resnet18 mobilenet_v1 mobilenet_v2 vgg16"), NETBENCH_ARCH (90a),
# NETBENCH_TORCH_CHECK=1 (after the networks, time the same peer operations with PyTorch:
# bench/gpu/peers/torch_check.py, its table in $OUT/torch_check.md; default off, it takes up
# to NETBENCH_CHECK_BUDGET seconds, 120). device.txt says which check ran.
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

build="build-netbench-dev"
site=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null)
for lib in cusparselt/include/cusparseLt.h cudnn/include/cudnn.h; do  # PyTorch's wheels
  d=$site/nvidia/${lib%%/*}
  [ -f "$site/nvidia/$lib" ] && export LD_LIBRARY_PATH="$d/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
cmake -S . -B $build -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="${NETBENCH_ARCH:-90a}" \
  >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; exit 1; }
grep -E "stco: (cuSPARSELt|cuDNN)" "$OUT/build.log"
cmake --build $build -j16 --target bench_networks_gpu >>"$OUT/build.log" 2>&1 ||
  { grep -E "error|Error" "$OUT/build.log" | head -40; exit 1; }
echo "build: $(($(date +%s) - start)) s"
bin=$build/bench/bench_networks_gpu

read -r -a nets <<<"${NETBENCH_NETS:-resnet18 mobilenet_v1 mobilenet_v2 vgg16}"
for i in "${!nets[@]}"; do
  net=${nets[$i]}
  # An equal share of what is left for each network still to run.
  share=$(($(left) / (${#nets[@]} - i)))
  if [ "$share" -lt 10 ]; then echo "$net: no time left"; continue; fi
  echo "=== $net" >>"$OUT/run.log"
  timeout "$share" "$bin" --benchmark_filter="^$net/" --benchmark_out="$OUT/$net.json" \
    --benchmark_out_format=json --peers_out="/tmp/netbench-$net.peers.json" >"/tmp/netbench-$net.log" 2>&1
  echo "$net rc=$? ($share s allowed, $(left) s left)"
  cat "/tmp/netbench-$net.log" >>"$OUT/run.log"
  grep -E "/total" "/tmp/netbench-$net.log" | sed -E 's/ +/ /g' | cut -c1-160
  grep -E "error|Error|what\(\)" "/tmp/netbench-$net.log" | head -5
done

# The peers' timings against PyTorch's on the same machine (optional: it costs device time).
if [ "${NETBENCH_TORCH_CHECK:-0}" = 1 ] && ls /tmp/netbench-*.peers.json >/dev/null 2>&1; then
  budget=$(($(left) - 20))
  [ "$budget" -gt "${NETBENCH_CHECK_BUDGET:-120}" ] && budget=${NETBENCH_CHECK_BUDGET:-120}
  if [ "$budget" -gt 10 ]; then
    timeout $((budget + 15)) python3 bench/gpu/peers/torch_check.py /tmp/netbench-*.peers.json \
      --out-json /tmp/netbench-torch_check.json --out-md "$OUT/torch_check.md" \
      --time-budget "$budget" >/tmp/netbench-check.log 2>&1
    echo "peer check: bench/gpu/peers/torch_check.py, $(grep -E '^torch_check: [0-9]+ checked' /tmp/netbench-check.log | sed 's/^torch_check: //') (torch_check.md)" |
      tee -a "$OUT/device.txt"
  else
    echo "peer check: none (no time left for torch_check.py)" | tee -a "$OUT/device.txt"
  fi
else
  echo "peer check: none (NETBENCH_TORCH_CHECK=1 runs bench/gpu/peers/torch_check.py)" >>"$OUT/device.txt"
fi
