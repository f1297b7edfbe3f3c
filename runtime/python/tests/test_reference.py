"""The tests' float64 NVFP4 reference decodes the format's fixed points exactly (so the GPU comparisons rest on
a checked reference)."""

import numpy as np

from nvfp4_reference import E2M1_VALUES, dequantize, e4m3fn_to_float64, unpack_e2m1


def test_e2m1_codes():
    assert list(E2M1_VALUES[:8]) == [0, 0.5, 1, 1.5, 2, 3, 4, 6]
    assert list(E2M1_VALUES[8:]) == [-0.0, -0.5, -1, -1.5, -2, -3, -4, -6]


def test_e4m3fn_fixed_points():
    decoded = e4m3fn_to_float64(np.array([0x00, 0x01, 0x08, 0x38, 0x7E, 0xFE, 0x7F, 0xFF, 0xB8], dtype=np.uint8))
    assert list(decoded[:6]) == [0.0, 2.0**-9, 2.0**-6, 1.0, 448.0, -448.0]
    assert np.isnan(decoded[6]) and np.isnan(decoded[7])
    assert decoded[8] == -1.0


def test_low_nibble_holds_the_lower_k_index():
    assert unpack_e2m1(np.array([[0x21]], dtype=np.uint8)).tolist() == [[1, 2]]


def test_dequantize_applies_block_and_global_scales():
    weight = np.full((1, 16), 0x22, dtype=np.uint8)  # 32 codes of value 1.0
    scales = np.array([[0x38, 0x40]], dtype=np.uint8)  # 1.0, then 2.0
    w = dequantize(weight, scales, 0.5)
    assert w.shape == (1, 32)
    assert np.all(w[0, :16] == 0.5) and np.all(w[0, 16:] == 1.0)
