"""The JIT runtime: cache folders, compile and lookup of kernel specs, cache statistics; one default per process.

A Runtime compiles kernel templates through NVRTC into a content-keyed disk cache and keeps loaded kernels in
memory. Several may live side by side (different cache folders). Layers keep the runtime they were prepared with
alive. Every method is thread-safe; compile() releases the GIL, so threads compile in parallel.
"""

import os
import threading

from ._loader import load_core

_core = load_core()


def _path_or_none(path):
    return None if path is None else os.fspath(path)


class Runtime:
    """``Runtime(cache_dir=None, read_only_cache_dirs=(), template_dir=None, cache_max_bytes=None)``.

    Unset arguments fall back to the environment, as in C++: MARLIN_JIT_CACHE_DIR (else ~/.cache/marlin-jit),
    MARLIN_JIT_CACHE_READONLY_DIRS (':'-separated, searched after cache_dir, never written),
    MARLIN_JIT_TEMPLATE_DIR (else the templates embedded in the library), MARLIN_JIT_CACHE_MAX_BYTES (else 2 GiB).
    """

    def __init__(self, cache_dir=None, read_only_cache_dirs=(), template_dir=None, cache_max_bytes=None):
        if isinstance(read_only_cache_dirs, (str, bytes, os.PathLike)):
            read_only_cache_dirs = [read_only_cache_dirs]
        self._core = _core.Runtime(
            _path_or_none(cache_dir),
            [os.fspath(path) for path in read_only_cache_dirs],
            _path_or_none(template_dir),
            cache_max_bytes,
        )

    @property
    def cache_dir(self):
        return self._core.cache_dir

    @property
    def read_only_cache_dirs(self):
        return self._core.read_only_cache_dirs

    @property
    def template_dir(self):
        """The override template folder in use, or None for the embedded templates."""
        return self._core.template_dir

    def compile(self, spec):
        """Compiles (or finds) one kernel spec, e.g. ``dense/nvfp4/bf16/g16/sm_90/t256m1n8k8s4``; needs no GPU.
        Returns a dict: spec, key, source (compiled, disk or memory), kept (in the cache folder now), seconds,
        compile_seconds, registers, shared_bytes, spill_bytes, cubin_bytes, lowered_name."""
        return self._core.compile(spec)

    def lookup(self, spec):
        """True when the spec's cubin is in memory or in a cache folder; never compiles."""
        return self._core.lookup(spec)

    def key_hex(self, spec):
        """The spec's cache key (32 hex digits); compiles nothing."""
        return self._core.key_hex(spec)

    def cache_statistics(self):
        """memory_hits, disk_hits, compiles, compile_seconds (this runtime's calls), damaged_entries, entries,
        bytes, max_bytes, directory, writable."""
        return self._core.cache_statistics()

    def __repr__(self):
        return f"marlin_jit.Runtime(cache_dir={self.cache_dir!r})"


_default = None
_default_lock = threading.Lock()


def default_runtime():
    """The process's default Runtime, created on first use from the environment (see Runtime)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Runtime()
        return _default


def set_default_runtime(runtime):
    """Makes ``runtime`` the default for layers and precompile calls that name none."""
    global _default
    if not isinstance(runtime, Runtime):
        raise TypeError(f"expected a marlin_jit.Runtime, got {type(runtime).__name__}")
    with _default_lock:
        _default = runtime
