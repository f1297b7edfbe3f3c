"""Nvfp4Linear: a dense NVFP4 layer prepared once from a ModelOpt checkpoint's tensors, then applied many times:
``out = x @ dequant(weight).T (+ bias)`` with x fp16 or bf16 of shape [..., K]."""

from . import _frameworks, _torch_ops
from .runtime import _core, default_runtime


class Nvfp4Linear:
    """Build with ``Nvfp4Linear.from_checkpoint(weight, weight_scale, weight_scale_2)``; call as ``layer(x)``.

    The prepared weights live on the GPU the checkpoint tensors were on, owned by this object (freed with it).
    Attributes: n (output features), k (input features), device (CUDA ordinal), runtime.
    """

    def __init__(self, core_layer, runtime):
        self._core = core_layer
        self.runtime = runtime
        self.n = core_layer.n
        self.k = core_layer.k
        self.device = core_layer.device
        self._op_id = _torch_ops.register(self)

    @classmethod
    def from_checkpoint(cls, weight, weight_scale, weight_scale_2, *, runtime=None, stream=None):
        """weight: uint8 [N, K/2] (two e2m1 codes a byte, lower K in the low nibble); weight_scale: float8_e4m3fn
        (or its bytes as uint8) [N, K/16]; both CUDA tensors of any DLPack framework. weight_scale_2: the global
        scale, a float or a one-element tensor. Converts on ``stream`` (default: the framework's current one) and
        waits; the checkpoint tensors may be freed afterwards. Shapes, dtypes and devices are checked first
        (ConfigError); NaN scales are refused (rule nvfp4_scale_finite)."""
        runtime = runtime or default_runtime()
        scale_2 = _frameworks.host_float(weight_scale_2, "weight_scale_2")
        with _frameworks.device_guard(weight):
            core_layer = _core.Nvfp4Linear.prepare(
                runtime._core, _frameworks.exportable(weight), _frameworks.exportable(weight_scale), scale_2,
                _frameworks.stream_handle(stream, weight))
        return cls(core_layer, runtime)

    def __call__(self, x, bias=None, out=None, stream=None):
        """Returns ``out`` (allocated with x's framework when not given): x @ W.T (+ bias), on ``stream`` (default:
        x's framework's current stream). torch tensors go through the torch custom op (torch.compile traces
        it; graph capture works after one eager call of the shape on the stream)."""
        if _torch_ops.is_tensor(x) and stream is None:
            if out is None:
                return _torch_ops.nvfp4_linear(x, self._op_id, bias)
            _torch_ops.nvfp4_linear_out(x, self._op_id, bias, out)
            return out
        return self.apply(x, bias=bias, out=out, stream=stream)

    def apply(self, x, bias=None, out=None, stream=None, path="automatic"):
        """The call without the torch op, for any DLPack framework. path: "automatic", "marlin" or
        "dequant_cublas" (the dispatcher's choice by M, or forced)."""
        if out is None:
            out = _frameworks.empty(x, (*x.shape[:-1], self.n))
        with _frameworks.device_guard(x):
            self._core.apply(_frameworks.exportable(x), _frameworks.exportable(out), _frameworks.exportable(bias),
                             _frameworks.stream_handle(stream, x), path)
        return out

    def __repr__(self):
        return f"marlin_jit.Nvfp4Linear(n={self.n}, k={self.k}, device=cuda:{self.device})"
