#!/usr/bin/env bash
# Installs the build into a temporary prefix, then builds and runs, against that prefix only: the installed CLI,
# a CMake consumer (find_package(marlin_jit 0.2) + marlin_jit::marlin_jit, C++ API) and a pkg-config consumer (one C
# compiler command, C ABI). Each compiles one kernel through NVRTC into its own temporary cache folder.
# Usage: run_consumers.sh BUILD_DIR C_COMPILER CXX_COMPILER "CXX_FLAGS" GENERATOR
set -euo pipefail
build_dir=$1 c_compiler=$2 cxx_compiler=$3 cxx_flags=$4 generator=$5
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/mj_install_XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build_dir" --prefix "$prefix" >/dev/null
library=$(find "$prefix" -name 'libmarlinjit.so*' -type f | head -n 1)
pc_file=$(find "$prefix" -name marlin_jit.pc)
test -n "$library" -a -n "$pc_file" -a -x "$prefix/bin/marlin-jit" -a -f "$prefix/include/marlin_jit/c_api.h"
echo "installed: $library, $pc_file"

# The installed CLI finds the installed library through its RPATH.
MARLIN_JIT_CACHE_DIR=$work/cli_cache "$prefix/bin/marlin-jit" check --arch sm_90 --quant nvfp4 --group-size 16

cmake -S "$here/cmake_consumer" -B "$work/cmake_build" -G "$generator" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_COMPILER="$cxx_compiler" -DCMAKE_CXX_FLAGS="$cxx_flags" -DCMAKE_EXE_LINKER_FLAGS="$cxx_flags" \
  -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$work/cmake_build" >/dev/null
"$work/cmake_build/cmake_consumer" "$work/cmake_cache"

export PKG_CONFIG_PATH=$(dirname "$pc_file")
pkg-config --exists --print-errors "marlin_jit >= 0.2"
# shellcheck disable=SC2046  # pkg-config's flags are meant to split
"$c_compiler" -std=c99 -Wall -Wextra -Wpedantic -Werror "$here/pkgconfig_consumer/consumer.c" \
  $(pkg-config --cflags --libs marlin_jit) -Wl,-rpath,"$(dirname "$library")" -o "$work/pkgconfig_consumer"
"$work/pkgconfig_consumer" "$work/pkgconfig_cache"
