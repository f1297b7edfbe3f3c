"""marlin_jit: JIT-compiled Marlin-style W4A16 kernels for NVIDIA ModelOpt NVFP4 checkpoints on SM80-SM90.

    import marlin_jit
    layer = marlin_jit.Nvfp4Linear.from_checkpoint(weight, weight_scale, weight_scale_2)
    y = layer(x)                      # torch in -> torch out, CuPy in -> CuPy out

Tensors come in through DLPack (torch, CuPy, JAX, ...); the caller's current CUDA stream is used. The package is
one nanobind extension over the library's public C++ API with the library linked in statically (README.md says
why); it needs only NVRTC and the CUDA driver at run time, and imports on machines without a GPU (everything but
launching works there: check, precompile, the cache).
"""

from ._errors import CacheError, CompileError, ConfigError, DriverError, Error, InternalError
from .checkpoint import load_nvfp4_checkpoint
from .linear import Nvfp4Linear
from .moe import Nvfp4Moe
from .precompile import PrecompileReport, precompile
from .rules import catalog_specs, check, is_supported
from .runtime import Runtime, _core, default_runtime, set_default_runtime

__version__ = _core.library_version()
nvrtc_version = _core.nvrtc_version
driver_available = _core.driver_available
driver_version = _core.driver_version
list_devices = _core.list_devices
set_log_level = _core.set_log_level
supported_sms = _core.supported_sms

__all__ = [
    "CacheError", "CompileError", "ConfigError", "DriverError", "Error", "InternalError", "Nvfp4Linear",
    "Nvfp4Moe", "PrecompileReport", "Runtime", "catalog_specs", "check", "default_runtime", "driver_available",
    "driver_version", "is_supported", "list_devices", "load_nvfp4_checkpoint", "nvrtc_version", "precompile",
    "set_default_runtime", "set_log_level", "supported_sms", "__version__",
]
