"""Executors: where work units run.

An :class:`Executor` maps a function over items and yields ``(item, result)`` pairs as
they finish (in any order); a failure comes back as the exception instead of the result,
so one bad item never stops the others. Items and results must be picklable plain data,
which lets other executors (for example a Ray cluster) replace the local pool.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from concurrent.futures import Executor as _FuturesExecutor
from itertools import islice
from typing import Any, Literal, TypeVar

from lode_bench.errors import ConfigError, LodeBenchError
from lode_bench.parallel.workers import default_workers

#: Modules a process pool's fork server imports once before forking workers (callers add their own).
PRELOAD: tuple[str, ...] = ("numpy", "scipy.ndimage", "skimage.metrics", "cv2")

T = TypeVar("T")
S = TypeVar("S")
R = TypeVar("R")


class SetupError(LodeBenchError):
    """The state of :meth:`Executor.map_stateful` (e.g. a model) could not be built on a worker."""


class Executor(ABC):
    """Runs work units; see :meth:`map_unordered` and :meth:`map_stateful`.

    Attributes:
        workers: parallel slots (pool size, or CPUs of a cluster).
        hosts_models: True when :meth:`map_stateful` places its state (a loaded model) on
            remote workers, one per GPU or CPU slot; the runner then sends device models
            there instead of running them in the driver.
        retried: items resubmitted so far because the worker running them was lost
            (a killed process, a dead node); failures raised by the function itself are
            never retried.
    """

    workers: int = 1
    hosts_models: bool = False
    retried: int = 0

    @abstractmethod
    def map_unordered(
        self, fn: Callable[[T], R], items: Iterable[T], *, max_in_flight: int | None = None
    ) -> Iterator[tuple[T, R | BaseException]]:
        """Apply ``fn`` to every item; yield ``(item, result or exception)`` as each finishes.

        ``items`` is consumed lazily: at most ``max_in_flight`` items are pending at once, so
        a generator that does expensive work per item (model inference) overlaps with the
        execution of earlier items.
        """

    def map_stateful(
        self,
        setup: Callable[[], S],
        fn: Callable[[S, T], R],
        items: Iterable[T],
        *,
        max_in_flight: int | None = None,
        num_gpus: float = 0.0,
        num_cpus: float = 1.0,
    ) -> Iterator[tuple[T, R | BaseException]]:
        """Like :meth:`map_unordered`, for work that needs expensive state (a loaded model).

        Each worker calls ``setup()`` once and then ``fn(state, item)`` per item. This
        default builds the state once in this process and runs the items one by one (a
        device model in the driver); remote executors override it with one long-lived
        worker per ``num_gpus`` GPUs (or ``num_cpus`` CPUs on CPU-only clusters).

        Yields:
            ``(item, result or exception)``; when ``setup()`` fails, the items it would
            have run come back with a :class:`SetupError`.
        """
        try:
            state = setup()
        except Exception as exc:  # noqa: BLE001 - reported per item
            err = SetupError(f"worker setup failed: {type(exc).__name__}: {exc}")
            for item in items:
                yield item, err
            return
        for item in items:
            try:
                yield item, fn(state, item)
            except Exception as exc:  # noqa: BLE001 - reported to the caller
                yield item, exc

    def model_gpus(self, device: str = "auto") -> float:
        """GPUs per hosted model for a run on ``device`` (executors that host models override it)."""
        return 0.0

    def close(self) -> None:  # noqa: B027
        """Release workers."""

    def describe(self) -> dict[str, Any]:
        return {"executor": type(self).__name__, "workers": self.workers}

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _limit_worker_threads() -> None:
    """Worker initialiser: one BLAS/OpenCV thread per process (the pool gives parallelism)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    try:
        import cv2

        cv2.setNumThreads(1)
    except Exception:  # noqa: BLE001 - optional
        pass
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


class LocalExecutor(Executor):
    """A local pool of threads (default), processes, or in-process serial execution.

    Threads suit scoring: the metric code (OpenCV filters) releases the GIL, and threads
    start instantly and share memory. Processes suit work units that hold the GIL; they
    start from a fork server that imports the scoring stack once (scripts that use them
    need the usual ``if __name__ == "__main__":`` guard).

    Args:
        workers: pool size (default: :func:`~lode_bench.parallel.workers.default_workers`).
        kind: ``"thread"``, ``"process"`` or ``"serial"``.
        preload: further modules the process pool's fork server imports once (for
            example the work function's module), on top of :data:`PRELOAD`.
    """

    def __init__(
        self,
        workers: int | None = None,
        kind: Literal["process", "thread", "serial"] = "thread",
        *,
        preload: tuple[str, ...] = (),
    ) -> None:
        self.preload = tuple(preload)
        if kind not in ("process", "thread", "serial"):
            raise ConfigError(f"executor kind must be process, thread or serial, not {kind!r}")
        self.kind = kind
        self.workers = 1 if kind == "serial" else max(1, workers or default_workers())
        self._pool: _FuturesExecutor | None = None

    def _get_pool(self) -> _FuturesExecutor:
        if self._pool is None:
            if self.kind == "thread":
                self._pool = ThreadPoolExecutor(self.workers)
            else:
                method = "forkserver" if sys.platform.startswith("linux") else "spawn"
                ctx = multiprocessing.get_context(method)
                if (
                    method == "forkserver"
                ):  # import the scoring stack once, then fork workers from it
                    ctx.set_forkserver_preload([*PRELOAD, *self.preload])
                self._pool = ProcessPoolExecutor(
                    self.workers, mp_context=ctx, initializer=_limit_worker_threads
                )
        return self._pool

    def map_unordered(
        self, fn: Callable[[T], R], items: Iterable[T], *, max_in_flight: int | None = None
    ) -> Iterator[tuple[T, R | BaseException]]:
        if self.kind == "serial":
            for item in items:
                try:
                    yield item, fn(item)
                except Exception as exc:  # noqa: BLE001 - reported to the caller
                    yield item, exc
            return
        pool = self._get_pool()
        limit = max_in_flight or 2 * self.workers
        it = iter(items)
        pending: dict[Future[R], T] = {}
        while True:
            for item in islice(it, limit - len(pending)):
                pending[pool.submit(fn, item)] = item
            if not pending:
                return
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in done:
                item = pending.pop(fut)
                err = fut.exception()
                yield (item, err) if err is not None else (item, fut.result())

    def describe(self) -> dict[str, Any]:
        return {"executor": f"local-{self.kind}", "workers": self.workers}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
