#!/usr/bin/env bash
# Builds the kernel probe with nvcc for sm_90 and runs it. Usage: bench/probe/build_and_run.sh [--build-only] [probe args]
# The binary needs no GPU to build, so it can be built here and carried to the device (PROBE_OUT names the folder).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${PROBE_OUT:-${OUT:-/tmp}}
mkdir -p "$out"
nvcc -std=c++20 -O3 -arch=sm_90 -lineinfo -I"$root/templates" -I"$root/runtime/src" -I"$root/runtime/include" -I"$root/tests/support" \
  -Xptxas -v "$root/bench/probe/kernel_probe.cu" "$root/runtime/src/ops/gemm_plan.cpp" "$root/runtime/src/dispatch/tile_select.cpp" \
  "$root/runtime/src/error.cpp" "$root/runtime/src/types.cpp" \
  -lcublas -o "$out/kernel_probe" 2> "$out/probe_build.log" || { cat "$out/probe_build.log"; exit 1; }
{ grep -E 'spill' "$out/probe_build.log" | grep -v ' 0 bytes spill stores' | sort | uniq -c | head -20; } || true  # no spills: nothing to show
if [ "${1:-}" = --build-only ]; then exit 0; fi
"$out/kernel_probe" "$@"
