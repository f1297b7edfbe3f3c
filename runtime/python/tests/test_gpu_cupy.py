"""A CuPy array in gives a CuPy array out (DLPack import, allocation with CuPy, CuPy's current stream). Skips
without CuPy or a GPU."""

import pytest

import marlin_jit
from gpu_support import TOLERANCE, rng
from nvfp4_reference import random_checkpoint, dequantize, relative_error

cupy = pytest.importorskip("cupy")


def test_cupy_in_cupy_out(gpu_runtime):
    weight, scale, scale_2 = random_checkpoint(rng(41), 128, 256)
    layer = marlin_jit.Nvfp4Linear.from_checkpoint(cupy.asarray(weight), cupy.asarray(scale), scale_2,
                                                   runtime=gpu_runtime)
    x = cupy.random.default_rng(42).standard_normal((3, 256), dtype=cupy.float32).astype(cupy.float16)
    y = layer(x)
    assert isinstance(y, cupy.ndarray) and y.shape == (3, 128) and y.dtype == cupy.float16
    reference = cupy.asnumpy(x).astype("float64") @ dequantize(weight, scale, scale_2).T
    assert relative_error(cupy.asnumpy(y), reference) < TOLERANCE["float16"]
