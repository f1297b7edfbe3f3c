#!/usr/bin/env bash
# The README's test command: configure, build (warnings as errors) and run every CPU, CLI and reliability test.
# Usage: tests/run.sh [preset]   (preset: gcc (default) or clang-libcxx). On a GPU machine, the gpu label runs too.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-gcc}
# Debug: fastest to build on 2 cores, and the configuration every suite was written against.
cmake --preset "$preset" -DCMAKE_BUILD_TYPE=Debug -DMARLIN_JIT_BUILD_TESTS=ON -DMARLIN_JIT_WERROR=ON >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
ctest --preset "$preset" -j "$(nproc)" --timeout 600
