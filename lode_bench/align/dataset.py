"""Aligning a whole folder of captured pairs into a dataset (``lode-bench align``).

:func:`align_dataset` finds the pairs (:mod:`lode_bench.align.pairs`), aligns each with
:func:`lode_bench.align.pipeline.align_pair` (per pair, or per scene from its reference
pair), writes the standard dataset layout through :class:`DatasetWriter` (resumable),
a QC table ``qc.csv`` and an overview ``qc_overview.png``. A pair that cannot be
aligned is recorded as failed with its reason, listed in the manifest's
``meta.failed``, and the run goes on.

The work is one unit per scene (:func:`align_scene`: plain data in, images and QC
records out, no disk writes), so an executor (a local pool or a Ray cluster) can align
scenes in parallel; this process alone writes the dataset and its journal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from lode_bench.align.flow import LODE_FLOW_THRESHOLD, flow_rule
from lode_bench.align.pairs import Pair, find_pairs
from lode_bench.align.pipeline import (
    AlignConfig,
    SceneTransform,
    align_pair,
    estimate_scene_transform,
)
from lode_bench.align.qc import QCRecord, render_overview, write_qc_csv
from lode_bench.datasets.manifest import DatasetWriter
from lode_bench.errors import ImageReadError, LodeBenchError
from lode_bench.io import read_image
from lode_bench.parallel.executor import Executor, LocalExecutor


@dataclass
class AlignReport:
    """What :func:`align_dataset` did."""

    out_dir: Path
    records: list[QCRecord]
    unmatched: list[str]
    qc_csv: Path
    overview: Path | None

    def count(self, status: str) -> int:
        return sum(1 for r in self.records if r.status == status)


def _config_json(cfg: AlignConfig) -> dict[str, Any]:
    return asdict(cfg)


@dataclass(frozen=True)
class SceneJob:
    """The pairs of one scene still to align (``scene_pairs``: all of them, for the reference)."""

    scene: str
    pairs: tuple[Pair, ...]
    scene_pairs: tuple[Pair, ...]
    cfg: AlignConfig
    root_in: Path


@dataclass
class AlignedSample:
    """One pair's outcome: its QC record and, unless it failed, the images and manifest extras."""

    record: QCRecord
    images: dict[str, np.ndarray] | None = None
    extra: dict[str, Any] | None = None
    arrays: dict[str, np.ndarray] | None = None


def _record(p: Pair, scene: str, root_in: Path) -> QCRecord:
    return QCRecord(
        id=p.pair_id,
        scene=scene,
        blur_source=p.blur.relative_to(root_in).as_posix(),
        sharp_source=p.sharp.relative_to(root_in).as_posix(),
    )


def align_scene(job: SceneJob) -> list[AlignedSample]:
    """Align the pending pairs of one scene (no disk writes); a bad pair becomes a failed record."""
    scene_tf: SceneTransform | None = None
    scene_err: str | None = None
    out = []
    for p in job.pairs:
        rec = _record(p, job.scene, job.root_in)
        if job.cfg.mode == "per-scene" and scene_tf is None and scene_err is None:
            scene_tf, scene_err = _scene_transform(list(job.scene_pairs), job.cfg)
        out.append(_process(p, job.cfg, rec, scene_tf, scene_err))
    return out


