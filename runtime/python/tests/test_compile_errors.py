"""An NVRTC failure surfaces as marlin_jit.CompileError carrying the whole log, the options and the headers; it
is produced for real, from a copy of the templates with one header broken (MARLIN_JIT_TEMPLATE_DIR's mechanism)."""

import pathlib
import shutil

import pytest

import marlin_jit

TEMPLATES = pathlib.Path(__file__).resolve().parents[3] / "templates"


@pytest.fixture
def broken_templates(tmp_path):
    if not (TEMPLATES / "marlin_jit").is_dir():
        pytest.skip("not run from a checkout (templates/ missing)")
    copy = tmp_path / "templates"
    shutil.copytree(TEMPLATES, copy)
    header = copy / "marlin_jit" / "prep" / "e4m3.cuh"
    header.write_text(header.read_text() + "\nthis_is_not_cuda marlin_jit_python_test;\n")
    return copy


def test_compile_error_carries_the_nvrtc_log(tmp_path, broken_templates):
    runtime = marlin_jit.Runtime(cache_dir=tmp_path / "cache", template_dir=broken_templates)
    assert runtime.template_dir == str(broken_templates)
    with pytest.raises(marlin_jit.CompileError) as caught:
        runtime.compile("prep/nvfp4/scales/sm_90")
    error = caught.value
    assert isinstance(error, marlin_jit.Error)
    assert "this_is_not_cuda" in error.log
    assert "marlin_jit/prep/e4m3.cuh" in error.log  # file(line) prefixes name the template
    assert "marlin_jit/prep/e4m3.cuh" in error.headers
    assert any(option.startswith("--gpu-architecture") or "sm_90" in option for option in error.options)
    assert len(error.key_hex) == 32 and error.entry_name


def test_precompile_counts_failures_instead_of_raising(tmp_path, broken_templates):
    runtime = marlin_jit.Runtime(cache_dir=tmp_path / "cache", template_dir=broken_templates)
    report = marlin_jit.precompile(arch="sm_90", kind="prep", runtime=runtime, jobs=2)
    assert report.failed > 0 and not report.ok
    assert all("e4m3.cuh" in message or "error" in message for _, message in report.failures)
