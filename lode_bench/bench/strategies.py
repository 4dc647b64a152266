"""The three ways a loaded model runs over a dataset, chosen from its declared contract.

* :class:`WorkerStrategy`: a pure-function model (``runs_in_driver`` False) runs inside
  the executor's workers, next to the scoring. In-process pools (threads, serial) share
  the driver's one copy; process pools and clusters rebuild it once per worker from its
  :class:`~lode_bench.models.loader.ModelSpec`.
* :class:`DriverStrategy`: a model that holds a device or per-run state runs in this
  process, one image at a time, with the next images read ahead by a thread; its outputs
  are quantised per protocol and scored by the executor.
* :class:`HostedStrategy`: a ``hostable`` driver model on an executor that hosts models
  (Ray) runs in long-lived workers, one per GPU (or CPU slot), each loading it once.

:func:`choose_strategy` reads only :class:`~lode_bench.models.base.Deblurrer`'s contract
attributes and :attr:`~lode_bench.parallel.executor.Executor.hosts_models`.
"""

from __future__ import annotations

import functools
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lode_bench.bench.progress import RunProgress
from lode_bench.bench.settings import RunSettings
from lode_bench.bench.units import (
    ModelHost,
    WorkUnit,
    check_prediction,
    describe_error,
    error_detail,
    execute_hosted_unit,
    execute_unit,
)
from lode_bench.datasets.types import Sample
from lode_bench.io import read_image, safe_join
from lode_bench.metrics.protocols import Protocol
from lode_bench.models.adapters import FolderDeblurrer
from lode_bench.models.base import Deblurrer
from lode_bench.models.loader import ModelSpec
from lode_bench.parallel.executor import Executor, LocalExecutor

#: ``(unit, row or exception)`` pairs, as executors yield them.
Results = Iterator[tuple[WorkUnit, Any]]


@dataclass
class RunContext:
    """What a strategy needs to run one model over the images still to do.

    Attributes:
        spec: what the model is (workers rebuild it from this).
        model: the driver's one loaded copy.
        todo: samples to run, in order.
        protocol: the protocol.
        base: ``model_label``, ``dataset``, ``dataset_hash``, ``run_id`` of every unit.
        save_dir: where output PNGs go, or ``None``.
        settings: the run's settings.
        executor: where scoring (and worker models) run.
        progress: stage lines.
    """

    spec: ModelSpec
    model: Deblurrer
    todo: list[Sample]
    protocol: Protocol
    base: dict[str, Any]
    save_dir: Path | None
    settings: RunSettings
    executor: Executor
    progress: RunProgress

    def save_path(self, s: Sample) -> str | None:
        return str(safe_join(self.save_dir, s.id + ".png")) if self.save_dir is not None else None

    def unit(self, s: Sample, *, with_spec: bool) -> WorkUnit:
        return WorkUnit(
            sample=s,
            protocol=self.protocol,
            model=self.spec if with_spec else None,
            save_path=self.save_path(s),
            allow_grey=self.settings.allow_grey,
            mask_threshold=self.settings.mask_threshold,
            **self.base,
        )


class Strategy(ABC):
    """One execution path."""

    name: str = ""

    def setup(self, ctx: RunContext) -> None:  # noqa: B027
        """Work before the first image (whole-dataset preparation, warm-up)."""

    @abstractmethod
    def results(self, ctx: RunContext) -> Results:
        """Run every sample of ``ctx.todo``; yield ``(unit, row or exception)``."""

    def provenance(self, ctx: RunContext) -> dict[str, Any]:
        """Device, precision and tiling of the run (default: the model's own)."""
        return ctx.model.provenance()

    def close(self) -> None:  # noqa: B027
        """Release what :meth:`setup` made."""


def load_device(executor: Executor, device: str) -> str:
    """Device of the driver's copy: the CPU when the executor hosts models on its workers
    (that copy then only validates the checkpoint and counts parameters and FLOPs)."""
    return "cpu" if executor.hosts_models else device


def choose_strategy(model: Deblurrer, executor: Executor) -> Strategy:
    """The execution path for ``model`` on ``executor`` (see the module docstring)."""
    if not model.runs_in_driver:
        return WorkerStrategy()
    if model.hostable and executor.hosts_models:
        return HostedStrategy(executor, model)
    return DriverStrategy()


class WorkerStrategy(Strategy):
    """Pure-function models run next to the scoring."""

    name = "worker"

    def results(self, ctx: RunContext) -> Results:
        ex = ctx.executor
        if isinstance(ex, LocalExecutor) and ex.kind in (
            "thread",
            "serial",
        ):  # same process: share the copy
            fn = functools.partial(execute_unit, model=ctx.model)
            return ex.map_unordered(fn, (ctx.unit(s, with_spec=False) for s in ctx.todo))
        return ex.map_unordered(execute_unit, (ctx.unit(s, with_spec=True) for s in ctx.todo))


