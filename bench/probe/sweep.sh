#!/usr/bin/env bash
# Sweeps K splits and N tile width for small M with the kernel probe (timing only). Usage: bench/probe/sweep.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-/tmp}
bash "$root/bench/probe/build_and_run.sh" --time | tail -n 30
for nb in 4 8; do for sp in 1 2 3 4 6 8; do
  echo "== n_blocks=$nb splits=$sp"
  PROBE_SWEEP=1 PROBE_NBLOCKS=$nb PROBE_SPLITS=$sp "$out/kernel_probe" --time | grep -E '^bf16'
done; done
