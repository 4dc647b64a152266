"""Benchmark runs: work units, executors, the runner, suites and the results store.

Example:
    >>> from lode_bench.bench import run_benchmark  # doctest: +SKIP
    >>> s = run_benchmark("identity", "gopro:/data/GOPRO_Large", "gopro", "results.sqlite")  # doctest: +SKIP
    >>> s.means["PSNR"]  # doctest: +SKIP
"""

from lode_bench.bench.runner import RunSummary, run_benchmark
from lode_bench.bench.store import ResultRow, ResultsStore
from lode_bench.bench.suite import Suite, SuiteRun, load_suite, run_suite
from lode_bench.parallel.choice import make_executor
from lode_bench.parallel.executor import Executor, LocalExecutor

__all__ = ["Executor", "LocalExecutor", "ResultRow", "ResultsStore", "RunSummary", "Suite", "SuiteRun",
           "load_suite", "make_executor", "run_benchmark", "run_suite"]
