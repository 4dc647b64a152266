"""One default worker count: the cores this process may use, for every local pool."""

from __future__ import annotations

import os

import pytest

from lode_bench.metrics.scoring import default_jobs
from lode_bench.parallel import LocalExecutor
from lode_bench.parallel.workers import default_workers


def test_pools_default_to_the_usable_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 3}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert default_workers() == 2
    assert LocalExecutor(kind="thread").workers == 2
    assert default_jobs() == 2
    assert (
        LocalExecutor(5, kind="thread").workers == 5 and LocalExecutor(kind="serial").workers == 1
    )


def test_many_cores_metric_threads_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(32)), raising=False)
    assert default_workers() == 32 and LocalExecutor(kind="thread").workers == 32
    assert default_jobs() == 8
