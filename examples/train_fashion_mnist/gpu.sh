#!/usr/bin/env bash
# One device call for train_fashion_mnist --device cuda: the GPU test of stco::nn's CUDA backend
# (test_gpu_nn), then the full training (--full: dense, nm<2,4>, tile_wise<32> 75%; 3 epochs on the
# whole set, default seed and recipe) on the GPU. The example needs zlib (zlib1g-dev) to build. What comes back goes to $OUT: device.txt, test_gpu_nn.log, train.log and
# the run's results_cuda.md, epochs_cuda.csv, loss_curve_cuda.csv, fashion_mnist_cuda.svg.
#
# Binaries built on the development machine for sm_90 may be carried in build-nngpu-carry/bin; when they do
# not run there, only these two targets (and the CPU nn tests) are built here (-j16, sm_90a).
#   source .deps/unpack-debs; bash examples/train_fashion_mnist/gpu.sh   (repository root)
set -uo pipefail
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
DATA=${DATA:-/opt/deps/usr/share/datasets/fashion-mnist}
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/device.txt"

bin=build-nngpu-carry/bin
"$bin/train_fashion_mnist" --help >/dev/null 2>&1
help_rc=$?  # 0 when the carried binary runs on this CPU
if ! "$bin/test_gpu_nn" --list-test-cases >/dev/null 2>&1 || [ "$help_rc" -ne 0 ]; then
  echo "building test_gpu_nn and train_fashion_mnist for sm_90a" | tee -a "$OUT/device.txt"
  start=$SECONDS
  cmake -S . -B build-nngpu-dev -DCMAKE_BUILD_TYPE=Release -DSTCO_FAST_TEST_BUILD=OFF -DCMAKE_CUDA_ARCHITECTURES=90a -DSTCO_BUILD_BENCHMARKS=OFF \
    >/tmp/configure.log 2>&1 || { tail -30 /tmp/configure.log; exit 1; }
  cmake --build build-nngpu-dev -j16 --target test_gpu_nn train_fashion_mnist test_nn_layers \
    test_nn_io test_nn_training -- -k >/tmp/build.log 2>&1 ||
    { cp /tmp/build.log "$OUT/build.log"; grep -E "error" -A4 /tmp/build.log | head -90; }
  echo "built in $((SECONDS - start))s" | tee -a "$OUT/device.txt"
  bin=build-nngpu-dev/tests
  exe=build-nngpu-dev/examples/train_fashion_mnist
else
  exe=$bin/train_fashion_mnist
fi

# the CPU layers after the backend refactor (built here when the binaries were built here)
if [ -x build-nngpu-dev/tests/test_nn_layers ]; then
  for t in test_nn_layers test_nn_io test_nn_training; do
    timeout 120 build-nngpu-dev/tests/$t >/tmp/$t.log 2>&1
    echo "$t rc=$? $(grep -E '^\[doctest\] (test cases|assertions)' /tmp/$t.log | tr -s ' ' | tr '\n' ' ')" |
      tee -a "$OUT/device.txt"
  done
fi

if [ -x "$bin/test_gpu_nn" ]; then
  start=$SECONDS
  timeout 240 "$bin/test_gpu_nn" >"$OUT/test_gpu_nn.log" 2>&1
  echo "test_gpu_nn rc=$? $((SECONDS - start))s" | tee -a "$OUT/device.txt"
  grep -E "ERROR|CHECK|worst" "$OUT/test_gpu_nn.log" | head -20
  tail -4 "$OUT/test_gpu_nn.log"
fi
[ -x "$exe" ] || exit 1

start=$SECONDS
# what is left of a 600 s call (TRAIN_TIMEOUT overrides)
timeout "${TRAIN_TIMEOUT:-$((575 - SECONDS))}" "$exe" --device cuda --full --data "$DATA" --out /tmp/fm "$@" \
  >"$OUT/train.log" 2>&1
echo "train_fashion_mnist --device cuda rc=$? $((SECONDS - start))s" | tee -a "$OUT/device.txt"
grep -v ' batches, loss ' "$OUT/train.log" | tail -40
for f in results_cuda.md epochs_cuda.csv loss_curve_cuda.csv fashion_mnist_cuda.svg; do
  [ -f "/tmp/fm/$f" ] && cp "/tmp/fm/$f" "$OUT/"
done
exit 0
