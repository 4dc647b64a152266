"""The default number of parallel workers: the CPU cores this process may run on."""

from __future__ import annotations

import os


def default_workers() -> int:
    """Usable CPU cores (the process's affinity mask where the OS has one), at least 1.

    Every local pool (executors, metric threads) defaults to this, so a job confined
    to a few cores (``taskset``, a container's cpuset) never starts a worker per host core.
    """
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS/Windows
        n = os.cpu_count() or 1
    return max(1, n)
