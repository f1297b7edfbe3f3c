"""The dispatcher's rules (check) and the kernel catalog (catalog_specs), without compiling or touching a GPU."""

from ._errors import ConfigError, config_error
from .runtime import _core

_DEFAULT_GROUP = {"nvfp4": 16, "mxfp4": 32}


def sm_of(arch):
    """90 for 90, "90", "sm_90" or "sm90"; a ConfigError (rule spec_grammar) for anything else."""
    if isinstance(arch, bool):
        raise config_error("spec_grammar", arch, "sm_<NN> or an integer", "an architecture")
    if isinstance(arch, int):
        return arch
    text = str(arch)
    digits = text[3:] if text.startswith("sm_") else text[2:] if text.startswith("sm") else text
    if not digits.isdigit() or len(digits) > 4:
        raise config_error("spec_grammar", repr(text), "sm_<NN> or an integer, e.g. sm_90", "an architecture")
    return int(digits)


def as_list(value):
    """None -> [], "a,b" -> ["a", "b"], a scalar -> [it], an iterable -> list."""
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(",")]
    if isinstance(value, int):
        return [value]
    return list(value)


def check(*, arch="sm_90", quant="nvfp4", dtype="bf16", group_size=None, kind="dense", m=None, n=None, k=None,
          activation="silu_gated", hidden=None, intermediate=None, experts=None, topk=None):
    """Runs the dispatcher's rules on one configuration; returns None when supported, raises ConfigError (with
    ``.rule``, ``.value``, ``.allowed``) naming the first rule that refuses it. Compiles nothing, needs no GPU.

    kind "dense" uses m, n, k; kind "moe" uses m, experts, topk, hidden, intermediate and activation
    (silu_gated or relu2). group_size defaults to the quant type's own (16 for nvfp4, 32 for mxfp4)."""
    if group_size is None:
        group_size = _DEFAULT_GROUP.get(quant, -1)
    _core.check(kind, quant, dtype, group_size, sm_of(arch), m, n, k, activation, hidden, intermediate, experts,
                topk)


def is_supported(**problem):
    """check(**problem) as a bool."""
    try:
        check(**problem)
    except ConfigError:
        return False
    return True


def catalog_specs(arch=None, dtype=None, quant=None, kind=None):
    """Every kernel spec the dispatcher can pick for the axes given (None: all), as spec strings: what
    precompile warms. Each axis takes one value, a comma-separated string or a list. An unsupported arch is
    refused (ConfigError sm_range), not skipped."""
    return _core.catalog_specs([sm_of(a) for a in as_list(arch)], as_list(dtype), as_list(quant), as_list(kind))
