#!/usr/bin/env bash
# One device call: build everything (Release, tests + bench), run the GPU tests, the GEMM benchmark and the JIT
# figures, writing logs and CSVs under $OUT. Expects the header-only Debian deps unpacked in .deps/root (see
# bench/NOTES.md "How to run"). Usage on the device: bash bench/device_run.sh tests|bench [gemm bench args...]
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-/tmp/marlin-jit-out}
mkdir -p "$out"
export PATH=/usr/local/cuda/bin:$PATH
export MARLIN_JIT_COMMIT=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
build=$root/build/device
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMARLIN_JIT_BUILD_TESTS=ON \
  -DMARLIN_JIT_BUILD_BENCH=ON -DCMAKE_PREFIX_PATH="$root/.deps/root/usr" > "$out/configure.log" 2>&1 \
  || { tail -n 30 "$out/configure.log"; exit 1; }
cmake --build "$build" -j "$(nproc)" -- -k 0 > "$out/build.log" 2>&1 || grep -E "error|FAILED" "$out/build.log" | head -30
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv > "$out/gpu.txt"
cache=$(mktemp -d)
export MARLIN_JIT_CACHE_DIR=$cache
what=${1:-tests}
shift || true
if [ "$what" = tests ]; then
  ctest --test-dir "$build" -L gpu -E gpu_gemm_dense_test -j 1 --timeout 90 --output-on-failure > "$out/gpu_tests.log" 2>&1
  echo "gpu tests (small): $(grep -E 'tests passed|tests failed' "$out/gpu_tests.log")"
  grep -E '^\s*[0-9]+ - .*\((Failed|Timeout|SEGFAULT|Subprocess)' "$out/gpu_tests.log" | head -20
  timeout 400 "$build/tests/gpu/gpu_gemm_dense_test" > "$out/gpu_gemm_dense.log" 2>&1
  echo "gpu_gemm_dense_test exit $?: $(grep -E '^\[  (PASSED|FAILED)  \]' "$out/gpu_gemm_dense.log" | head -3 | tr '\n' ' ')"
  grep -E 'FAILED' "$out/gpu_gemm_dense.log" | head -10
else
  "$build/bench/bench_gemm" --csv "$out/bench_gemm.csv" "$@" > "$out/bench_gemm.log" 2>&1
  tail -n 60 "$out/bench_gemm.log"
  "$build/bench/bench_jit" --csv "$out/bench_jit.csv" > "$out/bench_jit.log" 2>&1
  tail -n 15 "$out/bench_jit.log"
fi
