"""marlin_jit's exceptions: one hierarchy mirroring the C++ library's (marlin_jit/error.hpp).

Every error the package raises derives from Error. The C++ extension raises these classes with the typed fields
of the C++ exception set as attributes (see src/errors.cpp).
"""


class Error(RuntimeError):
    """Base of every marlin_jit error."""


class ConfigError(Error, ValueError):
    """Refused before any work. ``rule`` names the rule (e.g. ``sm_range``, ``quant_group_size``,
    ``tensor_device``), ``value`` the offending value and ``allowed`` what the rule accepts."""

    rule: str = ""
    value: str = ""
    allowed: str = ""


class CompileError(Error):
    """NVRTC failed. ``log`` holds its whole log (file(line) prefixes name templates/... paths); also
    ``nvrtc_result``, ``options``, ``entry_name``, ``key_hex``, ``headers``."""

    log: str = ""
    nvrtc_result: int = 0
    options: list = []
    entry_name: str = ""
    key_hex: str = ""
    headers: list = []


class DriverError(Error):
    """libcuda missing or a cu* call failed: ``call`` (e.g. ``cuModuleLoadData``), ``cu_result``,
    ``cu_error_name``."""

    call: str = ""
    cu_result: int = 0
    cu_error_name: str = ""


class CacheError(Error):
    """Explicit cache commands only; the get-or-compile path treats cache damage as a miss."""


class InternalError(Error):
    """A broken invariant inside the library."""


def config_error(rule, value, allowed, subject):
    """A ConfigError raised from Python, worded like the library's: "<value> not allowed for <subject>: allowed
    <allowed> (rule <rule>)"."""
    error = ConfigError(f"{value} not allowed for {subject}: allowed {allowed} (rule {rule})")
    error.rule, error.value, error.allowed = rule, str(value), allowed
    return error
