"""Score a folder of outputs against ground truth under a named protocol.

Files are paired by **identity**, never by listing order, through the one folder index
of :mod:`lode_bench.io.folders` (the ``folder=DIR`` model adapter pairs the same way): a
missing prediction becomes an error row for that image, a prediction without ground
truth is reported, and two files with one id (``x.png`` and ``x.jpg``) are refused.
The ground truth is a folder (:func:`pair_folders`) or a loaded dataset
(:func:`pair_samples`: GoPro, RealBlur, ... with their own ids and masks).

Inputs that would give silently wrong numbers are refused per image: a mask that is
not binary-like (an RGB photo; ``mask_threshold`` overrides) and a greyscale prediction
against colour ground truth (``allow_grey`` overrides). The checks live in
:mod:`lode_bench.metrics.inputs`, shared with ``lode-bench run``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from typing import Protocol as TypingProtocol

import cv2
import numpy as np

from lode_bench.errors import ImageReadError, LodeBenchError
from lode_bench.io.folders import index_images, match_predictions, no_pairs_message
from lode_bench.io.images import IMAGE_EXTENSIONS
from lode_bench.metrics.inputs import check_channels, count_lossy, load_mask_checked
from lode_bench.metrics.protocols import ImageScore, Protocol
from lode_bench.parallel.workers import default_workers

MASK_EXTENSIONS = (*IMAGE_EXTENSIONS, ".npy")


@dataclass(frozen=True)
class ImagePair:
    """One image to score: its id and the files involved (``gt`` None: no ground truth)."""

    image_id: str
    pred: Path | None
    gt: Path | None
    mask: Path | None = None


@dataclass
class Pairing:
    """Result of pairing predictions with ground truth by id."""

    pairs: list[ImagePair] = field(default_factory=list)
    extra_pred: list[str] = field(default_factory=list)
    missing_mask: list[str] = field(default_factory=list)

    @property
    def missing_pred(self) -> list[str]:
        return [p.image_id for p in self.pairs if p.pred is None]


class SampleLike(TypingProtocol):
    """What :func:`pair_samples` needs of a dataset sample."""

    id: str
    sharp: str | None
    mask: str | None


def _pair(
    entries: Sequence[tuple[str, Path | None, Path | None]],
    pred_dir: Path,
    mask_dir: Path | None,
    recursive: bool,
    where: str | Path,
) -> Pairing:
    """Pair ``(id, gt, mask)`` entries with the predictions (and masks) of folders."""
    ids = [e[0] for e in entries]
    preds = index_images(pred_dir, recursive)
    found = match_predictions(preds, ids, where=pred_dir)
    if ids and not found.found:
        raise LodeBenchError(no_pairs_message(pred_dir, ids, preds, where))
    masks: dict[str, Path] = {}
    if mask_dir is not None:
        masks = match_predictions(
            index_images(mask_dir, recursive, extensions=MASK_EXTENSIONS), ids, where=mask_dir
        ).found
    out = Pairing(extra_pred=sorted(found.extra))
    for key, gt, own_mask in entries:
        mask = masks.get(key) if mask_dir is not None else own_mask
        if mask_dir is not None and mask is None:
            out.missing_mask.append(key)
        out.pairs.append(ImagePair(key, found.found.get(key), gt, mask))
    return out


def pair_folders(
    pred_dir: str | Path,
    gt_dir: str | Path,
    mask_dir: str | Path | None = None,
    *,
    recursive: bool = False,
) -> Pairing:
    """Pair predictions, ground truth and (optionally) masks of folders by id.

    Args:
        pred_dir: folder of model outputs (names: see :mod:`lode_bench.io.folders`).
        gt_dir: folder of ground-truth images; it defines the image set.
        mask_dir: optional folder of masks (PNG or ``.npy``), same names.
        recursive: pair by path relative to each folder, descending into sub-folders.

    Raises:
        ImageReadError: a folder does not exist or the ground-truth folder has no images.
        AmbiguousNameError: two files share an id, or a name could mean two ids.
        LodeBenchError: no prediction pairs with any ground truth (names the id forms).
    """
    gt_dir = Path(gt_dir)
    gts = index_images(gt_dir, recursive)
    if not gts:
        raise ImageReadError(gt_dir, "no ground-truth images found (PNG/JPEG/BMP/TIFF)")
    roles = {part.lower() for k in gts for part in k.split("/")[:-1]}
    if {"blur", "sharp"} <= roles or {"blur", "gt"} <= roles:
        raise LodeBenchError(
            f"{gt_dir}: holds blurry and sharp sub-folders (a dataset layout such as GoPro's "
            "<seq>/blur + <seq>/sharp), so its blurry frames would count as ground truth; "
            f"give the dataset instead, e.g. --gt gopro:{gt_dir} (see `lode-bench ls datasets`)"
        )
    return _pair(
        [(k, p, None) for k, p in gts.items()],
        Path(pred_dir),
        Path(mask_dir) if mask_dir is not None else None,
        recursive,
        gt_dir,
    )


def pair_samples(
    samples: Iterable[SampleLike],
    pred_dir: str | Path,
    mask_dir: str | Path | None = None,
    *,
    where: str | Path = "dataset",
) -> Pairing:
    """Pair the samples of a loaded dataset (ids, ground truth, masks) with a prediction folder.

    Predictions are looked up recursively, nested (``<seq>/<frame>.png``) or flat
    (``<seq>-<frame>.png``, ``<seq>_<frame>.png``), exactly as the ``folder=DIR`` model
    adapter does. ``mask_dir`` replaces the dataset's own masks.
    """
    entries = [
        (s.id, Path(s.sharp) if s.sharp else None, Path(s.mask) if s.mask else None)
        for s in samples
    ]
    return _pair(
        entries, Path(pred_dir), Path(mask_dir) if mask_dir is not None else None, True, where
    )


def score_pair(
    pair: ImagePair,
    protocol: Protocol,
    *,
    allow_grey: bool = False,
    mask_threshold: float | None = None,
) -> ImageScore:
    """Read and score one pair; every failure becomes an error on the returned score.

    Args:
        pair: the files.
        protocol: the protocol (its 16-bit rule reads both images).
        allow_grey: score a greyscale prediction against colour ground truth (or the
            reverse) instead of refusing it.
        mask_threshold: use mask pixels ``> mask_threshold`` and accept any mask image
            (see :func:`load_mask_checked`).
    """
    try:
        if pair.pred is None:
            raise LodeBenchError(f"no prediction for ground truth {pair.gt}")
        gt = protocol.read_image(pair.gt) if pair.gt is not None else None
        pred = protocol.read_image(pair.pred)
        if gt is not None and pred.shape != gt.shape:
            raise LodeBenchError(
                f"{pair.pred}: size {pred.shape[1]}×{pred.shape[0]} differs from ground truth "
                f"{pair.gt} ({gt.shape[1]}×{gt.shape[0]}) — mismatched pair"
            )
        if pair.gt is not None and not allow_grey:
            check_channels(pair.pred, pair.gt)
        mask = None
        if protocol.mask != "none" and pair.mask is not None:
            mask = load_mask_checked(pair.mask, protocol, mask_threshold)
        elif protocol.mask == "required":
            raise LodeBenchError(
                f"no blur mask for {pair.image_id} (protocol {protocol.name} needs one)"
            )
        return protocol.score(pred, gt, mask=mask, image_id=pair.image_id)
    except LodeBenchError as exc:
        return ImageScore(
            image_id=pair.image_id,
            values={c: math.nan for c in protocol.columns},
            errors={"*": str(exc)},
        )
    except (cv2.error, ValueError, ArithmeticError, MemoryError, RuntimeError) as exc:
        # a decoder or metric failure on this pair's content: one line naming the files,
        # never a traceback that stops the other images
        what = " ".join(str(exc).split())[:300] or type(exc).__name__
        return ImageScore(
            image_id=pair.image_id,
            values={c: math.nan for c in protocol.columns},
            errors={"*": f"{pair.pred} vs {pair.gt}: {type(exc).__name__}: {what}"},
        )


def default_jobs() -> int:
    """Worker threads: the usable cores (:func:`~lode_bench.parallel.workers.default_workers`), at most 8."""
    return min(8, default_workers())


def score_pairs(
    pairs: list[ImagePair],
    protocol: Protocol,
    *,
    jobs: int | None = None,
    progress: bool = True,
    allow_grey: bool = False,
    mask_threshold: float | None = None,
) -> Iterator[ImageScore]:
    """Score pairs in parallel threads (OpenCV and NumPy release the GIL), in input order.

    ``allow_grey`` and ``mask_threshold`` are passed to :func:`score_pair`.
    """
    from tqdm import tqdm

    jobs = jobs or default_jobs()

    def one(p: ImagePair) -> ImageScore:
        return score_pair(p, protocol, allow_grey=allow_grey, mask_threshold=mask_threshold)

    bar = tqdm(
        total=len(pairs),
        desc=f"scoring ({protocol.id})",
        unit="img",
        disable=not progress,
        dynamic_ncols=True,
    )
    try:
        if jobs <= 1:
            for p in pairs:
                yield one(p)
                bar.update()
            return
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            for res in pool.map(one, pairs):
                bar.update()
                yield res
    finally:
        bar.close()


def summarise(
    scores: list[ImageScore], protocol: Protocol, pairs: Sequence[ImagePair] = ()
) -> dict[str, Any]:
    """Dataset summary: mean of per-image scores over successfully scored images.

    Infinite PSNR (an output identical to its ground truth) is kept: the mean is then
    ``inf`` and ``n_infinite`` counts such images, so nothing is hidden. With ``pairs``,
    ``n_lossy_predictions`` counts predictions stored in a lossy format (JPEG).
    """
    ok = [s for s in scores if s.ok]
    means: dict[str, float] = {}
    n_inf: dict[str, int] = {}
    for col in protocol.columns:
        vals = np.array([s.values.get(col, math.nan) for s in ok], dtype=np.float64)
        vals = vals[~np.isnan(vals)]
        means[col] = float(np.mean(vals)) if vals.size else math.nan
        n_inf[col] = int(np.isinf(vals).sum())
    return {
        "protocol": protocol.name,
        "protocol_version": protocol.version,
        "n_images": len(scores),
        "n_ok": len(ok),
        "n_failed": len(scores) - len(ok),
        "mean": means,
        "n_infinite": {k: v for k, v in n_inf.items() if v},
        "n_lossy_predictions": count_lossy(p.pred for p in pairs),
    }
