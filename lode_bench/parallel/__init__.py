"""Where work runs: a local pool (threads, processes, serial) or a Ray cluster.

The ground floor beside :mod:`lode_bench.io`: ``synth``, ``align``, ``analyze`` and
``bench`` all map their work units through an :class:`Executor` from here, and nothing in
this package imports those stages.

Example:
    >>> from lode_bench.parallel import make_executor
    >>> with make_executor("serial") as ex:
    ...     sorted(r for _, r in ex.map_unordered(abs, [-2, 1, -3]))
    [1, 2, 3]
"""

from lode_bench.parallel.choice import EXECUTOR_NAMES, make_executor
from lode_bench.parallel.executor import Executor, LocalExecutor, SetupError

__all__ = ["EXECUTOR_NAMES", "Executor", "LocalExecutor", "SetupError", "make_executor"]
