"""``run_benchmark``: one model × one dataset × one protocol into the results store.

Flow: resolve the dataset (pairing verified, version hash), the protocol and the model;
skip images the store already has for this (model, dataset version, protocol version);
load the model once, count its parameters and FLOPs, then stream the rest through the
execution strategy its contract calls for (:mod:`lode_bench.bench.strategies`). Each
finished row is committed at once, so a killed or interrupted run loses at most the
images in flight and a re-run resumes where it stopped.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lode_bench.bench.failures import error_reason
from lode_bench.bench.progress import RunProgress
from lode_bench.bench.provenance import git_hash, package_versions
from lode_bench.bench.settings import RunSettings
from lode_bench.bench.store import ResultRow, ResultsStore
from lode_bench.bench.strategies import RunContext, Strategy, choose_strategy, load_device
from lode_bench.bench.strategies import prefetch as _prefetch  # noqa: F401 - kept importable here
from lode_bench.bench.units import (
    OutputWriteError,
    WorkUnit,
    append_error_log,
    describe_error,
    error_detail,
    error_log_path,
)
from lode_bench.datasets.manifest import remove_stale_temp_files
from lode_bench.datasets.types import DatasetIndex
from lode_bench.errors import LodeBenchError
from lode_bench.io.folders import is_lossy
from lode_bench.io.numbers import mean_of
from lode_bench.metrics.protocols import Protocol, get_protocol
from lode_bench.models.base import Deblurrer
from lode_bench.models.loader import ModelSpec, load_model
from lode_bench.parallel.executor import Executor, LocalExecutor, SetupError


class ModelUnavailableError(LodeBenchError):
    """The model could not be loaded (missing or mismatched checkpoint, bad options); a
    suite skips that model and goes on."""


class AmpOnCpuError(LodeBenchError):
    """``amp`` was asked for a model that would run on the CPU."""


AMP_ON_CPU = (
    "--amp on the CPU is refused: autocast there runs bfloat16, which most CPUs execute "
    "many times slower than float32 (a DeepDeblur run took 27 min); drop --amp, or run on a GPU"
)


@dataclass
class RunSummary:
    """What one :func:`run_benchmark` call did.

    Attributes:
        run_id: id of the run row in the store.
        model, dataset, dataset_hash, protocol: the keys of the rows.
        n_total: samples considered (after ``limit``).
        n_ok, n_error: rows written by this run, by status.
        n_skipped: samples already in the store (resumed).
        n_retried: images resubmitted because the worker running them was lost (a killed
            process or node); each still ends as one ``ok`` or ``error`` row.
        means: per-column mean over the ``ok`` rows of the samples considered (this run's and
            earlier runs' rows of the same model, dataset version and protocol version).
        n_scored: rows behind ``means``.
        n_failed: samples considered whose stored row is an error (this run's and earlier ones').
        timing: ``wall_s``, ``images_per_s``, ``mean_runtime_s`` (model time per image).
        errors: first error rows of this run, ``(image_id, message)``.
        error_reasons: every error of this run, counted by reason (see
            :func:`~lode_bench.bench.failures.error_reason`).
        params, flops: model size (``None`` when not applicable).
        warnings: what the dataset loader found unusual (e.g. counts differ from the release).
        error_log: the text log holding the full error texts, when one was written.
        skipped: why the run did not happen (a suite's model that could not be loaded).
        n_lossy_outputs: images of this run whose output was read from a lossy file (a
            ``folder`` model's JPEG outputs): their scores include the compression loss.
    """

    run_id: str
    model: str
    dataset: str
    dataset_hash: str
    protocol: str
    n_total: int = 0
    n_ok: int = 0
    n_error: int = 0
    n_skipped: int = 0
    n_retried: int = 0
    means: dict[str, float] = field(default_factory=dict)
    n_scored: int = 0
    n_failed: int = 0
    timing: dict[str, float | None] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)
    error_reasons: Counter[str] = field(default_factory=Counter)
    params: int | None = None
    flops: float | None = None
    warnings: list[str] = field(default_factory=list)
    error_log: str | None = None
    skipped: str | None = None
    n_lossy_outputs: int = 0


def _resolve_protocol(protocol: str | Protocol, lpips: str | None) -> Protocol:
    proto = protocol if isinstance(protocol, Protocol) else get_protocol(protocol)
    if not lpips:
        return proto
    from lode_bench.metrics.lpips_metric import find_backbone_weights

    find_backbone_weights(lpips)  # missing weights stop the run here, before any image
    return proto.with_lpips(lpips)


def _resolve_dataset(
    dataset: str | DatasetIndex, split: str | None, verify_hashes: bool = False
) -> DatasetIndex:
    if isinstance(dataset, DatasetIndex):
        return dataset
    from lode_bench.datasets.registry import resolve_dataset

    return resolve_dataset(dataset, split=split, full_verify=verify_hashes)


def _check_unique_ids(data: DatasetIndex) -> None:
    """Refuse a dataset (from any loader or plugin) in which two samples share an id."""
    dup = sorted(k for k, n in Counter(s.id for s in data.samples).items() if n > 1)
    if dup:
        raise LodeBenchError(
            f"{data.root}: duplicate sample ids {dup[:5]}; each id must name one sample"
        )


def _spec(
    model: str | ModelSpec,
    checkpoint: str | None,
    model_options: dict[str, Any] | None,
    random_weights: bool,
    seed: int,
    label: str | None,
) -> ModelSpec:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise LodeBenchError(f"seed must be an integer >= 0, got {seed!r}")
    spec = ModelSpec.parse(model) if isinstance(model, str) else model
    if checkpoint is not None or model_options or random_weights or seed or label:
        spec = ModelSpec(
            spec.name,
            checkpoint if checkpoint is not None else spec.checkpoint,
            dict(model_options or spec.options),
            random_weights or spec.random_weights,
            seed or spec.seed,
            label or spec.label,
        )
    return spec


def _load(spec: ModelSpec, cfg: RunSettings, ex: Executor) -> Deblurrer:
    try:
        return load_model(spec, device=load_device(ex, cfg.device), amp=cfg.amp, tile=cfg.tile)
    except ModelUnavailableError:
        raise
    except LodeBenchError as exc:
        raise ModelUnavailableError(str(exc)) from exc


def _check_amp(cfg: RunSettings, prov: dict[str, Any]) -> None:
    if (
        cfg.amp
        and prov.get("device") in ("cpu", "ray:cpu")
        and prov.get("precision") not in (None, "float32")
    ):
        raise AmpOnCpuError(AMP_ON_CPU)


def run_benchmark(
    model: str | ModelSpec,
    dataset: str | DatasetIndex,
    protocol: str | Protocol,
    store: str | Path | ResultsStore,
    *,
    settings: RunSettings | None = None,
    executor: Executor | None = None,
    progress: bool = True,
    checkpoint: str | None = None,
    model_options: dict[str, Any] | None = None,
    random_weights: bool = False,
    seed: int = 0,
    label: str | None = None,
    **overrides: Any,
) -> RunSummary:
    """Run one model on one dataset under one protocol and store one row per image.

    Args:
        model: registered name (``"NAME=CHECKPOINT"`` accepted) or a :class:`ModelSpec`.
        dataset: ``"KIND:PATH"``, a folder with ``manifest.json``, or a loaded index.
        protocol: protocol name (``"gopro"``, ``"realblur"``...) or object.
        store: SQLite file (or an open store).
        settings: how to run (:class:`~lode_bench.bench.settings.RunSettings`; default: its defaults).
        executor: where scoring runs (default: a local thread pool of ``settings.workers``;
            the metric code releases the GIL, so threads scale without process start-up or
            pickling). An executor that hosts models (Ray) also runs hostable models, one
            worker per GPU (or per CPU slot), each loading the model once.
        progress: print stage lines (loading, FLOPs, warm-up) and image progress to stderr.
        checkpoint: weights file / outputs folder / command (overrides ``NAME=...``).
        model_options: architecture options (e.g. ``{"width": 32}``).
        random_weights: run a torch model without a checkpoint (smoke tests).
        seed: random seed (recorded).
        label: store the rows under this model name instead of the derived one.
        **overrides: settings changed for this call (``device="cpu"``, ``limit=3``...;
            ``flops_size=None`` skips the FLOP count).

    Returns:
        The :class:`RunSummary`.

    Raises:
        LodeBenchError: bad dataset/protocol/setting (before any row is written);
            :class:`ModelUnavailableError` when the model cannot be loaded;
            :class:`AmpOnCpuError` for mixed precision on the CPU.

    Example:
        The identity baseline (the blurry input as output) on a small built-in dataset;
        a second call finds every row in the store and skips it:

        >>> import tempfile
        >>> from pathlib import Path
        >>> from lode_bench import build_builtin_dataset
        >>> tmp = tempfile.TemporaryDirectory()
        >>> data, store = Path(tmp.name, "data"), Path(tmp.name, "results.sqlite")
        >>> _ = build_builtin_dataset(data, kind="local", n_samples=2, size=(64, 96))
        >>> summary = run_benchmark("identity", str(data), "lode", store, progress=False)
        >>> summary.model, summary.n_ok, summary.n_error, sorted(summary.means)
        ('identity', 2, 0, ['PSNR', 'PSNR_w', 'SSIM', 'SSIM_w'])
        >>> run_benchmark("identity", str(data), "lode", store, progress=False).n_skipped
        2
        >>> tmp.cleanup()
    """
    cfg = (settings or RunSettings()).replace(**overrides)
    spec = _spec(model, checkpoint, model_options, random_weights, seed, label)
    card = spec.card
    proto, nr_missing = _resolve_protocol(protocol, cfg.lpips).available()
    data = _resolve_dataset(dataset, cfg.split, cfg.verify_hashes)
    _check_unique_ids(data)
    if proto.needs_reference and any(s.sharp is None for s in data.samples):
        from lode_bench.metrics.protocols import no_reference_message

        raise LodeBenchError(no_reference_message(proto, f"dataset {data.name!r} ({data.root})"))
    ckpt_sha = spec.checkpoint_sha256() if spec.checkpoint is not None else None
    model_label = spec.store_label(ckpt_sha)
    own_store = not isinstance(store, ResultsStore)
    st: ResultsStore = store if isinstance(store, ResultsStore) else ResultsStore(store)
    own_exec = executor is None
    ex = executor or LocalExecutor(workers=cfg.workers, kind="thread")
    deblurrer: Deblurrer | None = None
    run_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]
    summary = RunSummary(
        run_id=run_id,
        model=model_label,
        dataset=data.name,
        dataset_hash=data.version_hash,
        protocol=proto.id,
        warnings=list(data.warnings)
        + [f"{col} not computed: {why}" for col, why in nr_missing.items()],
    )
    bar = RunProgress(f"{model_label} | {data.name} | {proto.id}", enabled=progress)
    strategy: Strategy | None = None
    try:
        samples = data.samples[: cfg.limit] if cfg.limit is not None else list(data.samples)
        done = st.done_keys(
            model=model_label,
            dataset_hash=data.version_hash,
            protocol=proto.name,
            protocol_version=proto.version,
            include_errors=not cfg.retry_errors,
        )
        todo = [s for s in samples if s.id not in done]
        summary.n_total, summary.n_skipped = len(samples), len(samples) - len(todo)
        save_dir = Path(cfg.save_outputs) if cfg.save_outputs is not None else None
        if save_dir is not None:
            try:
                save_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputWriteError(
                    f"{save_dir}: cannot create the outputs folder ({exc.strerror or exc})"
                ) from None
            remove_stale_temp_files(save_dir)

        ctx: RunContext | None = None
        prov: dict[str, Any] = {}
        if todo:
            bar.stage(f"loading the model ({len(todo)} of {len(samples)} image(s) to run)")
            deblurrer = _load(spec, cfg, ex)
            strategy = choose_strategy(deblurrer, ex)
            ctx = RunContext(
                spec=spec,
                model=deblurrer,
                todo=todo,
                protocol=proto,
                save_dir=save_dir,
                base={
                    "model_label": model_label,
                    "dataset": data.name,
                    "dataset_hash": data.version_hash,
                    "run_id": run_id,
                },
                settings=cfg,
                executor=ex,
                progress=bar,
            )
            prov = strategy.provenance(ctx)
            _check_amp(cfg, prov)
            summary.params = deblurrer.param_count()
            if cfg.flops:
                h, w = cfg.flops_size
                bar.stage(f"counting FLOPs ({h}×{w}; --no-flops skips)")
                summary.flops = deblurrer.flops(h, w)
        st.start_run(
            run_id,
            model=model_label,
            model_card_hash=card.card_hash(options=spec.options, checkpoint_sha256=ckpt_sha),
            dataset=data.name,
            dataset_hash=data.version_hash,
            protocol=proto.name,
            protocol_version=proto.version,
            device=prov.get("device", "cpu"),
            precision=prov.get("precision", "float32"),
            tiling=prov.get("tiling"),
            seed=spec.seed,
            checkpoint_sha256=ckpt_sha,
            git_hash=git_hash(),
            packages=package_versions(),
            params=summary.params,
            flops=summary.flops,
            extra={
                "model_card": card.summary(),
                "dataset_kind": data.kind,
                "dataset_root": data.root,
                "dataset_warnings": data.warnings,
                "n_samples": len(samples),
                "metrics_not_computed": nr_missing,
                "n_skipped": summary.n_skipped,
                "flops_input": list(cfg.flops_size) if cfg.flops and summary.flops else None,
                "warmup": cfg.warmup,
                **ex.describe(),
                "model_options": spec.options,
                "lpips": cfg.lpips,
                "save_outputs": str(save_dir) if save_dir is not None else None,
                "strategy": strategy.name if strategy is not None else None,
                "outputs_dir": prov.get("outputs_dir"),
            },
        )

        retried_before = ex.retried
        if strategy is not None and ctx is not None:
            strategy.setup(ctx)
            _consume(strategy.results(ctx), st, summary, len(todo), bar)
            prov = strategy.provenance(ctx)
        summary.n_retried = ex.retried - retried_before

        rows = st.rows(
            model=model_label,
            dataset_hash=data.version_hash,
            protocol=proto.name,
            protocol_version=proto.version,
        )
        considered = {s.id for s in samples}
        mine = [r for r in rows if r.image_id in considered]
        ok = [r for r in mine if r.status == "ok"]
        summary.n_scored = len(ok)
        summary.n_failed = len(mine) - len(ok)
        summary.means = {
            c: mean_of([r.metrics.get(c, float("nan")) for r in ok]) for c in proto.columns
        }
        peak = deblurrer.peak_memory_bytes() if deblurrer is not None else None
        st.finish_run(
            run_id,
            status="finished",
            tiling=str(prov["tile"]) if prov.get("tile") else None,
            extra={
                "timing": summary.timing,
                "peak_memory_bytes": peak,
                "n_ok": summary.n_ok,
                "n_error": summary.n_error,
                "n_skipped": summary.n_skipped,
                "n_retried": summary.n_retried,
                "means": summary.means,
                "oom_fallbacks": prov.get("oom_fallbacks"),
                "n_lossy_outputs": summary.n_lossy_outputs,
                **({"outputs_dir": prov["outputs_dir"]} if prov.get("outputs_dir") else {}),
            },
        )
        return summary
    except BaseException as exc:
        try:
            st.finish_run(
                run_id, status="interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            )
        except Exception:  # noqa: BLE001 - the original error matters more
            pass
        raise
    finally:
        bar.close()
        if strategy is not None:
            strategy.close()
        if deblurrer is not None:
            deblurrer.close()
        if own_exec:
            ex.close()
        if own_store:
            st.close()


def _consume(
    results: Iterator[tuple[WorkUnit, Any]],
    st: ResultsStore,
    summary: RunSummary,
    total: int,
    bar: RunProgress,
) -> None:
    """Store each ``(unit, row or exception)`` as it arrives; count and time them."""
    t0 = time.perf_counter()
    runtimes: list[float] = []
    not_run: list[SetupError] = []
    bar.start_images(total)
    for unit, res in results:
        if isinstance(res, SetupError):  # no model on that worker: not an answer about the image
            not_run.append(res)
            bar.advance()
            continue
        if isinstance(
            res, OutputWriteError
        ):  # the tool's own I/O failed: stop, keep what is stored
            raise res
        row: ResultRow = (
            res
            if isinstance(res, ResultRow)
            else unit.row(
                status="error",
                error=describe_error(res),
                runtime_s=unit.runtime_s,
                detail=error_detail(res),
            )
        )
        st.put(row)
        if unit.output_file is not None and is_lossy(unit.output_file):
            summary.n_lossy_outputs += 1
        if row.detail and row.status != "ok":
            append_error_log(error_log_path(st.path), row)
        if row.status == "ok":
            summary.n_ok += 1
        else:
            summary.n_error += 1
            summary.error_reasons[error_reason(row.error or "", row.image_id)] += 1
            if len(summary.errors) < 20:
                summary.errors.append((row.image_id, row.error or ""))
            if row.detail:
                summary.error_log = str(error_log_path(st.path))
        if row.runtime_s is not None:
            runtimes.append(row.runtime_s)
        bar.advance()
    if not_run:
        raise SetupError(
            f"{len(not_run)} image(s) not run ({summary.n_ok + summary.n_error} stored): "
            f"{not_run[0]}; fix the cause and run again to resume"
        )
    wall = time.perf_counter() - t0
    n = summary.n_ok + summary.n_error
    summary.timing = {
        "wall_s": wall,
        "images_per_s": n / wall if wall > 0 and n else None,
        "mean_runtime_s": float(np.mean(runtimes)) if runtimes else None,
    }
