"""marlin_jit.check runs the dispatcher's rules: accepted configurations return, refused ones raise ConfigError
naming the rule and the value (the same rules as `marlin-jit check`)."""

import pytest

import marlin_jit


@pytest.mark.parametrize("problem", [
    dict(arch="sm_90", m=1, n=4096, k=4096),
    dict(arch=80, dtype="fp16", m=7, n=200, k=336),
    dict(arch="sm_89", dtype="fp16", m=300, n=1, k=16),
    dict(arch="sm_90", kind="moe", m=5, experts=8, topk=2, hidden=512, intermediate=464, activation="relu2"),
])
def test_supported_configurations_pass(problem):
    assert marlin_jit.check(**problem) is None
    assert marlin_jit.is_supported(**problem)


@pytest.mark.parametrize("problem, rule, value", [
    (dict(arch="sm_75"), "sm_range", "sm_75"),
    (dict(arch="sm_100"), "sm_range", "sm_100"),
    (dict(group_size=32), "quant_group_size", "32"),
    (dict(quant="mxfp4", dtype="fp16"), "quant_dtype", "fp16"),
    (dict(m=0, n=64, k=64), "shape_positive", "m=0"),
    (dict(n=64, k=40), "k_multiple_of_group", "k=40"),
    (dict(n=1 << 31, k=64), "shape_range", f"n={1 << 31}"),
    (dict(quant="uint4b8", group_size=128), "quant_kernel_available", None),
    (dict(kind="moe", m=1, experts=8, topk=9, hidden=64, intermediate=64), "moe_topk", "9"),
    (dict(kind="moe", m=1, experts=2000, topk=1, hidden=64, intermediate=64), "moe_experts", "2000"),
    (dict(dtype="fp32"), "spec_grammar", "fp32"),
    (dict(arch="hopper"), "spec_grammar", None),
])
def test_refused_configurations_name_the_rule(problem, rule, value):
    with pytest.raises(marlin_jit.ConfigError) as caught:
        marlin_jit.check(**problem)
    assert caught.value.rule == rule
    if value is not None:
        assert caught.value.value == value
    assert not marlin_jit.is_supported(**problem)


def test_catalog_lists_specs_per_axis():
    dense = marlin_jit.catalog_specs(arch="sm_90", dtype="bf16", kind="dense")
    assert dense and all(spec.startswith("dense/nvfp4/bf16/g16/sm_90/") for spec in dense)
    both = marlin_jit.catalog_specs(arch="sm_80,sm_90", kind=["prep"])
    assert {spec.rsplit("/", 1)[1] for spec in both} == {"sm_80", "sm_90"}
    assert len(marlin_jit.catalog_specs()) > len(dense)


def test_catalog_refuses_an_unsupported_arch():
    with pytest.raises(marlin_jit.ConfigError) as caught:
        marlin_jit.catalog_specs(arch="sm_75")
    assert caught.value.rule == "sm_range"
