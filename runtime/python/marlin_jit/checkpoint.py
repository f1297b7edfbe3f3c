"""Loading a ModelOpt NVFP4 checkpoint folder (safetensors, sharded or not, with hf_quant_config.json or
config.json's modelopt quantization_config) into prepared dense layers, through the C++ loader
(marlin_jit/checkpoint.hpp): every file, header, dtype and shape is checked on the CPU before any GPU work."""

import contextlib
import os
import sys

from . import _frameworks
from ._errors import config_error
from .linear import Nvfp4Linear
from .runtime import _core, default_runtime


class LoadedCheckpoint(dict):
    """prefix -> Nvfp4Linear, in natural layer order (layers.2 before layers.10). Also:
    unquantized_modules: [{"prefix", "dtype", "shape", "excluded"}] — modules left unquantized (excluded: named by
    the quant config's exclude_modules); quant_config: {"quant_algo", "group_size", "exclude_modules", ...}."""

    unquantized_modules = ()
    quant_config = None


def _device_guard(device):
    """The library prepares on the calling thread's current CUDA device: make `device` current (through torch when
    it is imported; without torch only the current device can be used)."""
    if device is None:
        return contextlib.nullcontext()
    if not isinstance(device, int) or isinstance(device, bool) or device < 0:
        raise config_error("checkpoint_device", device, "a CUDA device ordinal >= 0", "device")
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return torch.cuda.device(device)
    if device != 0:
        raise config_error("checkpoint_device", device, "0 (the current device) when torch is not imported",
                           "device")
    return contextlib.nullcontext()


def load_nvfp4_checkpoint(path, device=0, *, runtime=None, stream=None):
    """Opens the checkpoint folder `path`, checks it (ConfigError naming the file, tensor and rule), then uploads and
    prepares every NVFP4 linear layer on CUDA device `device` and returns a LoadedCheckpoint (a dict prefix ->
    Nvfp4Linear). stream: an int handle or a torch/CuPy stream (default: the legacy default stream); the call waits
    for the preparation to finish."""
    runtime = runtime or default_runtime()
    handle = _frameworks.stream_handle(stream, None)
    with _device_guard(device):
        layers, unquantized, config = _core.load_nvfp4_checkpoint(runtime._core, os.fspath(path), handle)
    loaded = LoadedCheckpoint((prefix, Nvfp4Linear(core, runtime)) for prefix, core in layers)
    loaded.unquantized_modules = unquantized
    loaded.quant_config = config
    return loaded
