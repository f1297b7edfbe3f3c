#!/usr/bin/env bash
# Runs the package's tests on a machine that reaches no package index (the GPU machine): extracts the marlin_jit
# wheel (and, when the interpreter lacks pytest, the pytest wheels) into a private folder with Python's zipfile
# module, then runs pytest with it first on the path. Usage, from the checkout root:
#   bash runtime/python/tests/run_on_device.sh <folder with the marlin_jit wheel> <folder with pytest wheels> [pytest args]
set -euo pipefail
wheels="$1"; pytest_wheels="$2"; shift 2
python="${PYTHON:-python3}"
site="$(mktemp -d)/site"
mkdir -p "$site"
for wheel in "$wheels"/marlin_jit-*.whl; do "$python" -m zipfile -e "$wheel" "$site"; done
if ! "$python" -c 'import pytest' 2>/dev/null; then
  for wheel in "$pytest_wheels"/*.whl; do "$python" -m zipfile -e "$wheel" "$site"; done
fi
"$python" -c 'import sys; print(sys.version)'
"$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())' || true
export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
export MARLIN_JIT_CACHE_DIR="${MARLIN_JIT_CACHE_DIR:-$(dirname "$site")/cache}"
"$python" -c 'import marlin_jit; print("marlin_jit", marlin_jit.__version__, "nvrtc", marlin_jit.nvrtc_version(), marlin_jit.list_devices() if marlin_jit.driver_available() else "no driver")'
exec "$python" -m pytest -p no:cacheprovider -rs "$@" "$(dirname "$0")"
