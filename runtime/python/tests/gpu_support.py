"""Helpers of the GPU tests: random NVFP4 layers uploaded as torch tensors, and their float64 references."""

import numpy as np

from nvfp4_reference import dequantize, random_checkpoint

TOLERANCE = {"float16": 2e-3, "bfloat16": 1e-2}  # relative L2 error against float64 (output rounding dominates)


def torch_dtype(name):
    import torch

    return getattr(torch, name)


def upload_linear(rng, n, k, scale_dtype="uint8"):
    """(torch weight, torch weight_scale, global scale, float64 W [n, k]) on cuda; scale_dtype "float8_e4m3fn"
    passes the scales as torch's float8 dtype (same bytes)."""
    import torch

    weight, weight_scale, scale_2 = random_checkpoint(rng, n, k)
    w = torch.from_numpy(weight).cuda()
    s = torch.from_numpy(weight_scale).cuda()
    if scale_dtype == "float8_e4m3fn":
        s = s.view(torch.float8_e4m3fn)
    return w, s, scale_2, dequantize(weight, weight_scale, scale_2)


def activations(shape, dtype_name, seed):
    import torch

    generator = torch.Generator(device="cuda").manual_seed(seed)
    return torch.randn(shape, generator=generator, device="cuda", dtype=torch.float32).to(torch_dtype(dtype_name))


def reference(x, w, bias=None):
    """x @ W.T (+ bias) in float64 on the host, from the activations as the kernel sees them (already rounded)."""
    out = x.double().cpu().numpy() @ w.T
    if bias is not None:
        out = out + bias.double().cpu().numpy()
    return out


def as_numpy(tensor):
    return tensor.double().cpu().numpy()


def rng(seed):
    return np.random.default_rng(seed)
