#!/usr/bin/env bash
# One device call for checkpoint loading, over binaries built without a GPU and carried in .probe/bin (as
# device_carried.sh): the GPU checkpoint test, then the example engine on a checkpoint the writer makes on the device
# (Llama-8B-like block shapes, 2 blocks, 4 shards). Logs go to $OUT. Usage on the device: bash bench/device_checkpoint.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-/tmp/marlin-jit-out}
bin=$root/.probe/bin
mkdir -p "$out"
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/lib:$bin:${LD_LIBRARY_PATH:-}
export MARLIN_JIT_CACHE_DIR=$(mktemp -d) MARLIN_JIT_TEST_CACHE_DIR=$(mktemp -d)
checkpoint=$(mktemp -d)/llama-like-nvfp4
timeout 300 "$bin/gpu_checkpoint_load_test" > "$out/checkpoint_gpu_test.log" 2>&1
echo "gpu_checkpoint_load_test exit $?: $(grep -E '^\[  (PASSED|FAILED|SKIPPED)  \]' "$out/checkpoint_gpu_test.log" | tr '\n' ' ')"
{
  timeout 120 "$bin/marlin-jit-example-checkpoint" "$checkpoint" --blocks 2 --hidden 4096 --intermediate 14336 \
    --vocab 1024 --shards 4
  echo "== cold cache, M 16 bf16"
  timeout 300 "$bin/marlin-jit-example" "$checkpoint" --m 16 --dtype bf16 --repeats 50
  echo "== warm cache, M 16 bf16"
  timeout 120 "$bin/marlin-jit-example" "$checkpoint" --m 16 --dtype bf16 --repeats 50
  echo "== warm cache, M 1 fp16"
  timeout 300 "$bin/marlin-jit-example" "$checkpoint" --m 1 --dtype fp16 --repeats 50
  echo "example exit $?"
} > "$out/checkpoint_example.log" 2>&1
tail -n 3 "$out/checkpoint_example.log"
