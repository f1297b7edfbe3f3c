"""torch custom ops for the layers, registered when torch is importable (never required), as engines register
their Marlin ops: ``torch.ops.marlin_jit.nvfp4_linear`` / ``nvfp4_linear_out`` / ``nvfp4_moe``, each with a fake
(meta) implementation, so torch.compile(fullgraph=True) traces a layer call without running a kernel.

Ops cannot take Python objects, so a layer is named by an integer id, registered here for the layer's lifetime.
The real implementations allocate outputs with torch (caching allocator: safe inside torch.cuda.graph capture)
and launch on torch's current stream of the input's device.
"""

import itertools
import weakref

try:
    import torch
except ImportError:  # torch is optional
    torch = None

_layers = {}
_ids = itertools.count(1)


def register(layer):
    """The id naming ``layer`` in the ops (0 without torch); dropped when the layer is collected."""
    if torch is None:
        return 0
    layer_id = next(_ids)
    _layers[layer_id] = weakref.ref(layer, lambda _, key=layer_id: _layers.pop(key, None))
    return layer_id


def is_tensor(value):
    return torch is not None and isinstance(value, torch.Tensor)


def _layer(layer_id):
    layer = _layers.get(layer_id)
    layer = layer() if layer is not None else None
    if layer is None:
        raise RuntimeError(f"marlin_jit layer {layer_id} no longer exists")
    return layer


def _stream(tensor):
    return torch.cuda.current_stream(tensor.device).cuda_stream if tensor.is_cuda else 0


if torch is not None:
    from typing import Optional

    @torch.library.custom_op("marlin_jit::nvfp4_linear", mutates_args=())
    def nvfp4_linear(x: torch.Tensor, layer_id: int, bias: Optional[torch.Tensor]) -> torch.Tensor:
        layer = _layer(layer_id)
        out = x.new_empty((*x.shape[:-1], layer.n))
        layer.apply(x, bias=bias, out=out, stream=_stream(x))
        return out

    @nvfp4_linear.register_fake
    def _(x, layer_id, bias):
        return x.new_empty((*x.shape[:-1], _layer(layer_id).n))

    @torch.library.custom_op("marlin_jit::nvfp4_linear_out", mutates_args=("out",))
    def nvfp4_linear_out(x: torch.Tensor, layer_id: int, bias: Optional[torch.Tensor], out: torch.Tensor) -> None:
        _layer(layer_id).apply(x, bias=bias, out=out, stream=_stream(x))

    @nvfp4_linear_out.register_fake
    def _(x, layer_id, bias, out):
        return None

    @torch.library.custom_op("marlin_jit::nvfp4_moe", mutates_args=())
    def nvfp4_moe(x: torch.Tensor, layer_id: int, topk_ids: torch.Tensor, topk_weights: torch.Tensor) -> torch.Tensor:
        out = torch.empty_like(x)
        _layer(layer_id).apply(x, topk_ids, topk_weights, out=out, stream=_stream(x))
        return out

    @nvfp4_moe.register_fake
    def _(x, layer_id, topk_ids, topk_weights):
        return torch.empty_like(x)
