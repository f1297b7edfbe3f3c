"""What the layers need from the caller's array framework, found from the array itself: its current CUDA stream,
an output allocated the framework's way, a device guard, and inputs made exportable through DLPack.

torch: the current stream of the tensor's device (torch.cuda.current_stream(x.device).cuda_stream); outputs
from torch's caching allocator (x.new_empty), which is safe inside torch.cuda.graph capture; float8_e4m3fn
tensors are passed as a uint8 view of the same bytes (torch versions without DLPack float8 export); tensors
that require grad are detached (DLPack refuses them). CuPy: cupy.cuda.get_current_stream(); outputs with
cupy.empty on the array's device. Anything else with __dlpack__ (JAX, ...): stream 0 (the legacy default stream)
unless ``stream=`` is given, and ``out=`` must be given (JAX arrays are immutable: write into a buffer you own).
"""

import contextlib
import sys

from ._errors import config_error


def framework_of(array):
    """"torch", "cupy", "jax", "numpy" or "other", from the array type's module."""
    root = type(array).__module__.split(".", 1)[0]
    if root in ("torch", "cupy", "numpy"):
        return root
    if root in ("jax", "jaxlib"):
        return "jax"
    return "other"


def stream_handle(stream, like):
    """The CUstream as an int: ``stream`` when given (an int, or an object with .cuda_stream (torch) or .ptr
    (CuPy)), else the current stream of ``like``'s framework, else 0."""
    if stream is not None:
        if isinstance(stream, int):
            return stream
        for attribute in ("cuda_stream", "ptr"):
            if hasattr(stream, attribute):
                return int(getattr(stream, attribute))
        raise TypeError(f"stream must be an int handle, a torch.cuda.Stream or a cupy Stream, not "
                        f"{type(stream).__name__}")
    framework = framework_of(like)
    if framework == "torch" and like.is_cuda:
        return sys.modules["torch"].cuda.current_stream(like.device).cuda_stream
    if framework == "cupy":
        return sys.modules["cupy"].cuda.get_current_stream().ptr
    return 0


def device_guard(array):
    """Makes ``array``'s GPU current for the call (the library runs on the calling thread's current device)."""
    framework = framework_of(array)
    if framework == "torch" and array.is_cuda:
        torch = sys.modules["torch"]
        if array.device.index != torch.cuda.current_device():
            return torch.cuda.device(array.device)
    elif framework == "cupy":
        return array.device
    return contextlib.nullcontext()


def exportable(array):
    """``array`` ready for the extension's DLPack import. torch and CuPy arrays become capsules exported with
    ``__dlpack__(stream=-1)``, "no synchronization": we launch on the framework's current stream, and the default
    export (stream None) would make torch's default stream wait on the current one at every call, which costs time
    and breaks CUDA graph capture on a side stream. torch tensors are detached first and float8_e4m3fn is viewed as
    uint8 (torch versions without DLPack float8 export). Other arrays pass unchanged (nanobind calls
    ``__dlpack__`` itself)."""
    framework = framework_of(array)
    if framework == "torch":
        torch = sys.modules["torch"]
        array = array.detach()
        if array.dtype == getattr(torch, "float8_e4m3fn", None):
            array = array.view(torch.uint8)
        return array.__dlpack__(stream=-1)
    if framework == "cupy":
        return array.__dlpack__(stream=-1)
    return array


def empty(like, shape):
    """An uninitialised array of ``shape`` and ``like``'s dtype on its device, from its own framework."""
    framework = framework_of(like)
    if framework == "torch":
        return like.new_empty(shape)
    if framework == "cupy":
        with like.device:
            return sys.modules["cupy"].empty(shape, dtype=like.dtype)
    raise TypeError(f"marlin_jit allocates outputs for torch and CuPy arrays only; for a {type(like).__name__} "
                    f"pass out= (a writable device array exporting __dlpack__)")


def host_floats(values, name):
    """A Python list of floats from a scalar, a sequence or a 0/1-d array of any framework (copied to the host)."""
    if hasattr(values, "tolist"):
        values = values.tolist()
    if isinstance(values, (int, float)):
        return [float(values)]
    try:
        return [float(value) for value in values]
    except TypeError:
        raise config_error("tensor_shape", type(values).__name__, "a float or a sequence of floats", name) from None


def host_float(value, name):
    """One float from a Python number or a one-element array of any framework."""
    values = host_floats(value, name)
    if len(values) != 1:
        raise config_error("tensor_shape", f"{len(values)} values", "one float (a scalar)", name)
    return values[0]
