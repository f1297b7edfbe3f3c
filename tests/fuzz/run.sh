#!/usr/bin/env bash
# Builds the libFuzzer target for the safetensors header parser with clang (build/fuzz), writes the seed corpus and
# fuzzes for a bounded time. Usage: tests/fuzz/run.sh [seconds (default 60)]. Exit status non-zero on a finding;
# the reproducer lands in build/fuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_C_COMPILER=clang -DMARLIN_JIT_BUILD_FUZZ=ON -DMARLIN_JIT_BUILD_TESTS=OFF -DMARLIN_JIT_BUILD_CLI=OFF \
  -DMARLIN_JIT_BUILD_EXAMPLES=OFF -DMARLIN_JIT_WERROR=ON >/dev/null
cmake --build build/fuzz --target fuzz_safetensors_header fuzz_write_seed_corpus -j "$(nproc)"
corpus=build/fuzz/corpus
mkdir -p "$corpus" build/fuzz/findings
build/fuzz/tests/fuzz/fuzz_write_seed_corpus "$corpus/seed"
mkdir -p "$corpus/grown"
build/fuzz/tests/fuzz/fuzz_safetensors_header "$corpus/grown" "$corpus/seed" \
  -dict=tests/fuzz/safetensors.dict -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 \
  -artifact_prefix=build/fuzz/findings/ -print_final_stats=1
