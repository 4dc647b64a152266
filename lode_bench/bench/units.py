"""Work units: one (model, dataset version, image, protocol version) -> one result row.

A unit is plain picklable data. It carries either the model's prediction (computed in
the driver, e.g. on a GPU) or the :class:`~lode_bench.models.loader.ModelSpec` of a CPU
model that the worker rebuilds and runs itself. :func:`execute_unit` never raises for a
problem with one image: a corrupt file, a NaN output or a wrong output shape becomes an
``error`` row for that image only, and so does an input ``lode-bench score`` refuses (a
mask that is not black/white, a greyscale output file against colour ground truth: the
checks of :mod:`lode_bench.metrics.inputs`, with the same messages). Running a unit twice gives the same row, so re-running
a killed benchmark is safe.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lode_bench.bench.store import ResultRow
from lode_bench.datasets.types import Sample
from lode_bench.errors import LodeBenchError, ShapeMismatchError
from lode_bench.io import read_image, write_image
from lode_bench.metrics.inputs import check_channels, load_mask_checked
from lode_bench.metrics.protocols import Protocol
from lode_bench.models.base import Deblurrer
from lode_bench.models.loader import ModelSpec


@dataclass
class WorkUnit:
    """Everything needed to produce one result row.

    Attributes:
        model_label: model name as stored.
        dataset: dataset name as stored.
        dataset_hash: dataset version hash.
        protocol: the protocol (a frozen, picklable dataclass).
        sample: the sample (paths and metadata).
        run_id: run that produced the row.
        model: spec of a CPU model to run in the worker (``None`` when ``prediction`` is given).
        prediction: H×W×3 output already computed (uint8 after the protocol's quantisation).
        runtime_s: model time for ``prediction``.
        error: a failure before scoring (unreadable input, inference error).
        save_path: where to write the output PNG (atomic), if wanted.
        output_file: the file ``prediction`` was read from (``folder``/``command`` models);
            its colour channels are checked against the ground truth's, as ``score`` does.
        allow_grey: accept an ``output_file`` that is greyscale against colour ground truth
            (or the reverse).
        mask_threshold: use mask pixels ``> mask_threshold`` and accept any mask image
            (see :func:`~lode_bench.metrics.inputs.load_mask_checked`).
    """

    model_label: str
    dataset: str
    dataset_hash: str
    protocol: Protocol
    sample: Sample
    run_id: str | None = None
    model: ModelSpec | None = None
    prediction: np.ndarray | None = None
    runtime_s: float | None = None
    error: str | None = None
    save_path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    error_detail: str | None = None
    output_file: str | None = None
    allow_grey: bool = False
    mask_threshold: float | None = None

    def row(self, **kw: Any) -> ResultRow:
        return ResultRow(
            model=self.model_label,
            dataset=self.dataset,
            dataset_hash=self.dataset_hash,
            protocol=self.protocol.name,
            protocol_version=self.protocol.version,
            image_id=self.sample.id,
            run_id=self.run_id,
            **kw,
        )


_MODEL_CACHE: dict[str, Deblurrer] = {}
_MODEL_LOCK = threading.Lock()


def _worker_model(spec: ModelSpec) -> Deblurrer:
    """The worker's copy of a CPU model, built once per process."""
    from lode_bench.models.loader import load_model

    key = repr(spec)
    with _MODEL_LOCK:
        if key not in _MODEL_CACHE:
            if len(_MODEL_CACHE) >= 4:
                _MODEL_CACHE.clear()
            _MODEL_CACHE[key] = load_model(spec, device="cpu")
        return _MODEL_CACHE[key]


class OutputWriteError(LodeBenchError):
    """Writing a saved output failed (disk full, permissions): a failure of the tool, not of
    the model, so the run stops instead of storing an error row."""


_MAX_MESSAGE = 500


def describe_error(exc: BaseException) -> str:
    """One-line message for a result row: the exception type and its message.

    LodeBench errors keep their own text (lines joined); an error whose text carries a
    traceback (TorchScript, remote workers) is reduced to its last line, which names the
    original exception.
    """
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    if isinstance(exc, LodeBenchError):
        msg = "; ".join(lines) or type(exc).__name__
    elif len(lines) > 1 and any(ln.startswith("Traceback") for ln in lines):
        last = lines[-1].removeprefix("builtins.")
        head = last.split(":", 1)[0]
        msg = last if head.isidentifier() and ":" in last else f"{type(exc).__name__}: {last}"
    else:
        msg = f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    return msg if len(msg) <= _MAX_MESSAGE else msg[: _MAX_MESSAGE - 3] + "..."


def error_detail(exc: BaseException) -> str:
    """The full text of an error (traceback included) for the run's error log."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()


def check_prediction(pred: np.ndarray, shape: tuple[int, ...], sample_id: str) -> None:
    """Refuse outputs of the wrong shape (named with both shapes)."""
    if tuple(pred.shape) != tuple(shape):
        raise ShapeMismatchError(
            f"{sample_id}: model output shape {tuple(pred.shape)} differs from "
            f"the input/ground-truth shape {tuple(shape)}"
        )


def execute_unit(unit: WorkUnit, model: Deblurrer | None = None) -> ResultRow:
    """Run (if needed) and score one unit; problems become an error row.

    Args:
        unit: the unit.
        model: an already loaded :class:`~lode_bench.models.base.Deblurrer` to run when
            the unit carries no prediction (default: this process's copy of ``unit.model``).
    """
    if unit.error is not None:
        return unit.row(
            status="error", error=unit.error, runtime_s=unit.runtime_s, detail=unit.error_detail
        )
    try:
        s = unit.sample
        if s.sharp is None and unit.protocol.needs_reference:
            raise LodeBenchError(
                f"{s.id}: sample has no ground truth; full-reference protocol "
                f"{unit.protocol.name!r} cannot score it"
            )
        gt = unit.protocol.read_image(s.sharp) if s.sharp is not None else None
        runtime = unit.runtime_s
        pred = unit.prediction
        if pred is None:
            if model is None:
                if unit.model is None:
                    raise LodeBenchError(f"{s.id}: work unit has neither a prediction nor a model")
                model = _worker_model(unit.model)
            blurry = (
                unit.protocol.read_image(s.blur)
                if model.accepts_uint8
                else read_image(s.blur, dtype="float32")
            )
            t0 = time.perf_counter()
            out = np.asarray(model.deblur(blurry, s))
            runtime = model.last_runtime_s or (time.perf_counter() - t0)
            check_prediction(out, blurry.shape, s.id)
            pred = unit.protocol.prepare(
                np.asarray(out), data_range=1.0 if out.dtype != np.uint8 else 255.0
            )
        if gt is not None:
            check_prediction(pred, gt.shape, s.id)
            if unit.output_file is not None and not unit.allow_grey and s.sharp is not None:
                check_channels(unit.output_file, s.sharp)
        mask = None
        if s.mask is not None and unit.protocol.mask != "none":
            mask = load_mask_checked(s.mask, unit.protocol, unit.mask_threshold)
        score = unit.protocol.score(pred, gt, mask=mask, image_id=s.id)
        values = {k: float(v) for k, v in score.values.items()}
        row = unit.row(
            status="ok" if score.ok else "error",
            error=score.error_message,
            metrics=values,
            runtime_s=runtime,
            mask_coverage=score.mask_coverage,
        )
    except Exception as exc:  # noqa: BLE001 - every per-image failure becomes a row
        return unit.row(
            status="error",
            error=describe_error(exc),
            runtime_s=unit.runtime_s,
            detail=error_detail(exc),
        )
    if unit.save_path and pred.dtype == np.uint8:
        try:
            write_image(Path(unit.save_path), pred)
        except (OSError, LodeBenchError) as exc:
            reason = (
                exc.strerror if isinstance(exc, OSError) and exc.strerror else describe_error(exc)
            )
            raise OutputWriteError(
                f"{unit.save_path}: cannot save the output ({reason}); the run stopped, "
                "rows stored so far are kept: fix the cause and run again to resume"
            ) from None
    return row


@dataclass(frozen=True)
class ModelHost:
    """Picklable recipe for a model that a remote worker loads once and keeps (see
    :meth:`~lode_bench.parallel.executor.Executor.map_stateful`).

    Calling it loads the model on ``device`` (``"auto"``: the GPU the worker was given,
    else the CPU) and runs ``warmup`` untimed passes on ``warmup_sample``.
    """

    spec: ModelSpec
    device: str = "auto"
    amp: bool = False
    tile: int | None = None
    warmup: int = 0
    warmup_sample: Sample | None = None

    def __call__(self) -> Deblurrer:
        from lode_bench.models.loader import load_model

        model = load_model(self.spec, device=self.device, amp=self.amp, tile=self.tile)
        if self.warmup and self.warmup_sample is not None and model.benefits_from_warmup:
            try:
                img = read_image(self.warmup_sample.blur, dtype="float32")
                for _ in range(self.warmup):
                    model.deblur(img, self.warmup_sample)
            except Exception:  # noqa: BLE001 - the timed pass reports the problem as a row
                pass
        return model


def execute_hosted_unit(model: Deblurrer, unit: WorkUnit) -> ResultRow:
    """:func:`execute_unit` with a model the worker holds (argument order of ``map_stateful``)."""
    return execute_unit(unit, model=model)


def error_log_path(store_path: str | Path) -> Path:
    """The text log next to a store that keeps the full text of every error row."""
    p = Path(store_path)
    return p.with_name(p.stem + ".errors.log")


def append_error_log(log: Path, row: ResultRow) -> None:
    """Append the full error text of ``row`` to ``log`` (best effort: the row is stored anyway)."""
    try:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(
                f"== {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} run {row.run_id} | "
                f"{row.model} | {row.dataset} | {row.protocol}@{row.protocol_version} | {row.image_id}\n"
                f"{row.detail}\n"
            )
    except OSError:
        pass
