#!/usr/bin/env bash
# Sweeps warp shapes and K splits for small M with the kernel probe (timing only). Usage: bench/probe/sweep.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-/tmp}
bash "$root/bench/probe/build_and_run.sh" --time > "$out/probe_default.log"
grep -E '^bf16 +(1|16|64) ' "$out/probe_default.log"
for cfg in "128 8" "64 4" "64 8"; do set -- $cfg; for sp in 1 2 4; do
  echo "== threads=$1 n_blocks=$2 splits=$sp"
  PROBE_SWEEP=1 PROBE_NBLOCKS=$2 PROBE_THREADS=$1 PROBE_SPLITS=$sp "$out/kernel_probe" --time | grep -E '^bf16' || true
done; done
