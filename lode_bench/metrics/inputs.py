"""Checks on scoring inputs that would otherwise give silently wrong numbers.

``lode-bench score`` and ``lode-bench run`` share these, so that one folder gives one
answer whichever command scores it:

* :func:`load_mask_checked`: a mask image must be binary-like (black and white); an RGB
  photo or a grey-level map is refused unless a threshold is given. LODE flow-magnitude
  ``.npy`` masks are thresholded as the protocol says, never refused.
* :func:`check_channels`: a greyscale prediction file against colour ground truth (or the
  reverse) is refused unless allowed (it would be compared as R = G = B).
* :func:`count_lossy`: predictions stored in a lossy format (JPEG), for a note.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from lode_bench.errors import LodeBenchError
from lode_bench.io.folders import colour_channels, is_lossy
from lode_bench.io.images import read_image, read_mask
from lode_bench.metrics.protocols import Protocol

#: A mask image is binary-like when this share of its pixels lies near its two main levels.
BINARY_SHARE = 0.98
_LEVEL_TOLERANCE = 12  # grey levels (of 255) around each main level


def _main_levels_share(values: np.ndarray) -> tuple[float, int, int]:
    """Share of pixels near the two most common levels (0-255 scale), and the two levels."""
    hist = np.bincount(values.ravel(), minlength=256).astype(np.float64)
    n = float(values.size)
    first = int(np.argmax(hist))
    near = np.zeros(256, bool)
    near[max(0, first - _LEVEL_TOLERANCE) : first + _LEVEL_TOLERANCE + 1] = True
    rest = np.where(near, 0.0, hist)
    second = int(np.argmax(rest)) if rest.any() else first
    near[max(0, second - _LEVEL_TOLERANCE) : second + _LEVEL_TOLERANCE + 1] = True
    return float(hist[near].sum() / n), min(first, second), max(first, second)


def load_mask_checked(
    path: str | Path, protocol: Protocol, threshold: float | None = None
) -> np.ndarray:
    """Read a blur mask for ``protocol``, refusing an image that is not binary-like.

    ``.npy`` files are flow-magnitude maps (or H×W×2 flow fields) thresholded at the
    protocol's ``npy_mask_threshold``. An image mask must have two levels (black and
    white, anti-aliased or JPEG-noisy edges allowed); an RGB photo or a grey-level map is
    refused. ``threshold`` skips that check and uses pixels ``> threshold`` (the file's
    own values: grey level of an image, pixels of flow for ``.npy``).

    Raises:
        LodeBenchError: the mask is not binary-like (names the file and the override).
        ImageReadError: the file cannot be read.
    """
    p = Path(path)
    if threshold is not None:
        return read_mask(p, threshold=threshold)
    if p.suffix.lower() == ".npy":
        return protocol.load_mask(p)
    raw = read_image(p, dtype="native")
    level = raw.max(axis=2)
    if level.dtype != np.uint8:
        level = np.rint(level.astype(np.float64) / 257.0).astype(np.uint8)
    share, low, high = _main_levels_share(level)
    if share < BINARY_SHARE:
        raise LodeBenchError(
            f"{p}: not a binary mask ({100 * (1 - share):.0f}% of its pixels are neither near "
            f"level {low} nor near level {high}; a photo or grey-level map?); give a black/white "
            "mask or a flow .npy, or pass --mask-threshold T to use its pixels > T anyway"
        )
    return protocol.load_mask(p)


def check_channels(pred: str | Path, gt: str | Path) -> None:
    """Refuse a prediction file whose colour channels differ from its ground truth's.

    Only the file headers are read. A grey file would be compared as R = G = B.

    Raises:
        LodeBenchError: one is greyscale and the other colour (names both files and
            the ``--allow-grey`` override).
        ImageReadError: a header cannot be read.
    """
    cp, cg = colour_channels(pred), colour_channels(gt)
    if cp != cg:
        what = {1: "greyscale", 3: "colour"}
        raise LodeBenchError(
            f"{pred}: {what[cp]} prediction against {what[cg]} ground truth {gt}; "
            "pass --allow-grey to score it anyway (grey compared as R = G = B)"
        )


def count_lossy(paths: Iterable[str | Path | None]) -> int:
    """How many of ``paths`` (``None`` entries ignored) are in a lossy format (JPEG)."""
    return sum(1 for p in paths if p is not None and is_lossy(p))


#: The note printed when predictions are JPEG files (``{n}``: how many).
LOSSY_NOTE = (
    "{n} prediction(s) are JPEG files (lossy): their scores include the JPEG compression loss"
)
