"""Benchmark runs: work units, executors, the runner, suites and the results store.

Example:
    Run the identity baseline on a built-in dataset, then read its rows back:

    >>> import tempfile
    >>> from pathlib import Path
    >>> from lode_bench.bench import ResultsStore, run_benchmark
    >>> from lode_bench.synth import build_builtin_dataset
    >>> tmp = tempfile.TemporaryDirectory()
    >>> data, store = Path(tmp.name, "data"), Path(tmp.name, "results.sqlite")
    >>> _ = build_builtin_dataset(data, kind="global", n_samples=2, size=(64, 96))
    >>> run_benchmark("identity", str(data), "gopro", store, progress=False).n_ok
    2
    >>> with ResultsStore(store) as st:
    ...     rows = st.results_frame()
    >>> rows[["image_id", "status"]].values.tolist()
    [['global_0000', 'ok'], ['global_0001', 'ok']]
    >>> tmp.cleanup()
"""

from lode_bench.bench.runner import RunSummary, run_benchmark
from lode_bench.bench.store import ResultRow, ResultsStore
from lode_bench.bench.suite import Suite, SuiteRun, load_suite, run_suite
from lode_bench.parallel.choice import make_executor
from lode_bench.parallel.executor import Executor, LocalExecutor

__all__ = [
    "Executor",
    "LocalExecutor",
    "ResultRow",
    "ResultsStore",
    "RunSummary",
    "Suite",
    "SuiteRun",
    "load_suite",
    "make_executor",
    "run_benchmark",
    "run_suite",
]
