#!/usr/bin/env bash
# One device call for a kernel sweep with binaries built on a machine without a GPU and carried in .probe/:
# the probe (check, then timing) and any carried GPU test binaries in .probe/bin. Logs under $OUT.
# Usage on the device: bash bench/probe/device_probe.sh [probe args]
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-/tmp/marlin-jit-out}
mkdir -p "$out"
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,temperature.gpu,power.draw --format=csv > "$out/gpu.txt" 2>&1
cat "$out/gpu.txt"
export MARLIN_JIT_CACHE_DIR=$(mktemp -d)
for test in "$root"/.probe/bin/gpu_*; do
  [ -x "$test" ] || continue
  timeout 300 "$test" > "$out/$(basename "$test").log" 2>&1
  echo "$(basename "$test") exit $?: $(grep -E '^\[  (PASSED|FAILED)  \]' "$out/$(basename "$test").log" | tr '\n' ' ')"
done
timeout 400 "$root/.probe/kernel_probe" "$@" > "$out/probe.log" 2>&1
echo "probe exit $?"
grep -E "FAIL|check:|copy:" "$out/probe.log" | head -20
