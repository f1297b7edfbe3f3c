"""Nvfp4Moe: a fused NVFP4 mixture-of-experts layer prepared once from a ModelOpt checkpoint's stacked expert
tensors, then applied as ``out[m] = sum_j topk_weights[m, j] * Expert_{topk_ids[m, j]}(x[m])``.

gated ("silu_gated"): Expert(x) = W2 (silu(W1_gate x + b1_gate) * (W1_up x + b1_up)) + b2;
non-gated ("relu2"): Expert(x) = W2 relu(W1 x + b1)^2 + b2. topk_weights are applied exactly once: pass the
router's final weights. Routing ids outside [0, E) contribute zero and are reported by the next call on the stream
(ConfigError moe_topk_ids_range). Deterministic (no float atomics)."""

from . import _frameworks, _torch_ops
from .runtime import _core, default_runtime


class Nvfp4Moe:
    """Build with ``Nvfp4Moe.from_checkpoint(...)``; call as ``moe(x, topk_ids, topk_weights)``.
    Attributes: experts, hidden (H), intermediate (I), activation, device, runtime."""

    def __init__(self, core_layer, runtime):
        self._core = core_layer
        self.runtime = runtime
        self.experts = core_layer.experts
        self.hidden = core_layer.hidden
        self.intermediate = core_layer.intermediate
        self.activation = core_layer.activation
        self.device = core_layer.device
        self._op_id = _torch_ops.register(self)

    @classmethod
    def from_checkpoint(cls, w1, w1_scale, w1_scale_2, w2, w2_scale, w2_scale_2, *, activation="silu_gated",
                        w1_bias=None, w2_bias=None, runtime=None, stream=None):
        """w1: uint8 [E, N1, H/2] with N1 = 2*I (gate rows, then up rows) for silu_gated or I for relu2;
        w1_scale: float8_e4m3fn (or uint8) [E, N1, H/16]; w2: uint8 [E, H, I/2]; w2_scale [E, H, I/16];
        w1_scale_2, w2_scale_2: E global scales (a sequence or a tensor); optional float32 biases [E, N1], [E, H].
        Checked before any GPU work (ConfigError); converted on ``stream`` and waited for."""
        runtime = runtime or default_runtime()
        scales_1 = _frameworks.host_floats(w1_scale_2, "w1_scale_2")
        scales_2 = _frameworks.host_floats(w2_scale_2, "w2_scale_2")
        ex = _frameworks.exportable
        with _frameworks.device_guard(w1):
            core_layer = _core.Nvfp4Moe.prepare(
                runtime._core, activation, ex(w1), ex(w1_scale), scales_1, ex(w2), ex(w2_scale), scales_2,
                ex(w1_bias), ex(w2_bias), _frameworks.stream_handle(stream, w1))
        return cls(core_layer, runtime)

    def __call__(self, x, topk_ids, topk_weights, out=None, stream=None):
        """x: [M, H] fp16/bf16; topk_ids: int32 [M, topk]; topk_weights: float32 [M, topk]. Returns ``out``
        (allocated with x's framework when not given). torch tensors go through the torch custom op."""
        if _torch_ops.is_tensor(x) and stream is None and out is None:
            return _torch_ops.nvfp4_moe(x, self._op_id, topk_ids, topk_weights)
        return self.apply(x, topk_ids, topk_weights, out=out, stream=stream)

    def apply(self, x, topk_ids, topk_weights, out=None, stream=None):
        """The call without the torch op, for any DLPack framework."""
        if out is None:
            out = _frameworks.empty(x, tuple(x.shape))
        ex = _frameworks.exportable
        with _frameworks.device_guard(x):
            self._core.apply(ex(x), ex(topk_ids), ex(topk_weights), ex(out), _frameworks.stream_handle(stream, x))
        return out

    def __repr__(self):
        return (f"marlin_jit.Nvfp4Moe(experts={self.experts}, hidden={self.hidden}, "
                f"intermediate={self.intermediate}, activation={self.activation!r}, device=cuda:{self.device})")
