"""``run_benchmark``: one model × one dataset × one protocol into the results store.

Flow: resolve the dataset (pairing verified, version hash), the protocol and the model;
skip images the store already has for this (model, dataset version, protocol version);
then stream the rest. Models that hold a device run in this process, one image at a time,
with the next images read by a background thread; their outputs are quantised per
protocol and scored by the executor's workers. CPU models (identity, classical
methods) run entirely inside the workers. Each finished row is committed at once, so a
killed run loses at most the images in flight and a re-run resumes where it stopped.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lode_bench.bench.provenance import git_hash, package_versions
from lode_bench.bench.store import ResultRow, ResultsStore
from lode_bench.bench.units import (
    ModelHost,
    OutputWriteError,
    WorkUnit,
    append_error_log,
    check_prediction,
    describe_error,
    error_detail,
    error_log_path,
    execute_hosted_unit,
    execute_unit,
)
from lode_bench.datasets.manifest import remove_stale_temp_files
from lode_bench.datasets.types import DatasetIndex, Sample
from lode_bench.errors import LodeBenchError
from lode_bench.io import read_image, safe_join
from lode_bench.io.numbers import mean_of
from lode_bench.metrics.protocols import Protocol, get_protocol
from lode_bench.models.base import Deblurrer
from lode_bench.models.loader import ModelSpec, load_model
from lode_bench.parallel.executor import Executor, LocalExecutor, SetupError


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
        timing: ``wall_s``, ``images_per_s``, ``mean_runtime_s`` (model time per image).
        errors: first error rows of this run, ``(image_id, message)``.
        params, flops: model size (``None`` when not applicable).
        warnings: what the dataset loader found unusual (e.g. counts differ from the release).
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
    timing: dict[str, float | None] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)
    params: int | None = None
    flops: float | None = None
    warnings: list[str] = field(default_factory=list)
    error_log: str | None = None


def _resolve_protocol(protocol: str | Protocol, lpips: str | None) -> Protocol:
    proto = protocol if isinstance(protocol, Protocol) else get_protocol(protocol)
    if not lpips:
        return proto
    from lode_bench.metrics.lpips_metric import find_backbone_weights

    find_backbone_weights(lpips)  # missing weights stop the run here, before any image
    return proto.with_lpips(lpips)


def _resolve_dataset(dataset: str | DatasetIndex, split: str | None, verify_hashes: bool = False) -> DatasetIndex:
    if isinstance(dataset, DatasetIndex):
        return dataset
    from lode_bench.datasets.registry import resolve_dataset

    return resolve_dataset(dataset, split=split, full_verify=verify_hashes)


def _check_numbers(**values: Any) -> None:
    """Refuse numeric options out of range (``tile 0``, ``limit -1``...), naming the option."""
    minimum = {"tile": 16, "limit": 1, "workers": 1, "warmup": 0, "prefetch": 1, "seed": 0}
    for name, v in values.items():
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int):
            raise LodeBenchError(f"{name} must be an integer, got {v!r}")
        if v < minimum[name]:
            raise LodeBenchError(f"{name} must be >= {minimum[name]}, got {v}")


def _check_unique_ids(data: DatasetIndex) -> None:
    """Refuse a dataset (from any loader or plugin) in which two samples share an id."""
    from collections import Counter

    dup = sorted(k for k, n in Counter(s.id for s in data.samples).items() if n > 1)
    if dup:
        raise LodeBenchError(f"{data.root}: duplicate sample ids {dup[:5]}; each id must name one sample")


def _prefetch(samples: list[Sample], depth: int, needs_input: bool) -> Iterator[tuple[Sample, Any]]:
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


def _driver_units(model: Deblurrer, samples: list[Sample], base: dict[str, Any], proto: Protocol,
                  save_dir: Path | None, prefetch: int) -> Iterator[WorkUnit]:
    """Run the model in this process; yield scored-later units with the quantised output."""
    needs_input = getattr(model, "needs_input", True)
    for s, img in _prefetch(samples, prefetch, needs_input):
        unit = WorkUnit(sample=s, protocol=proto, save_path=_save_path(save_dir, s), **base)
        if isinstance(img, BaseException):
            unit.error, unit.error_detail = describe_error(img), error_detail(img)
            yield unit
            continue
        try:
            t0 = time.perf_counter()
            out = np.asarray(model.deblur(img if img is not None else np.zeros((0, 0, 3), np.float32), s))
            runtime = getattr(model, "last_runtime_s", None) or (time.perf_counter() - t0)
            if img is not None:
                check_prediction(out, img.shape, s.id)
            unit.prediction = proto.prepare(out, data_range=255.0 if out.dtype == np.uint8 else 1.0)
            unit.runtime_s = runtime
        except Exception as exc:  # noqa: BLE001 - one image's failure is that image's row
            unit.error, unit.error_detail = describe_error(exc), error_detail(exc)
        yield unit


def _save_path(save_dir: Path | None, s: Sample) -> str | None:
    return str(safe_join(save_dir, s.id + ".png")) if save_dir is not None else None


def run_benchmark(model: str | ModelSpec, dataset: str | DatasetIndex, protocol: str | Protocol,
                  store: str | Path | ResultsStore, *, checkpoint: str | None = None, device: str = "auto",
                  tile: int | None = None, amp: bool = False, save_outputs: str | Path | None = None,
                  limit: int | None = None, progress: bool = True, split: str | None = None,
                  model_options: dict[str, Any] | None = None, random_weights: bool = False, seed: int = 0,
                  label: str | None = None, executor: Executor | None = None, workers: int | None = None,
                  retry_errors: bool = False, warmup: int = 1, prefetch: int = 4, lpips: str | None = None,
                  flops_size: tuple[int, int] | None = (256, 256), verify_hashes: bool = False,
                  **kw: Any) -> RunSummary:
    """Run one model on one dataset under one protocol and store one row per image.

    Args:
        model: registered name (``"NAME=CHECKPOINT"`` accepted) or a :class:`ModelSpec`.
        dataset: ``"KIND:PATH"``, a folder with ``manifest.json``, or a loaded index.
        protocol: protocol name (``"gopro"``, ``"realblur"``...) or object.
        store: SQLite file (or an open store).
        checkpoint: weights file / outputs folder / command (overrides ``NAME=...``).
        device: ``"auto"`` (CUDA, then MPS, then CPU) or a device name.
        tile: tile side for tiled inference (default: whole images, tiles after out-of-memory).
        amp: mixed precision.
        save_outputs: folder to write each output PNG to (``<folder>/<image id>.png``).
        limit: only the first ``limit`` samples (in id order).
        progress: show a progress bar.
        split: dataset split (default: the loader's).
        model_options: architecture options (e.g. ``{"width": 32}``).
        random_weights: run a torch model without a checkpoint (smoke tests).
        seed: random seed (recorded).
        label: store the rows under this model name instead of the derived one.
        executor: where scoring runs (default: a local thread pool of ``workers``; the metric
            code releases the GIL, so threads scale without process start-up or pickling).
            An executor that hosts models (Ray) also runs torch models, one actor per GPU
            (or per CPU slot), each loading the model once.
        workers: pool size when no executor is given.
        retry_errors: recompute images whose stored row is an error.
        warmup: untimed forward passes before timing (device models).
        prefetch: images read ahead of the model.
        lpips: add an LPIPS column with this backbone (``"alex"``, ``"vgg"``).
        flops_size: H, W at which FLOPs are counted (``None`` to skip).
        verify_hashes: recompute every file's sha256 against a lode-bench manifest (by
            default files whose size and modification time match a cached full check are
            trusted).

    Returns:
        The :class:`RunSummary`.

    Raises:
        LodeBenchError: bad dataset/model/protocol/checkpoint (before any row is written).
    """
    if kw:
        raise LodeBenchError(f"run_benchmark: unknown options {sorted(kw)}")
    _check_numbers(tile=tile, limit=limit, workers=workers, warmup=warmup, prefetch=prefetch, seed=seed)
    spec = ModelSpec.parse(model) if isinstance(model, str) else model
    if checkpoint is not None or model_options or random_weights or seed or label:
        spec = ModelSpec(spec.name, checkpoint if checkpoint is not None else spec.checkpoint,
                         dict(model_options or spec.options), random_weights or spec.random_weights,
                         seed or spec.seed, label or spec.label)
    card = spec.card
    proto, nr_missing = _resolve_protocol(protocol, lpips).available()
    data = _resolve_dataset(dataset, split, verify_hashes)
    _check_unique_ids(data)
    if proto.needs_reference and any(s.sharp is None for s in data.samples):
        from lode_bench.metrics.protocols import no_reference_message

        raise LodeBenchError(no_reference_message(proto, f"dataset {data.name!r} ({data.root})"))
    ckpt_sha = spec.checkpoint_sha256() if spec.checkpoint is not None else None
    model_label = spec.store_label(ckpt_sha)
    own_store = not isinstance(store, ResultsStore)
    st: ResultsStore = store if isinstance(store, ResultsStore) else ResultsStore(store)
    own_exec = executor is None
    ex = executor or LocalExecutor(workers=workers, kind="thread")
    deblurrer: Deblurrer | None = None
    run_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]
    summary = RunSummary(run_id=run_id, model=model_label, dataset=data.name, dataset_hash=data.version_hash,
                         protocol=proto.id, warnings=list(data.warnings)
                         + [f"{col} not computed: {why}" for col, why in nr_missing.items()])
    try:
        samples = data.samples[:limit] if limit is not None else list(data.samples)
        done = st.done_keys(model=model_label, dataset_hash=data.version_hash, protocol=proto.name,
                            protocol_version=proto.version, include_errors=not retry_errors)
        todo = [s for s in samples if s.id not in done]
        summary.n_total, summary.n_skipped = len(samples), len(samples) - len(todo)
        save_dir = Path(save_outputs) if save_outputs is not None else None
        if save_dir is not None:
            try:
                save_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputWriteError(f"{save_dir}: cannot create the outputs folder "
                                       f"({exc.strerror or exc})") from None
            remove_stale_temp_files(save_dir)

        # A cluster executor hosts torch models on its workers; the driver copy (on the CPU)
        # only counts parameters and FLOPs.
        probe_device = "cpu" if ex.hosts_models and (card.kind == "torch" or card.name == "torchscript") else device
        probe = load_model(spec, device=probe_device, amp=amp, tile=tile) if todo else None
        in_driver = probe is not None and probe.runs_in_driver
        hosted = in_driver and ex.hosts_models and hasattr(probe, "forward_tensor")
        if in_driver:
            deblurrer = probe
        elif probe is not None:
            probe.close()
        prov = deblurrer.provenance() if deblurrer is not None else {}
        if deblurrer is not None:
            summary.params = deblurrer.param_count()
            if flops_size and todo and card.kind == "torch":
                summary.flops = deblurrer.flops(*flops_size)
        if hosted:
            prov = {"device": f"ray:{'cuda' if _model_gpus(ex, device) else 'cpu'}",
                    "precision": prov.get("precision", "float32"), "tile": prov.get("tile")}
        st.start_run(
            run_id, model=model_label, model_card_hash=card.card_hash(options=spec.options, checkpoint_sha256=ckpt_sha),
            dataset=data.name, dataset_hash=data.version_hash, protocol=proto.name, protocol_version=proto.version,
            device=prov.get("device", "cpu"), precision=prov.get("precision", "float32"),
            tiling=str(prov.get("tile")) if prov.get("tile") else ("auto" if card.kind == "torch" else None),
            seed=spec.seed, checkpoint_sha256=ckpt_sha, git_hash=git_hash(), packages=package_versions(),
            params=summary.params, flops=summary.flops,
            extra={"model_card": card.summary(), "dataset_kind": data.kind, "dataset_root": data.root,
                   "dataset_warnings": data.warnings, "n_samples": len(samples),
                   "metrics_not_computed": nr_missing, "n_skipped": summary.n_skipped,
                   "flops_input": list(flops_size) if flops_size and summary.flops else None, "warmup": warmup,
                   **ex.describe(), "model_options": spec.options, "lpips": lpips,
                   "save_outputs": str(save_dir) if save_dir is not None else None})

        base: dict[str, Any] = {"model_label": model_label, "dataset": data.name,
                                "dataset_hash": data.version_hash, "run_id": run_id}
        retried_before = ex.retried
        units: Iterator[WorkUnit] = (WorkUnit(sample=s, protocol=proto, model=spec, save_path=_save_path(save_dir, s),
                                              **base) for s in todo)
        if hosted and deblurrer is not None:  # one worker per GPU (or CPU slot) loads the model once
            deblurrer.close()
            deblurrer = None
            host = ModelHost(spec, device=device, amp=amp, tile=tile, warmup=warmup,
                             warmup_sample=todo[0] if todo else None)
            results = ex.map_stateful(host, execute_hosted_unit, units, num_gpus=_model_gpus(ex, device))
            _consume(results, st, summary, len(todo), progress)
        elif in_driver and deblurrer is not None:
            with tempfile.TemporaryDirectory(prefix="lode-bench-") as tmp:
                deblurrer.prepare_dataset(todo, Path(tmp))
                if warmup and todo and hasattr(deblurrer, "forward_tensor"):  # torch models only
                    _warm_up(deblurrer, todo[0], warmup)
                units = _driver_units(deblurrer, todo, base, proto, save_dir, prefetch)
                _consume(ex.map_unordered(execute_unit, units), st, summary, len(todo), progress)
        else:  # CPU models run inside the workers, next to the scoring
            _consume(ex.map_unordered(execute_unit, units), st, summary, len(todo), progress)
        summary.n_retried = ex.retried - retried_before

        rows = st.rows(model=model_label, dataset_hash=data.version_hash, protocol=proto.name,
                       protocol_version=proto.version)
        considered = {s.id for s in samples}
        ok = [r for r in rows if r.status == "ok" and r.image_id in considered]
        summary.n_scored = len(ok)
        summary.means = {c: mean_of([r.metrics.get(c, float("nan")) for r in ok]) for c in proto.columns}
        peak = getattr(deblurrer, "peak_memory_bytes", lambda: None)()
        if deblurrer is not None:
            prov = deblurrer.provenance()
        st.finish_run(run_id, status="finished", tiling=str(prov["tile"]) if prov.get("tile") else None,
                      extra={"timing": summary.timing, "peak_memory_bytes": peak, "n_ok": summary.n_ok,
                             "n_error": summary.n_error, "n_skipped": summary.n_skipped,
                             "n_retried": summary.n_retried, "means": summary.means,
                             "oom_fallbacks": prov.get("oom_fallbacks")})
        return summary
    except BaseException:
        try:
            st.finish_run(run_id, status="failed")
        except Exception:  # noqa: BLE001 - the original error matters more
            pass
        raise
    finally:
        if deblurrer is not None:
            deblurrer.close()
        if own_exec:
            ex.close()
        if own_store:
            st.close()


def _warm_up(model: Deblurrer, sample: Sample, n: int) -> None:
    try:
        img = read_image(sample.blur, dtype="float32")
        for _ in range(n):
            model.deblur(img, sample)
    except Exception:  # noqa: BLE001 - the timed pass will report the problem as a row
        pass


def _model_gpus(ex: Executor, device: str) -> float:
    """GPUs per hosted model (executors that host models say how many)."""
    fn = getattr(ex, "model_gpus", None)
    return float(fn(device)) if fn is not None else 0.0


def _consume(results: Iterator[tuple[WorkUnit, Any]], st: ResultsStore, summary: RunSummary, total: int,
             progress: bool) -> None:
    """Store each ``(unit, row or exception)`` as it arrives; count and time them."""
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    runtimes: list[float] = []
    not_run: list[SetupError] = []
    bar = tqdm(total=total, desc=f"{summary.model} | {summary.dataset} | {summary.protocol}",
               disable=None if progress else True, unit="img", leave=False)  # None: off without a TTY
    try:
        for unit, res in results:
            if isinstance(res, SetupError):  # no model on that worker: not an answer about the image
                not_run.append(res)
                bar.update(1)
                continue
            if isinstance(res, OutputWriteError):  # the tool's own I/O failed: stop, keep what is stored
                raise res
            row: ResultRow = res if isinstance(res, ResultRow) else unit.row(
                status="error", error=describe_error(res), runtime_s=unit.runtime_s,
                detail=error_detail(res))
            st.put(row)
            if row.detail and row.status != "ok":
                append_error_log(error_log_path(st.path), row)
            if row.status == "ok":
                summary.n_ok += 1
            else:
                summary.n_error += 1
                if len(summary.errors) < 20:
                    summary.errors.append((row.image_id, row.error or ""))
                if row.detail:
                    summary.error_log = str(error_log_path(st.path))
            if row.runtime_s is not None:
                runtimes.append(row.runtime_s)
            bar.update(1)
    finally:
        bar.close()
    if not_run:
        raise SetupError(f"{len(not_run)} image(s) not run ({summary.n_ok + summary.n_error} stored): "
                         f"{not_run[0]}; fix the cause and run again to resume")
    wall = time.perf_counter() - t0
    n = summary.n_ok + summary.n_error
    summary.timing = {"wall_s": wall, "images_per_s": n / wall if wall > 0 and n else None,
                      "mean_runtime_s": float(np.mean(runtimes)) if runtimes else None}
