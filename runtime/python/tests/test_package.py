"""The package imports without a GPU, reports the C++ library's version, and maps the library's exceptions onto
its own hierarchy with the typed fields as attributes."""

import pathlib
import re

import pytest

import marlin_jit

ROOT_CMAKELISTS = pathlib.Path(__file__).resolve().parents[3] / "CMakeLists.txt"


def test_version_is_the_cpp_librarys():
    if not ROOT_CMAKELISTS.exists():
        pytest.skip("not run from a checkout")
    declared = re.search(r"project\(marlin_jit VERSION ([0-9.]+)", ROOT_CMAKELISTS.read_text()).group(1)
    assert marlin_jit.__version__ == declared


def test_installed_distribution_carries_the_same_version():
    from importlib.metadata import PackageNotFoundError, version

    try:
        assert version("marlin_jit") == marlin_jit.__version__
    except PackageNotFoundError:
        pytest.skip("marlin_jit is not installed as a distribution")


def test_nvrtc_version_is_cuda_13():
    assert marlin_jit.nvrtc_version().startswith("13.")


def test_every_error_class_is_a_marlin_jit_error():
    for cls in (marlin_jit.ConfigError, marlin_jit.CompileError, marlin_jit.DriverError, marlin_jit.CacheError,
                marlin_jit.InternalError):
        assert issubclass(cls, marlin_jit.Error)
    assert issubclass(marlin_jit.ConfigError, ValueError)  # bad input is a ValueError too


def test_config_error_carries_rule_value_and_allowed():
    with pytest.raises(marlin_jit.ConfigError) as caught:
        marlin_jit.check(arch="sm_100")
    assert caught.value.rule == "sm_range"
    assert caught.value.value == "sm_100"
    assert "sm_90" in caught.value.allowed
    assert "rule sm_range" in str(caught.value)


def test_missing_driver_is_a_driver_error():
    if marlin_jit.driver_available():
        pytest.skip("a CUDA driver is present")
    with pytest.raises(marlin_jit.DriverError) as caught:
        marlin_jit.list_devices()
    assert caught.value.call  # names the failing step (dlopen or a cu* call)


def test_devices_are_listed_with_a_driver():
    if not marlin_jit.driver_available():
        pytest.skip("no CUDA driver")
    devices = marlin_jit.list_devices()
    assert devices and all(device["sm"] >= 50 for device in devices)


def test_log_level_names_are_checked():
    marlin_jit.set_log_level("warn")
    with pytest.raises(marlin_jit.ConfigError) as caught:
        marlin_jit.set_log_level("loud")
    assert caught.value.rule == "log_level"


def test_default_runtime_is_one_per_process_and_replaceable(tmp_path):
    first = marlin_jit.default_runtime()
    assert marlin_jit.default_runtime() is first
    mine = marlin_jit.Runtime(cache_dir=tmp_path)
    marlin_jit.set_default_runtime(mine)
    try:
        assert marlin_jit.default_runtime() is mine
    finally:
        marlin_jit.set_default_runtime(first)
    with pytest.raises(TypeError):
        marlin_jit.set_default_runtime("not a runtime")


def test_runtime_options_are_kept(tmp_path):
    runtime = marlin_jit.Runtime(cache_dir=tmp_path / "c", read_only_cache_dirs=tmp_path / "ro",
                                 cache_max_bytes=1 << 20)
    assert runtime.cache_dir == str(tmp_path / "c")
    assert runtime.read_only_cache_dirs == [str(tmp_path / "ro")]
    assert runtime.template_dir is None
    assert runtime.cache_statistics()["max_bytes"] == 1 << 20
