"""NVFP4 on the host in float64, written from the format (shared/briefs/nvfp4-marlin.md, ModelOpt's layout), not
from the kernels: e2m1 codes, e4m3fn block scales, the global scale; random checkpoints; the dense and MoE layer
references. numpy only; tensors of other frameworks are converted by the tests."""

import numpy as np

# e2m1: sign bit 3, then 2 exponent bits (bias 1) and 1 mantissa bit: codes 0..7 are these, 8..15 their negatives.
E2M1_MAGNITUDES = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])
E2M1_VALUES = np.concatenate([E2M1_MAGNITUDES, -E2M1_MAGNITUDES])


def e4m3fn_to_float64(codes):
    """float8_e4m3fn bytes to float64: sign, 4 exponent bits (bias 7), 3 mantissa bits, no infinities, 0x7F/0xFF
    NaN, exponent 0 subnormal (m/8 * 2^-6)."""
    codes = np.asarray(codes, dtype=np.uint8).astype(np.int64)
    exponent = (codes >> 3) & 15
    mantissa = (codes & 7).astype(np.float64)
    magnitude = np.where(exponent == 0, mantissa / 8.0 * 2.0**-6, (1.0 + mantissa / 8.0) * 2.0 ** (exponent - 7))
    magnitude = np.where((codes & 0x7F) == 0x7F, np.nan, magnitude)
    return np.where(codes & 0x80, -magnitude, magnitude)


def unpack_e2m1(packed):
    """uint8 [..., K/2] -> codes [..., K]: the lower K index sits in the low nibble."""
    packed = np.asarray(packed, dtype=np.uint8)
    codes = np.empty(packed.shape[:-1] + (packed.shape[-1] * 2,), dtype=np.uint8)
    codes[..., 0::2] = packed & 0x0F
    codes[..., 1::2] = packed >> 4
    return codes


def dequantize(weight, weight_scale, weight_scale_2):
    """W [..., N, K] in float64 = e2m1(code) * e4m3(scale of the code's 16-wide group) * global scale."""
    values = E2M1_VALUES[unpack_e2m1(weight)]
    scales = np.repeat(e4m3fn_to_float64(weight_scale), 16, axis=-1)
    return values * scales * np.float64(weight_scale_2)


def random_checkpoint(rng, n, k, leading=()):
    """weight uint8 [*leading, n, k/2], weight_scale uint8 (e4m3fn bytes) [*leading, n, k/16] with positive and
    negative scales between 2^-6 and 2^2 (exponent fields 1..9), a global scale near ModelOpt's (amax / 2688)."""
    weight = rng.integers(0, 256, size=(*leading, n, k // 2), dtype=np.uint8)
    exponent = rng.integers(1, 10, size=(*leading, n, k // 16))
    mantissa = rng.integers(0, 8, size=(*leading, n, k // 16))
    sign = rng.integers(0, 2, size=(*leading, n, k // 16)) << 7
    weight_scale = (sign | (exponent << 3) | mantissa).astype(np.uint8)
    return weight, weight_scale, 1.5 / 448.0


def relative_error(got, reference):
    """||got - ref||_2 / ||ref||_2 in float64 (NaN anywhere makes it NaN, which fails every bound)."""
    got = np.asarray(got, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    return float(np.linalg.norm(got - reference) / np.linalg.norm(reference))


def moe_reference(x, topk_ids, topk_weights, w1, w2, activation, b1=None, b2=None):
    """out[m] = sum_j topk_weights[m, j] * Expert_{topk_ids[m, j]}(x[m]) in float64, w1 [E, N1, H] and w2 [E, H, I]
    dequantized; gated: W1's first I rows are the gate, the next I the up projection."""
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros_like(x)
    intermediate = w2.shape[2]
    for m in range(x.shape[0]):
        for j in range(topk_ids.shape[1]):
            e = int(topk_ids[m, j])
            h = w1[e] @ x[m] + (0 if b1 is None else b1[e])
            if activation == "silu_gated":
                gate, up = h[:intermediate], h[intermediate:]
                a = gate / (1.0 + np.exp(-gate)) * up
            else:
                a = np.maximum(h, 0.0) ** 2
            out[m] += topk_weights[m, j] * (w2[e] @ a + (0 if b2 is None else b2[e]))
    return out
