"""marlin_jit.precompile warms a cache folder like `marlin-jit precompile`: real NVRTC compiles into a temporary
cache, counts like the CLI's, the progress callback called once per spec; a second run finds everything cached."""

import pytest

import marlin_jit

PREP_SM90 = dict(arch="sm_90", kind="prep")


def test_precompile_compiles_keeps_and_reports_progress(runtime):
    calls = []
    report = marlin_jit.precompile(**PREP_SM90, runtime=runtime, jobs=2,
                                   progress=lambda done, total, spec, outcome: calls.append((done, total, spec,
                                                                                              outcome)))
    specs = marlin_jit.catalog_specs(**PREP_SM90)
    assert report.ok and report.specs == len(specs) > 0
    assert (report.compiled, report.kept, report.cached, report.failed, report.not_kept) == (len(specs),) * 2 + (0,) * 3
    assert [done for done, *_ in calls] == list(range(1, len(specs) + 1))
    assert all(total == len(specs) and outcome == "compiled" for _, total, _, outcome in calls)
    assert sorted(spec for _, _, spec, _ in calls) == sorted(specs)
    assert f"compiled {len(specs)}" in str(report)
    assert all(runtime.lookup(spec) for spec in specs)


def test_second_precompile_finds_everything_cached(runtime, tmp_path):
    marlin_jit.precompile(**PREP_SM90, runtime=runtime)
    fresh = marlin_jit.Runtime(cache_dir=runtime.cache_dir, read_only_cache_dirs=[tmp_path / "none"])
    outcomes = []
    report = marlin_jit.precompile(**PREP_SM90, runtime=fresh, progress=lambda *args: outcomes.append(args[3]))
    assert report.ok and report.cached == report.specs and report.compiled == 0
    assert set(outcomes) == {"cached"}
    assert fresh.cache_statistics()["compiles"] == 0


def test_a_read_only_prebuilt_cache_serves_a_new_folder(runtime, tmp_path):
    marlin_jit.precompile(**PREP_SM90, runtime=runtime)
    layered = marlin_jit.Runtime(cache_dir=tmp_path / "empty", read_only_cache_dirs=[runtime.cache_dir])
    report = marlin_jit.precompile(**PREP_SM90, runtime=layered)
    assert report.cached == report.specs and report.compiled == 0


def test_precompile_refuses_an_unsupported_arch_before_compiling(runtime):
    with pytest.raises(marlin_jit.ConfigError) as caught:
        marlin_jit.precompile(arch="sm_75", runtime=runtime)
    assert caught.value.rule == "sm_range"
    assert runtime.cache_statistics()["compiles"] == 0


def test_compile_reports_one_spec(runtime):
    spec = "prep/nvfp4/scales/sm_80"
    result = runtime.compile(spec)
    assert result["source"] == "compiled" and result["kept"] and len(result["key"]) == 32
    assert result["key"] == runtime.key_hex(spec)
    assert runtime.compile(spec)["source"] == "memory"


def test_compile_refuses_a_malformed_spec(runtime):
    with pytest.raises(marlin_jit.ConfigError) as caught:
        runtime.compile("dense/nvfp4/bf16/g16/sm_90/nonsense")
    assert caught.value.rule == "spec_grammar"
