#!/usr/bin/env bash
# CI step of the Python package (called by .ci/run): a fresh venv with CPython 3.12 when the machine has it, else
# its python3 (>= 3.9), `pip install ./runtime/python` from the checkout (builds the library again, warnings as
# errors in the binding sources), then the package's tests. GPU tests skip themselves without torch and a GPU.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"

python=""
for candidate in python3.12 python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; assert sys.version_info >= (3, 9)' 2>/dev/null; then
    python="$candidate"
    break
  fi
done
if [ -z "$python" ]; then
  echo "no CPython >= 3.9 found" >&2
  exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" -m venv "$work/venv"
echo "python: $("$work/venv/bin/python" --version)"
MARLIN_JIT_PYTHON_WERROR=ON "$work/venv/bin/pip" install -q "$root/runtime/python" pytest numpy
# From outside runtime/python, so `import marlin_jit` finds the installed package, not the source folder.
cd "$work"
MARLIN_JIT_CACHE_DIR="$work/cache" "$work/venv/bin/python" -m pytest -q -p no:cacheprovider "$root/runtime/python/tests"
