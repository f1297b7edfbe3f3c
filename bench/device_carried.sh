#!/usr/bin/env bash
# One device call over binaries built on a machine without a GPU and carried in .probe/ (see bench/NOTES.md "How
# to run"): the kernel probe (check + a tile sweep), the GPU tests, bench_gemm (full table and crossover), bench_jit
# and the self-check. At most 8 files come back, so logs are grouped. Usage on the device: bash bench/device_carried.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-/tmp/marlin-jit-out}
bin=$root/.probe/bin
mkdir -p "$out"
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}
export MARLIN_JIT_CACHE_DIR=$(mktemp -d) MARLIN_JIT_TEST_CACHE_DIR=$(mktemp -d)
export MARLIN_JIT_COMMIT=${MARLIN_JIT_COMMIT:-$(cat "$root/.probe/commit" 2>/dev/null || echo unknown)}
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.mem,temperature.gpu --format=csv > "$out/misc.log" 2>&1
(
  timeout 120 "$root/.probe/kernel_probe" --check
  [ "${PROBE_TIME:-1}" = 1 ] || exit 0  # PROBE_TIME=0: the correctness check only
  PROBE_TILES=${PROBE_TILES:-t256m1n8k8s4,t256m1n8k8s3,t512m1n16k8s4,t256m1n8k16s4c4,t256m2n8k8s4,t256m4n8k8s4,t256m4n8k8s6c4} \
    timeout 150 "$root/.probe/kernel_probe" --time
  PROBE_TILES=t256m1n8k8s4,t256m4n8k8s4 PROBE_SPLITS=8 timeout 100 "$root/.probe/kernel_probe" --time
) > "$out/probe.log" 2>&1
echo "probe: $(grep -E 'check:' "$out/probe.log") $(grep -c FAIL "$out/probe.log") FAIL lines"
for test in gpu_ops_gemm_paths_test gpu_ops_nvfp4_prepare_test gpu_runtime_launch_test; do
  echo "== $test" >> "$out/gpu_small.log"
  timeout 200 "$bin/$test" >> "$out/gpu_small.log" 2>&1
  echo "$test exit $?: $(grep -E '^\[  (PASSED|FAILED)  \]' "$out/gpu_small.log" | tail -1)"
done
timeout 420 "$bin/gpu_gemm_dense_test" > "$out/gpu_gemm_dense.log" 2>&1
echo "gpu_gemm_dense_test exit $?: $(grep -E '^\[  (PASSED|FAILED)  \]' "$out/gpu_gemm_dense.log" | tr '\n' ' ')"
grep -E '^\[  FAILED  \]' "$out/gpu_gemm_dense.log" | head -10
date=$(date -u +%Y%m%d)
timeout 300 "$bin/bench_gemm" --csv "$out/bench_gemm.csv" > "$out/bench_gemm.txt" 2>&1; echo "bench_gemm exit $?"
timeout 150 "$bin/bench_gemm" --quick --dtype bf16 --m 64,96,128,160,192,256 \
  --shapes 8192x8192,28672x8192,8192x28672,4096x4096 > "$out/crossover.txt" 2>&1; echo "crossover exit $?"
{ timeout 200 "$bin/bench_jit" --csv "$out/bench_jit.csv"; echo "bench_jit exit $?"; timeout 120 "$bin/marlin-jit" selfcheck; echo "selfcheck exit $?"; } >> "$out/misc.log" 2>&1
tail -n 3 "$out/misc.log"
