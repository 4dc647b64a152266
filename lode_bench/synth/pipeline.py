"""Run a recipe on a source and write the dataset (standard layout + manifest.json).

:func:`run_recipe` plans the samples (:mod:`lode_bench.synth.planning`), skips the
finished ones (journalled by :class:`~lode_bench.datasets.manifest.DatasetWriter` and
still hashing right) and sends the rest to an executor as tasks: one per sequence, long
sequences split into tasks of at most ``samples_per_task`` samples (object recipes:
batches of that many scenes). Without an executor the tasks run here, one after the
other (``LocalExecutor("serial")``). A task computes its samples completely in memory
and returns the arrays, so bad input raises before anything of that sample reaches the
disk; only this process encodes, writes (atomically) and journals them, so a task that
a cluster runs twice after losing a worker changes nothing, and the dataset is
byte-identical whichever executor ran it.

Sources are described in :mod:`lode_bench.synth.sources`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from lode_bench.datasets.manifest import DatasetWriter, Manifest
from lode_bench.parallel.executor import Executor, LocalExecutor
from lode_bench.synth.planning import Job, group_jobs, plan_jobs
from lode_bench.synth.recipes import Recipe
from lode_bench.synth.samples import (
    NotEnoughFramesError,
    ObjectLibrary,
    SampleResult,
    global_sample,
    local_object_sample,
    local_real_sample,
)
from lode_bench.synth.sources import Source, object_library

__all__ = ["ComputedSample", "SynthTask", "compute_job", "compute_task", "run_recipe"]


def compute_job(
    job: Job, recipe: Recipe, rng: np.random.Generator, library: ObjectLibrary | None
) -> SampleResult:
    """Compute one planned sample (no disk writes)."""
    if recipe.kind in ("local-objects", "local-shake"):
        assert library is not None
        res = local_object_sample(library, recipe, rng)
        res.extra.update(kind="local", source=library.name)
        return res
    assert job.source is not None
    if job.start + job.n > len(job.source):
        raise NotEnoughFramesError(
            f"{job.source.name}: window {job.start}..{job.start + job.n - 1} "
            f"needs {job.n} frames, source has {len(job.source)}"
        )
    if recipe.kind == "global":
        # streamed: averaging overlaps with decoding the rest of the window
        res = global_sample(job.source.iter_range(job.start, job.start + job.n), recipe, rng)
        res.extra["kind"] = "global"
    else:
        res = local_real_sample(job.source.read_range(job.start, job.start + job.n), recipe, rng)
        res.extra["kind"] = "local"
    res.extra.update(
        source=job.source.name,
        frame_range=[job.start, job.start + job.n],
        target_frame=job.start + job.n // 2,
        n_frames=job.n,
        timestamps=[
            job.source.info(job.start).timestamp,
            job.source.info(job.start + job.n - 1).timestamp,
        ],
        bit_depth=job.source.bit_depth,
        colour_path=job.source.colour_path,
    )
    raw_meta = getattr(job.source, "raw_meta", None)
    if raw_meta:
        res.extra["raw"] = {k: v for k, v in raw_meta.items() if k not in ("bit_depth",)}
    return res


@dataclass(frozen=True)
class SynthTask:
    """A batch of planned samples of one sequence (or of scenes), computed by one worker.

    Object recipes name their library by ``library_source`` (``"builtin"`` or a folder)
    and ``library_size``; each worker process loads it once (it is megabytes, too large to
    ship with every task). An in-memory ``library`` is shipped as it is.
    """

    jobs: tuple[Job, ...]
    recipe: Recipe
    seed: int
    library: ObjectLibrary | None = None
    library_source: str | None = None
    library_size: tuple[int, int] | None = None
    objects_library: str | None = None


_LIBRARIES: dict[tuple[str, tuple[int, int] | None, str | None], ObjectLibrary] = {}
_LIBRARIES_LOCK = threading.Lock()


def _task_library(task: SynthTask) -> ObjectLibrary | None:
    if task.library is not None or task.library_source is None:
        return task.library
    key = (task.library_source, task.library_size, task.objects_library)
    with _LIBRARIES_LOCK:
        if key not in _LIBRARIES:
            if len(_LIBRARIES) >= 2:
                _LIBRARIES.clear()
            _LIBRARIES[key] = object_library(
                task.library_source, size=task.library_size, objects_dir=task.objects_library
            )
        return _LIBRARIES[key]


@dataclass
class ComputedSample:
    """What a task returns per sample: everything :meth:`DatasetWriter.write_sample` needs."""

    sample_id: str
    images: dict[str, np.ndarray]
    arrays: dict[str, np.ndarray]
    extra: dict[str, Any]
    paths: dict[str, str] | None = None


def _sample_extra(res: SampleResult, recipe: Recipe, seed: int, job: Job) -> dict[str, Any]:
    return {
        **res.extra,
        "recipe": recipe.name,
        "recipe_hash": recipe.recipe_hash,
        "seed": seed,
        "sample_index": job.index,
    }


def compute_task(task: SynthTask) -> list[ComputedSample]:
    """Compute every sample of ``task`` (no disk writes; each job seeded by its index)."""
    out = []
    library = _task_library(task)
    for job in task.jobs:
        rng = np.random.default_rng([task.seed, job.index])
        res = compute_job(job, task.recipe, rng, library)
        out.append(
            ComputedSample(
                job.sample_id,
                dict(res.images),
                dict(res.arrays or {}),
                _sample_extra(res, task.recipe, task.seed, job),
                job.paths,
            )
        )
    return out


def _write_computed(writer: DatasetWriter, c: ComputedSample, split: str) -> None:
    writer.write_sample(
        c.sample_id, c.images, split=split, paths=c.paths, arrays=c.arrays or None, extra=c.extra
    )


def _run_tasks(
    executor: Executor, tasks: list[SynthTask], writer: DatasetWriter, split: str, bar: Any
) -> None:
    """Send tasks to the executor; write each returned sample here; re-raise the first failure."""
    results = executor.map_unordered(compute_task, tasks)
    try:
        for _task, res in results:
            if isinstance(res, BaseException):
                raise res
            for c in res:
                _write_computed(writer, c, split)
                bar.update(1)
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()


def iter_pending(writer: DatasetWriter, jobs: list[Job], split: str) -> Iterator[Job]:
    for job in jobs:
        if not writer.has_sample(job.sample_id, split=split):
            yield job


def run_recipe(
    recipe: Recipe,
    out_dir: str | Path,
    *,
    source: Source = "builtin",
    seed: int | None = None,
    limit: int | None = None,
    size: tuple[int, int] | None = None,
    progress: bool = True,
    name: str | None = None,
    executor: Executor | None = None,
    samples_per_task: int = 8,
    overwrite: bool = False,
    fps: float | None = None,
) -> Manifest:
    """Synthesise a dataset with ``recipe`` from ``source`` into ``out_dir``.

    Args:
        recipe: a validated recipe (:func:`lode_bench.synth.recipes.load_recipe`).
        out_dir: dataset root (created; resumed when it holds a previous run).
        source: ``"builtin"``, a frame folder / video / folder of sequences, an object
            library folder, or an in-memory source.
        seed: overrides the recipe's seed.
        limit: at most this many samples (the first ones of the plan).
        size: (H, W) of the built-in scene / object-library backgrounds (default 240×320
            for built-in; native size for folders).
        progress: show a progress bar.
        name: dataset name (default: the recipe name).
        executor: run the samples on this executor (a local pool or a Ray cluster), one
            task per sequence or scene; ``None`` runs the tasks here, one after the other
            (``LocalExecutor("serial")``). The
            dataset's bytes do not depend on the executor.
        samples_per_task: most samples in one task (long sequences are split).
        overwrite: replace a dataset in ``out_dir`` made with another recipe, seed or size
            (default: refuse it, so that samples of both never mix).
        fps: capture rate of frame folders without ``frames.json`` (default 240), or
            a video's true rate when its container says otherwise.

    Returns:
        The finalised manifest.
    """
    seed = int(recipe.seed if seed is None else seed)
    builtin_size = size or (240, 320)
    timing: dict[str, Any] = {}
    jobs = plan_jobs(
        recipe, source, seed=seed, size=builtin_size, limit=limit, fps=fps, timing=timing
    )
    object_kind = recipe.kind in ("local-objects", "local-shake")
    library_size = size if str(source) != "builtin" else builtin_size
    objects_dir = recipe.object_library_path() if object_kind else None
    library = (
        object_library(source, size=library_size, objects_dir=objects_dir) if object_kind else None
    )
    meta: dict[str, Any] = {
        "recipe": recipe.name,
        "recipe_hash": recipe.recipe_hash,
        "seed": seed,
        "recipe_config": recipe.config,
        "generator": "lode-bench synth",
        "size": list(size) if size else None,
    }
    if timing:
        meta["timing"] = timing
    if objects_dir is not None:
        from lode_bench.capture.objects import LIBRARY_INDEX
        from lode_bench.io import sha256_file

        lib_doc = json.loads((Path(objects_dir) / LIBRARY_INDEX).read_text(encoding="utf-8"))
        meta["object_library"] = {
            "name": lib_doc["name"],
            "licence": lib_doc["licence"],
            "index_sha256": sha256_file(Path(objects_dir) / LIBRARY_INDEX),
        }
    if recipe.bit_depth != 8:
        meta["output_bit_depth"] = recipe.bit_depth
    writer = DatasetWriter(
        out_dir,
        name or recipe.name,
        meta=meta,
        identity=("generator", "recipe_hash", "seed", "size"),
        overwrite=overwrite,
    )
    split = recipe.split
    pending = list(iter_pending(writer, jobs, split))
    # a worker in another process loads a named library itself (once per process);
    # in-process workers share the one loaded here
    in_process = executor is None or (
        isinstance(executor, LocalExecutor) and executor.kind != "process"
    )
    by_name = object_kind and isinstance(source, (str, Path)) and not in_process
    tasks = [
        SynthTask(
            g,
            recipe,
            seed,
            None if by_name else library,
            str(source) if by_name else None,
            library_size if by_name else None,
            str(objects_dir) if by_name and objects_dir is not None else None,
        )
        for g in group_jobs(pending, samples_per_task)
    ]
    with tqdm(
        total=len(pending), desc=f"synth {recipe.name}", unit="sample", disable=not progress
    ) as bar:
        if executor is None:
            with LocalExecutor(kind="serial") as serial:
                _run_tasks(serial, tasks, writer, split, bar)
        else:
            _run_tasks(executor, tasks, writer, split, bar)
    return writer.finalize()
