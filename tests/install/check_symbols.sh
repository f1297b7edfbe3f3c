#!/usr/bin/env bash
# The shared library's ABI surface: SONAME libmarlinjit.so.<major>; the public C++ API and the C ABI exported; no
# spdlog, fmt, nlohmann-json or xxHash symbol, and nothing from the library's internal namespaces, exported.
# Usage: check_symbols.sh LIBRARY MAJOR
set -euo pipefail
library=$1 major=$2
fail() { echo "FAILED: $*" >&2; exit 1; }

soname=$(objdump -p "$library" | awk '$1 == "SONAME" {print $2}')
[ "$soname" = "libmarlinjit.so.$major" ] || fail "SONAME is '$soname', expected libmarlinjit.so.$major"

exported=$(nm -D --defined-only "$library" | c++filt)
echo "$(wc -l <<<"$exported") exported symbols"
for wanted in 'mj_runtime_create' 'mj_last_error_rule' 'marlin_jit::Runtime::Runtime(' 'marlin_jit::check_supported(' \
  'marlin_jit::apply_nvfp4_linear(' 'marlin_jit::request_for(' 'typeinfo for marlin_jit::ConfigError'; do
  grep -qF "$wanted" <<<"$exported" || fail "$wanted is not exported"
done
leaked=$(grep -E 'spdlog|fmt::|nlohmann|XXH|xxh|marlin_jit::(detail|ops|dispatch|c_api|cli)::' <<<"$exported" || true)
[ -z "$leaked" ] || fail "internal or third-party symbols exported:"$'\n'"$leaked"
echo "SONAME $soname; no third-party or internal symbol exported"