class DriverStrategy(Strategy):
    """The model runs in this process; the executor scores its quantised outputs."""

    name = "driver"

    def __init__(self) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def setup(self, ctx: RunContext) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="lode-bench-")
        ctx.model.bind_protocol(ctx.protocol)
        ctx.model.prepare_dataset(ctx.todo, Path(self._tmp.name))
        n = ctx.settings.warmup
        if n and ctx.todo and ctx.model.benefits_from_warmup:
            ctx.progress.stage(
                f"warm-up ({n} untimed pass{'es' if n > 1 else ''} on {ctx.todo[0].id})"
            )
            warm_up(ctx.model, ctx.todo[0], n)

    def results(self, ctx: RunContext) -> Results:
        return ctx.executor.map_unordered(execute_unit, driver_units(ctx))

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


class HostedStrategy(Strategy):
    """One worker per GPU (or CPU slot) loads the model once and runs and scores its images."""

    name = "hosted"

    def __init__(self, executor: Executor, model: Deblurrer) -> None:
        self._executor = executor
        self._driver_prov = model.provenance()
        self._gpus: float | None = None

    def gpus(self, device: str) -> float:
        if self._gpus is None:
            self._gpus = float(self._executor.model_gpus(device))
        return self._gpus

    def provenance(self, ctx: RunContext) -> dict[str, Any]:
        prov = self._driver_prov
        return {
            "device": f"ray:{'cuda' if self.gpus(ctx.settings.device) else 'cpu'}",
            "precision": prov.get("precision", "float32"),
            "tile": prov.get("tile"),
            "tiling": prov.get("tiling"),
        }

    def results(self, ctx: RunContext) -> Results:
        cfg = ctx.settings
        gpus = self.gpus(cfg.device)
        ctx.model.close()  # the workers hold their own copies
        host = ModelHost(
            ctx.spec,
            device=cfg.device,
            amp=cfg.amp,
            tile=cfg.tile,
            warmup=cfg.warmup,
            warmup_sample=ctx.todo[0] if ctx.todo else None,
        )
        units = (ctx.unit(s, with_spec=True) for s in ctx.todo)
        return ctx.executor.map_stateful(host, execute_hosted_unit, units, num_gpus=gpus)


def prefetch(samples: list[Sample], depth: int, needs_input: bool) -> Iterator[tuple[Sample, Any]]:
    """Yield ``(sample, image or exception)`` with ``depth`` reads running ahead in a thread."""
    if not needs_input:
        for s in samples:
            yield s, None
        return

    def read(s: Sample) -> Any:
        try:
            return read_image(s.blur, dtype="float32")
        except Exception as exc:  # noqa: BLE001 - becomes an error row
            return exc

    with ThreadPoolExecutor(1) as pool:
        queue: list[tuple[Sample, Future[Any]]] = []
        it = iter(samples)
        for s in it:
            queue.append((s, pool.submit(read, s)))
            if len(queue) >= depth:
                break
        while queue:
            s, fut = queue.pop(0)
            nxt = next(it, None)
            if nxt is not None:
                queue.append((nxt, pool.submit(read, nxt)))
            yield s, fut.result()


def driver_units(ctx: RunContext) -> Iterator[WorkUnit]:
    """Run the model in this process; yield units that carry the quantised output."""
    model, proto = ctx.model, ctx.protocol
    for s, img in prefetch(ctx.todo, ctx.settings.prefetch, model.needs_input):
        unit = ctx.unit(s, with_spec=False)
        if isinstance(img, BaseException):
            unit.error, unit.error_detail = describe_error(img), error_detail(img)
            yield unit
            continue
        try:
            t0 = time.perf_counter()
            out = np.asarray(
                model.deblur(img if img is not None else np.zeros((0, 0, 3), np.float32), s)
            )
            runtime = model.last_runtime_s or (time.perf_counter() - t0)
            if img is not None:
                check_prediction(out, img.shape, s.id)
            unit.prediction = proto.prepare(out, data_range=255.0 if out.dtype == np.uint8 else 1.0)
            unit.runtime_s = runtime
            if isinstance(model, FolderDeblurrer):  # outputs read from files: checked as score does
                unit.output_file = str(model.find(s.id))
        except Exception as exc:  # noqa: BLE001 - one image's failure is that image's row
            unit.error, unit.error_detail = describe_error(exc), error_detail(exc)
        yield unit


def warm_up(model: Deblurrer, sample: Sample, n: int) -> None:
    """``n`` untimed passes on ``sample`` (a failure is left to the timed pass to report)."""
    try:
        img = read_image(sample.blur, dtype="float32")
        for _ in range(n):
            model.deblur(img, sample)
    except Exception:  # noqa: BLE001 - the timed pass will report the problem as a row
        pass
