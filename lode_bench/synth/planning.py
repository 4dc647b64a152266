"""Planning a synthesis run: the deterministic list of samples, before any is computed.

Work is planned up front as a list of :class:`Job` (which frames, which sample id);
each job gets its own random generator ``default_rng([seed, job.index])`` when it runs,
so the same seed gives identical bytes however the jobs are grouped, ordered or
resumed. :func:`group_jobs` cuts the plan into tasks (one per sequence, long sequences
split) for an executor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from lode_bench.capture.frames import FrameSource
from lode_bench.capture.timing import plan_windows_by_time, window_stride
from lode_bench.errors import ConfigError
from lode_bench.synth.recipes import Recipe
from lode_bench.synth.samples import NotEnoughFramesError
from lode_bench.synth.sources import Source, frame_sources


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


def plan_jobs(
    recipe: Recipe,
    source: Source,
    *,
    seed: int,
    size: tuple[int, int],
    limit: int | None,
    fps: float | None = None,
    timing: dict[str, Any] | None = None,
) -> list[Job]:
    """The deterministic list of samples a run will produce.

    A source whose measured timestamps are irregular (variable frame rate, dropped or
    duplicated frames; :mod:`lode_bench.capture.timing`) gets windows chosen by time;
    its timing report goes into ``timing`` (source name -> report) when given.
    """
    jobs: list[Job] = []
    split = recipe.split
    if recipe.kind in ("local-objects", "local-shake"):
        count = recipe.samples if limit is None else min(limit, recipe.samples)
        return [Job(index=i, sample_id=f"{i:05d}") for i in range(count)]
    fr = recipe.frames
    gopro = recipe.layout == "gopro"
    plan_rng = np.random.default_rng([seed, 7919])
    for src in frame_sources(source, recipe, size=size, seed=seed, fps=fps):
        report = src.timing()
        per_seq = fr.windows_per_sequence if gopro else None
        if report is not None and report.irregular:
            plan = plan_windows_by_time(
                src.timestamps,
                recipe.n_choices(),
                fr.duty_cycle,
                plan_rng,
                nominal_interval=report.nominal_interval,
                per_sequence=per_seq,
                repeated=report.repeated,
            )
            windows = plan.windows
            if timing is not None:
                timing[src.name] = {
                    **report.as_dict(),
                    "windows": "by time",
                    "windows_moved_past_gaps": plan.skipped,
                }
        else:
            windows = plan_windows(
                len(src), recipe.n_choices(), fr.duty_cycle, plan_rng, per_sequence=per_seq
            )
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
