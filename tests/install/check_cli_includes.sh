#!/usr/bin/env bash
# The CLI is the first embedder: every header it includes with quotes is its own (runtime/cli) or an installed public
# header (runtime/include, cache/include, the generated export.h); none comes from runtime/src or cache/src.
# Usage: check_cli_includes.sh SOURCE_DIR
set -euo pipefail
source_dir=$1
status=0
while IFS= read -r line; do
  file=${line%%:*}
  header=$(sed -E 's/.*#include "([^"]+)".*/\1/' <<<"${line#*:}")
  if [ -f "$source_dir/runtime/cli/$header" ] || [ -f "$source_dir/runtime/include/$header" ] ||
     [ -f "$source_dir/cache/include/$header" ] || [ "$header" = marlin_jit/export.h ]; then
    continue
  fi
  echo "FAILED: $file includes \"$header\", which is not a public header" >&2
  status=1
done < <(grep -H '#include "' "$source_dir"/runtime/cli/*.cpp "$source_dir"/runtime/cli/*.hpp)
[ "$status" = 0 ] && echo "runtime/cli includes public headers and its own only"
exit "$status"
