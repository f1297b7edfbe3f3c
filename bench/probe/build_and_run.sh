#!/usr/bin/env bash
# Builds the kernel probe with nvcc for the local GPU and runs it. Usage: bench/probe/build_and_run.sh [--time]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-/tmp}
nvcc -std=c++20 -O3 -arch=sm_90 -lineinfo -I"$root/templates" -I"$root/runtime/src" -I"$root/runtime/include" -I"$root/tests/support" \
  -Xptxas -v "$root/bench/probe/kernel_probe.cu" "$root/runtime/src/ops/gemm_plan.cpp" "$root/runtime/src/dispatch/tile_select.cpp" \
  -lcublas -o "$out/kernel_probe" 2> "$out/probe_build.log" || { cat "$out/probe_build.log"; exit 1; }
grep -E 'Used|spill' "$out/probe_build.log" | sort | uniq -c | head -20
"$out/kernel_probe" "$@"
