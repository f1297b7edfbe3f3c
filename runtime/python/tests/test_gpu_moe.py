"""Nvfp4Moe on a GPU with torch tensors, against the float64 formula of nvfp4_moe.hpp (both activations, with
and without biases), out=, torch.compile(fullgraph=True) through the custom op, and out-of-range routing ids
reported by the next call. Skips without torch, CUDA or a driver."""

import numpy as np
import pytest

import marlin_jit
from gpu_support import activations, as_numpy, rng
from nvfp4_reference import dequantize, moe_reference, random_checkpoint, relative_error

torch = pytest.importorskip("torch")
MOE_TOLERANCE = {"float16": 5e-3, "bfloat16": 3e-2}  # the intermediate activation is rounded to the dtype
E, H, I, TOPK = 4, 256, 192, 2


def make_moe(runtime, activation, seed, biases=False):
    generator = rng(seed)
    n1 = 2 * I if activation == "silu_gated" else I
    w1, s1, g1 = random_checkpoint(generator, n1, H, leading=(E,))
    w2, s2, g2 = random_checkpoint(generator, H, I, leading=(E,))
    # Global scales 8x the dense tests' (and unscaled activations): every stage's values stay O(1), far from the
    # fp16 subnormal range, so the bound measures the kernels, not underflow.
    globals_1 = [8 * g1 * (1 + 0.1 * e) for e in range(E)]
    globals_2 = [8 * g2 * (1 - 0.1 * e) for e in range(E)]
    b1 = generator.standard_normal((E, n1)).astype(np.float32) if biases else None
    b2 = generator.standard_normal((E, H)).astype(np.float32) if biases else None
    cuda = (lambda a: None if a is None else torch.from_numpy(a).cuda())
    moe = marlin_jit.Nvfp4Moe.from_checkpoint(
        cuda(w1), cuda(s1), globals_1, cuda(w2), cuda(s2), torch.tensor(globals_2), activation=activation,
        w1_bias=cuda(b1), w2_bias=cuda(b2), runtime=runtime)
    dense_1 = np.stack([dequantize(w1[e], s1[e], globals_1[e]) for e in range(E)])
    dense_2 = np.stack([dequantize(w2[e], s2[e], globals_2[e]) for e in range(E)])
    return moe, dense_1, dense_2, b1, b2


def routing(m, seed):
    generator = torch.Generator(device="cuda").manual_seed(seed)
    ids = torch.stack([torch.randperm(E, generator=generator, device="cuda")[:TOPK] for _ in range(m)])
    weights = torch.rand((m, TOPK), generator=generator, device="cuda")
    return ids.to(torch.int32), (weights / weights.sum(1, keepdim=True)).float()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("activation, biases", [("silu_gated", False), ("relu2", False), ("silu_gated", True)])
def test_moe_matches_float64_reference(gpu_runtime, dtype, activation, biases):
    moe, d1, d2, b1, b2 = make_moe(gpu_runtime, activation, seed=21, biases=biases)
    assert (moe.experts, moe.hidden, moe.intermediate, moe.activation) == (E, H, I, activation)
    m = 9
    x = activations((m, H), dtype, seed=22)
    ids, weights = routing(m, seed=23)
    y = moe(x, ids, weights)
    assert isinstance(y, torch.Tensor) and y.shape == x.shape and y.dtype == x.dtype
    ref = moe_reference(as_numpy(x), ids.cpu().numpy(), weights.double().cpu().numpy(), d1, d2, activation, b1, b2)
    assert relative_error(as_numpy(y), ref) < MOE_TOLERANCE[dtype]


def test_moe_out_and_torch_compile(gpu_runtime):
    moe, d1, d2, _, _ = make_moe(gpu_runtime, "relu2", seed=24)
    x = activations((5, H), "bfloat16", seed=25)
    ids, weights = routing(5, seed=26)
    ref = moe_reference(as_numpy(x), ids.cpu().numpy(), weights.double().cpu().numpy(), d1, d2, "relu2")
    out = torch.full_like(x, float("nan"))
    assert moe(x, ids, weights, out=out) is out
    assert relative_error(as_numpy(out), ref) < MOE_TOLERANCE["bfloat16"]
    compiled = torch.compile(lambda a, i, w: moe(a, i, w) + 0, fullgraph=True)
    assert relative_error(as_numpy(compiled(x, ids, weights)), ref) < MOE_TOLERANCE["bfloat16"]


def test_out_of_range_routing_ids_are_reported_by_the_next_call(gpu_runtime):
    moe, *_ = make_moe(gpu_runtime, "relu2", seed=27)
    x = activations((3, H), "float16", seed=28)
    ids, weights = routing(3, seed=29)
    ids[1, 0] = E + 5
    moe(x, ids, weights)
    torch.cuda.synchronize()
    with pytest.raises(marlin_jit.ConfigError) as caught:
        moe(x, *routing(3, seed=30))
    assert caught.value.rule == "moe_topk_ids_range"


def test_moe_refuses_mismatched_routing(gpu_runtime):
    moe, *_ = make_moe(gpu_runtime, "relu2", seed=31)
    x = activations((3, H), "float16", seed=32)
    ids, weights = routing(3, seed=33)
    with pytest.raises(marlin_jit.ConfigError) as caught:
        moe(x, ids.long(), weights)
    assert caught.value.rule == "tensor_dtype"
    with pytest.raises(marlin_jit.ConfigError) as caught:
        moe(x, ids, weights[:, :1].contiguous())
    assert caught.value.rule == "tensor_shape"
