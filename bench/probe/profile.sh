#!/usr/bin/env bash
# Profiles one small-M GEMM launch of the kernel probe with Nsight Compute (speed of light, warp stalls, scheduler,
# occupancy, memory) and dumps its SASS instruction mix. Usage: bench/probe/profile.sh   (writes under $OUT)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-/tmp}
bash "$root/bench/probe/build_and_run.sh" --time > "$out/probe_default.log" 2>&1
grep -E '^bf16 +(1|16|64) ' "$out/probe_default.log"
export PROBE_SWEEP=1
ncu --kernel-name regex:dense_gemm --launch-skip 8 --launch-count 1 --clock-control none \
  --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section Occupancy \
  --section MemoryWorkloadAnalysis --section LaunchStats --section ComputeWorkloadAnalysis \
  "$out/kernel_probe" --time > "$out/ncu_m1.txt" 2>&1
grep -vE '^\s*$|^==PROF==' "$out/ncu_m1.txt" | grep -E 'dense_gemm|Throughput|Stall|Issue|Eligible|Active Warps|Occupancy|Registers|Duration|Bandwidth|Busy|No Eligible|Warp Cycles|Executed Ipc|One or More' | head -60
cuobjdump -sass "$out/kernel_probe" > "$out/probe.sass" 2>/dev/null
awk '/Function : .*dense_gemm.*Li128ELi1ELi4ELi8ELi8E/{f=1} f&&/Function : /&&!/Li128ELi1ELi4ELi8ELi8E/{f=0} f' "$out/probe.sass" > "$out/m1.sass"
echo "SASS lines $(wc -l < "$out/m1.sass")"
grep -oE '^\s+/\*[0-9a-f]+\*/\s+[A-Z0-9_]+' "$out/m1.sass" | awk '{print $2}' | sort | uniq -c | sort -rn | head -25
