"""Run a recipe on a source and write the dataset (standard layout + manifest.json).

Work is planned up front as a deterministic list of jobs (which frames, which sample
id); each job gets its own random generator ``default_rng([seed, job_index])``, so the
same seed gives identical bytes whether a run goes straight through or is interrupted
and resumed. Finished samples (journalled by
:class:`~lode_bench.datasets.manifest.DatasetWriter` and still hashing right) are
skipped; a sample is computed completely in memory before any file of it is written,
so bad input raises before anything of that sample reaches the disk.

With an executor (``executor=``; a local pool or a Ray cluster) the work goes out as
one task per sequence, long sequences split into tasks of at most ``samples_per_task``
samples (object recipes: batches of that many scenes). A task computes its samples and returns the arrays;
only this process encodes, writes (atomically) and journals them, so a task that a
cluster runs twice after losing a worker changes nothing, and the dataset is
byte-identical to an in-process run.

Sources:

* ``"builtin"``: the built-in scene (:mod:`lode_bench.synth.builtin`);
* a folder of frames, or a folder of sequence folders (one sequence each);
* a video file;
* for ``local-objects`` / ``local-shake``: a folder with ``backgrounds/`` and
  ``objects/`` (RGBA PNGs, or ``<name>.png`` + ``<name>.mask.png``).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm import tqdm

from lode_bench.capture.frames import FrameSource, FrameSourceError, has_frames, open_frame_source
from lode_bench.capture.timing import plan_windows_by_time, window_stride
from lode_bench.datasets.manifest import DatasetWriter, Manifest
from lode_bench.errors import ConfigError
from lode_bench.io import list_images, read_image
from lode_bench.synth.builtin import (
    BACKGROUNDS,
    builtin_global_source,
    builtin_local_source,
    builtin_objects,
    builtin_photo,
    fit_photo,
)
from lode_bench.synth.recipes import Recipe
from lode_bench.synth.samples import (
    NotEnoughFramesError,
    ObjectLibrary,
    SampleResult,
    global_sample,
    local_object_sample,
    local_real_sample,
)

if TYPE_CHECKING:
    from lode_bench.parallel.executor import Executor

Source = str | Path | FrameSource | ObjectLibrary | list[FrameSource]


@dataclass(frozen=True)
class Job:
    """One planned sample."""

    index: int
    sample_id: str
    source: FrameSource | None = None
    start: int = 0
    n: int = 1
    paths: dict[str, str] | None = None


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "seq"


def plan_windows(
    n_available: int,
    n_choices: list[int],
    duty_cycle: float,
    rng: np.random.Generator,
    *,
    per_sequence: int | None = None,
) -> list[tuple[int, int, int]]:
    """Disjoint windows over ``n_available`` frames.

    Args:
        n_available: frames in the source.
        n_choices: allowed window lengths (frames averaged).
        duty_cycle: exposed fraction of each output frame period. A window of ``n``
            frames spans ``n - 1`` source intervals, so the next window starts
            ``(n - 1) / duty_cycle`` frames after the current one (rounded half up, and
            at least ``n`` so windows never share a frame): REDS' 5-frame windows at
            duty cycle 0.8 start every 5 frames (PROTOCOLS §3.2); at duty cycle 1 the
            windows tile the source (stride ``n``, as GoPro).
        rng: draws the window lengths.
        per_sequence: draw one length per group of this many windows (GoPro layout);
            ``None``: one draw per window.

    Returns:
        (start, n, group) per window, in order.
    """
    out: list[tuple[int, int, int]] = []
    cursor, group, in_group = 0, 0, 0
    n = int(rng.choice(n_choices))
    while True:
        if per_sequence is None:
            n = int(rng.choice(n_choices)) if out else n
        elif in_group == per_sequence:
            group, in_group, n = group + 1, 0, int(rng.choice(n_choices))
        if cursor + n > n_available:
            break
        out.append((cursor, n, group))
        in_group += 1
        cursor += window_stride(n, duty_cycle)
    return out


def frame_sources(
    source: Source, recipe: Recipe, *, size: tuple[int, int], seed: int, fps: float | None = None
) -> list[FrameSource]:
    """Resolve ``source`` into frame sequences for ``global`` / ``local-real`` recipes.

    ``fps`` is the capture rate of frame folders (and overrides a video's container rate).
    """
    if isinstance(source, FrameSource):
        return [source]
    if isinstance(source, list):
        return source
    if isinstance(source, ObjectLibrary):
        raise ConfigError(f"recipe kind {recipe.kind!r} needs frames, not an object library")
    if str(source) == "builtin":
        if recipe.kind == "local-real":
            return [builtin_local_source(size=size, seed=seed, response=recipe.response())]
        return [builtin_global_source(size=size, seed=seed)]
    p = Path(source)
    raw = recipe.config.get("raw")
    if p.is_dir() and not has_frames(p):
        subs = [d for d in sorted(p.iterdir()) if has_frames(d)]
        if not subs:
            raise FrameSourceError(f"{p}: holds neither frames nor sequence folders with frames")
        return [open_frame_source(d, fps=fps, raw=raw) for d in subs]
    return [open_frame_source(p, fps=fps, raw=raw)]


def _read_rgba(path: Path) -> np.ndarray:
    """RGBA float from an image file: colour and alpha recovered from two composites."""
    mask_path = path.with_name(path.stem + ".mask.png")
    if mask_path.is_file():
        rgb = read_image(path, dtype="float32")
        a = read_image(mask_path, dtype="float32")[..., 0]
        if a.shape != rgb.shape[:2]:
            raise ConfigError(f"{mask_path}: size differs from {path}")
        return np.dstack([rgb, a]).astype(np.float32)
    black = read_image(path, dtype="float32", alpha="black").astype(np.float64)
    white = read_image(path, dtype="float32", alpha="white").astype(np.float64)
    a = np.clip(1.0 - (white - black).mean(axis=2), 0.0, 1.0)
    rgb = np.where(a[..., None] > 1e-6, black / np.maximum(a[..., None], 1e-6), 0.0)
    return np.dstack([np.clip(rgb, 0, 1), a]).astype(np.float32)


def object_library(
    source: Source, *, size: tuple[int, int] | None, objects_dir: str | Path | None = None
) -> ObjectLibrary:
    """Resolve ``source`` into backgrounds + objects for ``local-objects`` / ``local-shake``.

    ``objects_dir`` (a recipe's ``objects.library``) replaces the source's objects by
    those of a library folder built by ``lode-bench capture objects``.
    """
    if objects_dir is not None:
        from lode_bench.capture.objects import load_object_library

        base = object_library(source, size=size)
        objs, doc = load_object_library(objects_dir)
        return ObjectLibrary(backgrounds=base.backgrounds, objects=objs,
                             name=f"{base.name}+{doc['name']}")
    if isinstance(source, ObjectLibrary):
        return source
    if str(source) == "builtin":
        sz = size or (240, 320)
        return ObjectLibrary(
            backgrounds=[(b, fit_photo(builtin_photo(b), sz)) for b in BACKGROUNDS],
            objects=builtin_objects(),
            name="builtin",
        )
    p = Path(str(source))
    bdir, odir = p / "backgrounds", p / "objects"
    if not bdir.is_dir() or not odir.is_dir():
        raise FrameSourceError(
            f"{p}: an object library needs 'backgrounds/' and 'objects/' folders"
        )
    bgs = []
    for f in list_images(bdir):
        img = read_image(f)
        bgs.append((f.stem, fit_photo(img, size) if size else img))
    if (p / "library.json").is_file():  # a built library with backgrounds/: files checked
        from lode_bench.capture.objects import load_object_library

        objs = load_object_library(p)[0]
    else:
        objs = [(f.stem, _read_rgba(f)) for f in list_images(odir)
                if not f.name.endswith(".mask.png")]
    if size is None and len({b.shape for _, b in bgs}) > 1:
        raise ConfigError(f"{bdir}: backgrounds differ in size; pass a size to resize them")
    return ObjectLibrary(backgrounds=bgs, objects=objs, name=p.name)


def plan_jobs(
    recipe: Recipe, source: Source, *, seed: int, size: tuple[int, int], limit: int | None,
    fps: float | None = None, timing: dict[str, Any] | None = None,
) -> list[Job]:
    """The deterministic list of samples a run will produce.

    A source whose measured timestamps are irregular (variable frame rate, dropped or
    duplicated frames; :mod:`lode_bench.capture.timing`) gets windows chosen by time;
    its timing report goes into ``timing`` (source name -> report) when given.
    """
    jobs: list[Job] = []
    split = recipe["split"]
    if recipe.kind in ("local-objects", "local-shake"):
        count = recipe["samples"] if limit is None else min(limit, recipe["samples"])
        return [Job(index=i, sample_id=f"{i:05d}") for i in range(count)]
    fr = recipe["frames"]
    gopro = recipe["layout"] == "gopro"
    plan_rng = np.random.default_rng([seed, 7919])
    for src in frame_sources(source, recipe, size=size, seed=seed, fps=fps):
        report = src.timing()
        per_seq = int(fr["windows_per_sequence"]) if gopro else None
        if report is not None and report.irregular:
            plan = plan_windows_by_time(src.timestamps, recipe.n_choices(),
                                        float(fr["duty_cycle"]), plan_rng,
                                        nominal_interval=report.nominal_interval,
                                        per_sequence=per_seq, repeated=report.repeated)
            windows = plan.windows
            if timing is not None:
                timing[src.name] = {**report.as_dict(), "windows": "by time",
                                    "windows_moved_past_gaps": plan.skipped}
        else:
            windows = plan_windows(len(src), recipe.n_choices(), float(fr["duty_cycle"]),
                                   plan_rng, per_sequence=per_seq)
        if not windows:
            raise NotEnoughFramesError(
                f"{src.name}: {len(src)} frames, fewer than the "
                f"{min(recipe.n_choices())} a window needs"
            )
        prefix = _slug(src.name)
        for start, n, group in windows:
            target = start + n // 2
            if gopro:
                seq = f"{prefix}_{n:02d}_{group:02d}"
                sid = f"{seq}/{target:06d}"
                roles = [*recipe.tracks(), "sharp", "mask"]
                paths = {r: f"{split}/{seq}/{r}/{target:06d}.png" for r in roles}
                paths["flow_magnitude"] = f"{split}/{seq}/flow_magnitude/{target:06d}.npy"
            else:
                sid, paths = f"{prefix}_{target:06d}", None
            jobs.append(
                Job(index=len(jobs), sample_id=sid, source=src, start=start, n=n, paths=paths)
            )
            if limit is not None and len(jobs) >= limit:
                return jobs
    return jobs


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
            _LIBRARIES[key] = object_library(task.library_source, size=task.library_size,
                                             objects_dir=task.objects_library)
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
    return {**res.extra, "recipe": recipe.name, "recipe_hash": recipe.recipe_hash, "seed": seed,
            "sample_index": job.index}


def compute_task(task: SynthTask) -> list[ComputedSample]:
    """Compute every sample of ``task`` (no disk writes; each job seeded by its index)."""
    out = []
    library = _task_library(task)
    for job in task.jobs:
        rng = np.random.default_rng([task.seed, job.index])
        res = compute_job(job, task.recipe, rng, library)
        out.append(ComputedSample(job.sample_id, dict(res.images), dict(res.arrays or {}),
                                  _sample_extra(res, task.recipe, task.seed, job), job.paths))
    return out


def group_jobs(jobs: list[Job], samples_per_task: int) -> list[tuple[Job, ...]]:
    """Consecutive jobs of the same sequence, at most ``samples_per_task`` per group.

    Jobs without a frame source (object scenes) are grouped the same way by plan order.
    """
    if samples_per_task < 1:
        raise ConfigError(f"samples_per_task must be >= 1, got {samples_per_task}")
    groups: list[list[Job]] = []
    for job in jobs:
        last = groups[-1] if groups else None
        same = last is not None and (last[0].source is job.source) and len(last) < samples_per_task
        if same and last is not None:
            last.append(job)
        else:
            groups.append([job])
    return [tuple(g) for g in groups]


def _write_computed(writer: DatasetWriter, c: ComputedSample, split: str) -> None:
    writer.write_sample(c.sample_id, c.images, split=split, paths=c.paths, arrays=c.arrays or None,
                        extra=c.extra)


def _run_tasks(executor: Executor, tasks: list[SynthTask], writer: DatasetWriter, split: str,
               bar: Any) -> None:
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
            task per sequence or scene; ``None`` computes them here, one by one. The
            dataset's bytes do not depend on the executor.
        samples_per_task: most samples in one task (long sequences are split).
        overwrite: replace a dataset in ``out_dir`` made with another recipe, seed or size
            (default: refuse it, so that samples of both never mix).
        fps: capture rate of frame folders without ``frames.json`` (default 240), or
            a video's true rate when its container says otherwise.

    Returns:
        The finalised manifest.
    """
    seed = int(recipe["seed"] if seed is None else seed)
    builtin_size = size or (240, 320)
    timing: dict[str, Any] = {}
    jobs = plan_jobs(recipe, source, seed=seed, size=builtin_size, limit=limit, fps=fps,
                     timing=timing)
    object_kind = recipe.kind in ("local-objects", "local-shake")
    library_size = size if str(source) != "builtin" else builtin_size
    objects_dir = recipe.object_library_path() if object_kind else None
    library = (object_library(source, size=library_size, objects_dir=objects_dir)
               if object_kind else None)
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
        meta["object_library"] = {"name": lib_doc["name"], "licence": lib_doc["licence"],
                                  "index_sha256": sha256_file(Path(objects_dir) / LIBRARY_INDEX)}
    if recipe.config.get("bit_depth", 8) != 8:
        meta["output_bit_depth"] = recipe.config["bit_depth"]
    writer = DatasetWriter(out_dir, name or recipe.name, meta=meta,
                           identity=("generator", "recipe_hash", "seed", "size"), overwrite=overwrite)
    split = recipe["split"]
    pending = list(iter_pending(writer, jobs, split))
    if executor is not None:
        by_name = object_kind and isinstance(source, (str, Path))
        tasks = [
            SynthTask(g, recipe, seed, None if by_name else library,
                      str(source) if by_name else None, library_size if by_name else None,
                      str(objects_dir) if by_name and objects_dir is not None else None)
            for g in group_jobs(pending, samples_per_task)
        ]
        with tqdm(total=len(pending), desc=f"synth {recipe.name}", unit="sample",
                  disable=not progress) as bar:
            _run_tasks(executor, tasks, writer, split, bar)
        return writer.finalize()
    for job in tqdm(pending, desc=f"synth {recipe.name}", unit="sample", disable=not progress):
        rng = np.random.default_rng([seed, job.index])
        res = compute_job(job, recipe, rng, library)
        writer.write_sample(
            job.sample_id,
            res.images,
            split=split,
            paths=job.paths,
            arrays=res.arrays or None,
            extra=_sample_extra(res, recipe, seed, job),
        )
    return writer.finalize()
