"""Warms a cache with every catalog kernel for some axes, like `marlin-jit precompile`: kernels already cached
are counted without compiling; the rest compile on a pool of threads (compile releases the GIL). The progress
callback runs on the calling thread, once per spec."""

import os
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from ._errors import Error
from .rules import catalog_specs
from .runtime import default_runtime


@dataclass
class PrecompileReport:
    """compiled + cached + failed == specs; of the compiled, ``not_kept`` were not written to the cache folder (a
    read-only or full folder): the process has them in memory, the next process compiles them again."""

    specs: int = 0
    compiled: int = 0
    kept: int = 0
    not_kept: int = 0
    cached: int = 0
    failed: int = 0
    seconds: float = 0.0
    jobs: int = 0
    cache_dir: str = ""
    failures: list = field(default_factory=list)  # (spec, first line of the error)
    not_kept_specs: list = field(default_factory=list)

    @property
    def ok(self):
        """Every spec is in the cache folder now."""
        return self.failed == 0 and self.not_kept == 0

    def __str__(self):
        return (f"precompile: {self.specs} specs: compiled {self.compiled} (kept {self.kept}, not kept "
                f"{self.not_kept}), cached {self.cached}, failed {self.failed} in {self.seconds:.1f} s "
                f"({self.jobs} jobs)")


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def precompile(arch=None, dtype=None, kind=None, quant=None, *, runtime=None, jobs=None, progress=None):
    """Compiles every catalog spec for the axes (see catalog_specs) that is not cached yet; returns a
    PrecompileReport (``report.ok`` says whether everything is in the cache folder). ``progress(done, total,
    spec, outcome)`` is called for each spec, outcome "cached", "compiled" or "failed". jobs: threads (default
    one per core). Needs no GPU."""
    start = time.monotonic()
    runtime = runtime or default_runtime()
    specs = catalog_specs(arch=arch, dtype=dtype, quant=quant, kind=kind)
    report = PrecompileReport(specs=len(specs), cache_dir=runtime.cache_dir)
    done = 0

    def tell(spec, outcome):
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, len(specs), spec, outcome)

    missing = []
    for spec in specs:
        if runtime.lookup(spec):
            report.cached += 1
            tell(spec, "cached")
        else:
            missing.append(spec)
    report.jobs = max(1, min(jobs or os.cpu_count() or 1, len(missing)))
    with ThreadPoolExecutor(max_workers=report.jobs) as pool:
        futures = {pool.submit(runtime.compile, spec): spec for spec in missing}
        for future in as_completed(futures):
            spec = futures[future]
            try:
                result = future.result()
            except Error as error:
                report.failed += 1
                report.failures.append((spec, _first_line(error)))
                tell(spec, "failed")
                continue
            if result["source"] == "compiled":
                report.compiled += 1
                report.kept += result["kept"]
            else:
                report.cached += 1
            if not result["kept"]:
                report.not_kept += 1
                report.not_kept_specs.append(spec)
            tell(spec, "compiled" if result["source"] == "compiled" else "cached")
    report.seconds = time.monotonic() - start
    return report
