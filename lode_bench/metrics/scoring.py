"""Score a folder of outputs against a folder of ground truth under a named protocol.

Files are paired by **identity** (relative path without extension), never by listing
order: a missing prediction becomes an error row for that image, a prediction without
ground truth is reported, and two files with the same name but different extensions are
refused as ambiguous.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from lode_bench.errors import ImageReadError, LodeBenchError
from lode_bench.io.images import IMAGE_EXTENSIONS
from lode_bench.metrics.protocols import ImageScore, Protocol
from lode_bench.parallel.workers import default_workers

MASK_EXTENSIONS = (*IMAGE_EXTENSIONS, ".npy")


@dataclass(frozen=True)
class ImagePair:
    """One image to score: its id and the files involved."""

    image_id: str
    pred: Path | None
    gt: Path
    mask: Path | None = None


@dataclass
class Pairing:
    """Result of pairing folders by name."""

    pairs: list[ImagePair] = field(default_factory=list)
    extra_pred: list[str] = field(default_factory=list)
    missing_mask: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)

    @property
    def missing_pred(self) -> list[str]:
        return [p.image_id for p in self.pairs if p.pred is None]


def _index(folder: Path, exts: Iterable[str], recursive: bool) -> tuple[dict[str, Path], list[str]]:
    if not folder.is_dir():
        raise ImageReadError(folder, "folder not found")
    allowed = {e.lower() for e in exts}
    it = folder.rglob("*") if recursive else folder.iterdir()
    found: dict[str, Path] = {}
    dupes: list[str] = []
    for p in sorted(it):
        if not p.is_file() or p.suffix.lower() not in allowed or p.name.startswith("."):
            continue
        key = p.relative_to(folder).with_suffix("").as_posix()
        if key in found:
            dupes.append(f"{key} ({found[key].name} and {p.name} in {folder})")
            continue
        found[key] = p
    return found, dupes


def pair_folders(pred_dir: str | Path, gt_dir: str | Path, mask_dir: str | Path | None = None,
                 *, recursive: bool = False) -> Pairing:
    """Pair predictions, ground truth and (optionally) masks by relative name without extension.

    Args:
        pred_dir: folder of model outputs.
        gt_dir: folder of ground-truth images; it defines the image set.
        mask_dir: optional folder of masks (PNG or ``.npy``), same names.
        recursive: pair by path relative to each folder, descending into sub-folders.

    Raises:
        ImageReadError: when a folder does not exist or the ground-truth folder has no images.
    """
    pred_dir, gt_dir = Path(pred_dir), Path(gt_dir)
    gts, gt_dupes = _index(gt_dir, IMAGE_EXTENSIONS, recursive)
    if not gts:
        raise ImageReadError(gt_dir, "no ground-truth images found (PNG/JPEG/BMP/TIFF)")
    preds, pred_dupes = _index(pred_dir, IMAGE_EXTENSIONS, recursive)
    masks: dict[str, Path] = {}
    mask_dupes: list[str] = []
    if mask_dir is not None:
        masks, mask_dupes = _index(Path(mask_dir), MASK_EXTENSIONS, recursive)
    out = Pairing(ambiguous=gt_dupes + pred_dupes + mask_dupes)
    for key, gt in gts.items():
        mask = masks.get(key)
        if mask_dir is not None and mask is None:
            out.missing_mask.append(key)
        out.pairs.append(ImagePair(key, preds.get(key), gt, mask))
    out.extra_pred = sorted(set(preds) - set(gts))
    return out


def score_pair(pair: ImagePair, protocol: Protocol) -> ImageScore:
    """Read and score one pair; every failure becomes an error on the returned score."""
    try:
        if pair.pred is None:
            raise LodeBenchError(f"no prediction for ground truth {pair.gt}")
        gt = protocol.read_image(pair.gt)
        pred = protocol.read_image(pair.pred)
        if pred.shape != gt.shape:
            raise LodeBenchError(
                f"{pair.pred}: size {pred.shape[1]}×{pred.shape[0]} differs from ground truth "
                f"{pair.gt} ({gt.shape[1]}×{gt.shape[0]}) — mismatched pair")
        mask = None
        if protocol.mask != "none" and pair.mask is not None:
            mask = protocol.load_mask(pair.mask)
        elif protocol.mask == "required":
            raise LodeBenchError(f"no blur mask for {pair.image_id} (protocol {protocol.name} needs one)")
        return protocol.score(pred, gt, mask=mask, image_id=pair.image_id)
    except LodeBenchError as exc:
        return ImageScore(image_id=pair.image_id, values={c: math.nan for c in protocol.columns},
                          errors={"*": str(exc)})
    except (cv2.error, ValueError, ArithmeticError, MemoryError, RuntimeError) as exc:
        # a decoder or metric failure on this pair's content: one line naming the files,
        # never a traceback that stops the other images
        what = " ".join(str(exc).split())[:300] or type(exc).__name__
        return ImageScore(image_id=pair.image_id, values={c: math.nan for c in protocol.columns},
                          errors={"*": f"{pair.pred} vs {pair.gt}: {type(exc).__name__}: {what}"})


def default_jobs() -> int:
    """Worker threads: the usable cores (:func:`~lode_bench.parallel.workers.default_workers`), at most 8."""
    return min(8, default_workers())


def score_pairs(pairs: list[ImagePair], protocol: Protocol, *, jobs: int | None = None,
                progress: bool = True) -> Iterator[ImageScore]:
    """Score pairs in parallel threads (OpenCV and NumPy release the GIL), in input order."""
    from tqdm import tqdm

    jobs = jobs or default_jobs()
    bar = tqdm(total=len(pairs), desc=f"scoring ({protocol.id})", unit="img",
               disable=not progress, dynamic_ncols=True)
    try:
        if jobs <= 1:
            for p in pairs:
                yield score_pair(p, protocol)
                bar.update()
            return
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            for res in pool.map(lambda p: score_pair(p, protocol), pairs):
                bar.update()
                yield res
    finally:
        bar.close()


def summarise(scores: list[ImageScore], protocol: Protocol) -> dict[str, Any]:
    """Dataset summary: mean of per-image scores over successfully scored images.

    Infinite PSNR (an output identical to its ground truth) is kept: the mean is then
    ``inf`` and ``n_infinite`` counts such images, so nothing is hidden.
    """
    ok = [s for s in scores if s.ok]
    means: dict[str, float] = {}
    n_inf: dict[str, int] = {}
    for col in protocol.columns:
        vals = np.array([s.values.get(col, math.nan) for s in ok], dtype=np.float64)
        vals = vals[~np.isnan(vals)]
        means[col] = float(np.mean(vals)) if vals.size else math.nan
        n_inf[col] = int(np.isinf(vals).sum())
    return {"protocol": protocol.name, "protocol_version": protocol.version,
            "n_images": len(scores), "n_ok": len(ok), "n_failed": len(scores) - len(ok),
            "mean": means, "n_infinite": {k: v for k, v in n_inf.items() if v}}
