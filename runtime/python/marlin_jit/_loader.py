"""Loads the C++ extension, making sure its one shared dependency, NVRTC (libnvrtc.so.<major>), can be found.

The extension links NVRTC dynamically (NVIDIA ships it as a shared library only) and needs nothing else: spdlog,
fmt, xxHash and nlohmann-json are compiled in, libcuda is dlopen'ed on first GPU use. When the dynamic loader does
not find NVRTC on its own (no /usr/local/cuda in its path), we preload it from the places a CUDA Python
environment keeps it: $CUDA_HOME or $CUDA_PATH, /usr/local/cuda, and the nvidia-* wheels torch depends on.
"""

import ctypes
import glob
import os
import sys

NVRTC_SONAME = "libnvrtc.so.13"  # the SONAME the extension was linked against (CUDA 13)


def _candidate_paths():
    roots = [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"]
    for root in filter(None, roots):
        yield os.path.join(root, "lib64", NVRTC_SONAME)
        yield os.path.join(root, "lib", NVRTC_SONAME)
    for entry in sys.path:
        yield from sorted(glob.glob(os.path.join(entry, "nvidia", "*", "lib", NVRTC_SONAME)))
        yield from sorted(glob.glob(os.path.join(entry, "nvidia", "*", "*", "lib", NVRTC_SONAME)))


def _preload_nvrtc():
    """Loads NVRTC globally so the extension's DT_NEEDED entry resolves to it; returns the paths tried."""
    tried = []
    for path in _candidate_paths():
        if os.path.exists(path):
            tried.append(path)
            try:
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
                return tried
            except OSError:
                continue
    return tried


def load_core():
    try:
        from . import _core
    except ImportError as error:
        if NVRTC_SONAME not in str(error):
            raise
        tried = _preload_nvrtc()
        try:
            from . import _core
        except ImportError as second:
            raise ImportError(
                f"marlin_jit needs NVRTC ({NVRTC_SONAME}, CUDA 13): not found by the dynamic loader nor in "
                f"{tried or 'CUDA_HOME, /usr/local/cuda or the nvidia-* wheels'}; add its folder to "
                f"LD_LIBRARY_PATH"
            ) from second
    return _core
