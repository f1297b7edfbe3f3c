"""Fixtures of the marlin_jit tests: a runtime with a fresh cache folder per test, and the GPU gate (torch with
CUDA and a usable driver; GPU tests skip cleanly otherwise)."""

import importlib.util
import os

import pytest

import marlin_jit

if not hasattr(marlin_jit, "_core"):  # pragma: no cover - the source folder shadows the installed package
    raise ImportError("marlin_jit was imported from the source folder: run pytest from outside runtime/python")


@pytest.fixture
def runtime(tmp_path):
    """A Runtime whose cache folder is empty and private to the test (no read-only layers from the environment)."""
    return marlin_jit.Runtime(cache_dir=tmp_path / "cache", read_only_cache_dirs=[tmp_path / "no-prebuilt"])


def gpu_ready():
    """(True, "") when torch with CUDA and marlin_jit's driver are usable, else (False, why)."""
    if importlib.util.find_spec("torch") is None:
        return False, "torch is not installed"
    import torch

    if not torch.cuda.is_available():
        return False, "torch sees no CUDA device"
    if not marlin_jit.driver_available():
        return False, "marlin_jit finds no usable CUDA driver"
    return True, ""


@pytest.fixture(scope="session")
def gpu_runtime(tmp_path_factory):
    """The runtime of the GPU tests: MARLIN_JIT_CACHE_DIR when set (kernels compile once across runs), else a
    session folder. Skips the test without a GPU."""
    ready, why = gpu_ready()
    if not ready:
        pytest.skip(why)
    cache = os.environ.get("MARLIN_JIT_CACHE_DIR") or tmp_path_factory.mktemp("gpu-cache")
    return marlin_jit.Runtime(cache_dir=cache)
