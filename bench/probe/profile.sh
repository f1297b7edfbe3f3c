#!/usr/bin/env bash
# Profiles single launches of the carried kernel probe (.probe/kernel_probe, see device_probe.sh) with Nsight
# Compute: speed of light, warp stalls, scheduler, occupancy, memory, instruction mix. Usage on the device:
#   bench/probe/profile.sh "TILE M N K" ...   (e.g. "t128m1n4k16s3 1 8192 8192"); one text report each under $OUT
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-/tmp}
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}
for config in "$@"; do
  set -- $config
  report="$out/ncu_$1_m$2_n$3_k$4.txt"
  ncu --kernel-name regex:'dense_gemm|probe_gemm' --launch-skip 1 --launch-count 1 --clock-control none \
    --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section Occupancy \
    --section MemoryWorkloadAnalysis --section LaunchStats --section ComputeWorkloadAnalysis --section InstructionStats \
    --metrics "regex:smsp__average_warps_issue_stalled_.*_per_issue_active\\.ratio" \
    "$root/.probe/kernel_probe" --one "$1" "$2" "$3" "$4" > "$report" 2>&1
  echo "== $config"
  grep -E "Duration|DRAM Throughput|Issue Slots Busy|Eligible Warps|Active Warps Per|No Eligible|Achieved Occupancy|Registers Per|Warp Cycles Per Issued" "$report" | head -20
  grep -E "issue_stalled" "$report" | sort -k3 -n -r | head -8
done