def align_dataset(
    input_dir: str | Path,
    out_dir: str | Path,
    cfg: AlignConfig | None = None,
    *,
    name: str | None = None,
    split: str = "test",
    overview_count: int = 6,
    progress: bool | None = None,
    log: Callable[[str], None] | None = None,
    executor: Executor | None = None,
) -> AlignReport:
    """Align every pair under ``input_dir`` and write the aligned dataset to ``out_dir``.

    Args:
        input_dir: folder of pairs (see :func:`lode_bench.align.pairs.find_pairs`).
        out_dir: output dataset root (resumes when it already holds a partial run).
        cfg: alignment settings.
        name: dataset name in the manifest (default: the input folder's name).
        split: split the samples are written to.
        overview_count: pairs shown in ``qc_overview.png`` (0 = no overview).
        progress: show a progress bar (``None``: only on a terminal).
        log: called with one line per failed pair and per unmatched file.
        executor: align scenes on this executor (one unit per scene); ``None`` aligns
            them here, one after the other (``LocalExecutor("serial")``). The outputs do not depend on it.

    Returns:
        The report: QC records of all pairs (failed ones included), unmatched names,
        paths of the QC table and overview.

    Example:
        Two captured-like pairs (a random homography and exposure change between blurry
        and sharp) made from built-in photographs, then aligned:

        >>> import tempfile
        >>> from pathlib import Path
        >>> import numpy as np
        >>> from lode_bench.align.simulate import simulate_pair
        >>> from lode_bench.io import write_image
        >>> from lode_bench.synth.builtin import builtin_photo
        >>> tmp = tempfile.TemporaryDirectory()
        >>> captures = Path(tmp.name, "captures")
        >>> rng = np.random.default_rng(0)
        >>> for i, photo in enumerate(["coffee", "chelsea"]):
        ...     pair = simulate_pair(builtin_photo(photo), (200, 256), rng)
        ...     _ = write_image(captures / "blur" / f"{i:04d}.png", pair.blur)
        ...     _ = write_image(captures / "sharp" / f"{i:04d}.png", pair.sharp)
        >>> report = align_dataset(captures, Path(tmp.name, "aligned"), overview_count=0,
        ...                        progress=False)
        >>> report.count("ok"), report.unmatched, report.qc_csv.name
        (2, [], 'qc.csv')
        >>> tmp.cleanup()
    """
    from tqdm.auto import tqdm

    cfg = cfg or AlignConfig()
    root_in, root_out = Path(input_dir), Path(out_dir)
    pairs = find_pairs(root_in)
    unmatched = [u.replace(str(root_in) + "/", "") for u in pairs.unmatched]
    meta = {"tool": "lode-bench align", "input": root_in.name, "config": _config_json(cfg)}
    writer = DatasetWriter(root_out, name or root_in.resolve().name, meta=meta)
    scenes = pairs.scenes()
    order = {p.pair_id: i for i, p in enumerate(p for plist in scenes.values() for p in plist)}
    by_id: dict[str, QCRecord] = {}
    files: dict[str, dict[str, Path]] = {}
    bar = tqdm(
        total=len(pairs.pairs),
        desc="align",
        unit="pair",
        disable=None if progress is None else not progress,
    )
    jobs: list[SceneJob] = []
    for scene_name, plist in scenes.items():
        todo = []
        for p in plist:
            if writer.has_sample(p.pair_id, split=split):
                entry = writer.sample(p.pair_id, split=split) or {}
                by_id[p.pair_id] = QCRecord.from_json(
                    entry.get("align", _record(p, scene_name, root_in).to_json())
                )
                files[p.pair_id] = {r: root_out / rel for r, rel in entry.get("files", {}).items()}
                bar.update(1)
            else:
                todo.append(p)
        if todo:
            jobs.append(SceneJob(scene_name, tuple(todo), tuple(plist), cfg, root_in))

    def done(job: SceneJob, result: list[AlignedSample] | BaseException) -> None:
        if isinstance(result, BaseException):  # the unit itself broke (e.g. its worker was lost)
            msg = f"scene {job.scene!r} could not be aligned: {type(result).__name__}: {result}"
            result = [AlignedSample(_record(p, job.scene, root_in)) for p in job.pairs]
            for a in result:
                a.record.fail("error", msg)
        for a in result:
            rec = a.record
            if a.images is not None:
                entry = writer.write_sample(
                    rec.id, a.images, split=split, extra=a.extra, arrays=a.arrays or None
                )
                files[rec.id] = {r: writer.root / rel for r, rel in entry["files"].items()}
            by_id[rec.id] = rec
            if rec.status == "failed" and log is not None:
                log(f"FAILED {rec.id}: {rec.reason}")
            bar.update(1)

    with LocalExecutor(kind="serial") as serial:
        for job, result in (executor or serial).map_unordered(align_scene, jobs):
            done(job, result)
    bar.close()
    records = sorted(by_id.values(), key=lambda r: order.get(r.id, len(order)))
    if log is not None:
        for u in unmatched:
            log(f"UNMATCHED {u}")
    writer.meta["failed"] = [
        {"id": r.id, "flags": r.flags, "reason": r.reason} for r in records if r.status == "failed"
    ]
    writer.meta["unmatched"] = unmatched
    writer.finalize()
    qc_csv = write_qc_csv(root_out / "qc.csv", records)
    overview = None
    if overview_count > 0:
        overview = render_overview(
            root_out / "qc_overview.png", records, files, count=overview_count
        )
    return AlignReport(
        out_dir=root_out, records=records, unmatched=unmatched, qc_csv=qc_csv, overview=overview
    )


def _scene_transform(
    plist: list[Pair], cfg: AlignConfig
) -> tuple[SceneTransform | None, str | None]:
    keys = [p.key for p in plist]
    ref = plist[keys.index(cfg.reference)] if cfg.reference in keys else plist[0]
    note = (
        "" if cfg.reference in (None, ref.key) else f" (reference {cfg.reference!r} not in scene)"
    )
    try:
        st = estimate_scene_transform(read_image(ref.blur), read_image(ref.sharp), cfg, ref.key)
    except (LodeBenchError, ValueError, cv2.error) as exc:
        return None, f"reference pair {ref.pair_id} failed{note}: {exc}"
    if note:
        st.notes.append(note.strip())
    return st, None


def _process(
    p: Pair, cfg: AlignConfig, rec: QCRecord, scene_tf: SceneTransform | None, scene_err: str | None
) -> AlignedSample:
    if scene_err is not None:
        rec.fail("reference_failed", scene_err)
        return AlignedSample(rec)
    try:
        blur = read_image(p.blur)
        sharp = read_image(p.sharp)
    except ImageReadError as exc:
        rec.fail("read_error", str(exc))
        return AlignedSample(rec)
    try:
        out = align_pair(blur, sharp, cfg, record=rec, scene=scene_tf)
    except Exception as exc:  # noqa: BLE001 - one bad pair must not stop the run
        rec.fail("error", f"unexpected {type(exc).__name__}: {exc}")
        return AlignedSample(rec)
    if out is None:
        return AlignedSample(rec)
    images: dict[str, np.ndarray] = {"blur": out.blur, "sharp": out.sharp}
    if out.mask is not None:
        images["mask"] = out.mask
    extra: dict[str, Any] = {
        "align": rec.to_json(),
        "source": {"blur": rec.blur_source, "sharp": rec.sharp_source},
    }
    arrays: dict[str, np.ndarray] = {}
    if out.mask is not None:
        extra["mask_coverage"] = rec.mask_coverage
        extra["mask_rule"] = cfg.mask.rule()
    if out.flow is not None:
        arrays["flow_magnitude"] = out.flow
        extra["flow_magnitude_rule"] = (
            f"LODE: {flow_rule(LODE_FLOW_THRESHOLD, cfg.mask.flow_method)}"
        )
    return AlignedSample(rec, images, extra, arrays)
