#!/usr/bin/env bash
# One device call over binaries built on a machine without a GPU and carried in .probe/ (bin/ for the programs,
# lib/ for spdlog and fmt, which the device image lacks; see bench/NOTES.md "How to run"). Logs go to $OUT (at most
# 8 files come back: misc.log holds the GPU, precompile, the small GPU tests and the self-check; a replayed flaky case
# is appended to gpu_moe.log). Usage on the device: bash bench/device_moe.sh tests|bench|all|profile
#   tests: the MoE, preparation, dense and path GPU tests, then compute-sanitizer memcheck over small cases
#   bench: bench_moe (full), bench_gemm at M <= 64 (the shared mainloop changed), the self-check
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-/tmp/marlin-jit-out}
bin=$root/.probe/bin
mkdir -p "$out"
export LD_LIBRARY_PATH=$root/.probe/lib:/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}
export MARLIN_JIT_CACHE_DIR=$(mktemp -d) MARLIN_JIT_TEST_CACHE_DIR=$(mktemp -d)
export MARLIN_JIT_COMMIT=${MARLIN_JIT_COMMIT:-$(cat "$root/.probe/commit" 2>/dev/null || echo unknown)}
what=${1:-all}
summary() { grep -E '^\[  (PASSED|FAILED)  \]|tests? (passed|failed)' "$1" | tr '\n' ' '; }
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.mem --format=csv,noheader > "$out/misc.log" 2>&1
echo "commit $MARLIN_JIT_COMMIT" >> "$out/misc.log"
# Warm the cache first (MoE and dense for sm_90): tests and benchmarks then never time or wait on a compile.
timeout 300 "$bin/marlin-jit" precompile --arch sm_90 --jobs 16 >> "$out/misc.log" 2>&1
echo "precompile exit $?: $(tail -n 1 "$out/misc.log")"
if [ "$what" = tests ] || [ "$what" = all ]; then
  timeout 300 "$bin/gpu_moe_test" > "$out/gpu_moe.log" 2>&1
  echo "gpu_moe_test exit $?: $(summary "$out/gpu_moe.log")"
  grep -E '^\[  FAILED  \]' "$out/gpu_moe.log" | head -10
  for test in gpu_ops_nvfp4_prepare_test gpu_ops_gemm_paths_test gpu_runtime_launch_test; do
    echo "== $test" >> "$out/misc.log"
    timeout 200 "$bin/$test" >> "$out/misc.log" 2>&1
    echo "$test exit $?" | tee -a "$out/misc.log"
  done
  timeout 420 "$bin/gpu_gemm_dense_test" > "$out/gpu_gemm_dense.log" 2>&1
  echo "gpu_gemm_dense_test exit $?: $(summary "$out/gpu_gemm_dense.log")"
  grep -E '^\[  FAILED  \]' "$out/gpu_gemm_dense.log" | head -10
  sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  {
    timeout 240 "$sanitizer" --tool memcheck --error-exitcode 3 "$bin/gpu_moe_test" --gtest_filter="${MEMCHECK_MOE:-*odd_multiples*:*Align*:*RoutingIds*}"
    echo "memcheck gpu_moe_test exit $?"
    timeout 240 "$sanitizer" --tool memcheck --error-exitcode 3 "$bin/gpu_gemm_dense_test" \
      --gtest_filter="${MEMCHECK_DENSE:-*M1_N200_K80_*:*M20_N2688_K464_*:*M7_N256_K128_*}"
    echo "memcheck gpu_gemm_dense_test exit $?"
  } > "$out/memcheck.log" 2>&1
  grep -E 'ERROR SUMMARY|memcheck .* exit' "$out/memcheck.log"
fi
if [ "$what" = profile ]; then  # the MoE tests, then Nsight Compute on the decode GEMMs (Nemotron-like, M = 1)
  timeout 300 "$bin/gpu_moe_test" > "$out/gpu_moe.log" 2>&1
  echo "gpu_moe_test exit $?: $(summary "$out/gpu_moe.log")"
  ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
  timeout 240 "$ncu" --clock-control none -k regex:moe_gemm -s 20 -c 2 --section SpeedOfLight --section Occupancy \
    --section LaunchStats --section WarpStateStats --section SchedulerStats --section MemoryWorkloadAnalysis \
    "$bin/bench_moe" --layers nemotron --m 1 --routing uniform --quick > "$out/ncu_moe.txt" 2>&1
  echo "ncu exit $?: $(grep -c 'moe_gemm' "$out/ncu_moe.txt") kernel lines"
fi
if [ -n "${MOE_REPEAT_FILTER:-}" ]; then  # a flaky case, replayed: MOE_REPEAT_FILTER=<gtest filter> [MARLIN_JIT_TEST_SEED=]
  echo "== repeat: $MOE_REPEAT_FILTER x ${MOE_REPEATS:-5}" >> "$out/gpu_moe.log"
  timeout 200 "$bin/gpu_moe_test" --gtest_filter="$MOE_REPEAT_FILTER" --gtest_repeat="${MOE_REPEATS:-5}" \
    >> "$out/gpu_moe.log" 2>&1
  echo "gpu_moe_test repeat exit $?: $(grep -c 'rerun differs in' "$out/gpu_moe.log") reruns differed"
fi
if [ "$what" = bench ] || [ "$what" = all ]; then
  timeout 330 "$bin/bench_moe" ${BENCH_MOE_ARGS:-} --csv "$out/bench_moe.csv" > "$out/bench_moe.txt" 2>&1
  echo "bench_moe exit $?"
  timeout 120 "$bin/bench_gemm" --quick --m 1,16,64 --csv "$out/bench_gemm_small_m.csv" > "$out/bench_gemm_small_m.txt" 2>&1
  echo "bench_gemm exit $?"
  timeout 120 "$bin/marlin-jit" selfcheck >> "$out/misc.log" 2>&1; echo "selfcheck exit $?" | tee -a "$out/misc.log"
fi
