"""Visual comparisons: the same crop across methods with a zoom inset, and best/worst images.

Inputs are RGB ``uint8`` H×W×3 arrays; outputs are PNG bytes drawn on the Agg canvas.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from lode_bench.errors import ShapeMismatchError
from lode_bench.report.plots import figure_png as _png
from lode_bench.report.plots import mpl_text


@dataclass(frozen=True)
class Box:
    """A rectangle in pixel coordinates: top-left ``(y, x)`` and size ``(h, w)``."""

    y: int
    x: int
    h: int
    w: int

    def cut(self, img: np.ndarray) -> np.ndarray:
        return img[self.y : self.y + self.h, self.x : self.x + self.w]


def _argmax_window(energy: np.ndarray, h: int, w: int) -> tuple[int, int]:
    """Top-left corner of the ``h×w`` window with the largest sum of ``energy`` (first on ties)."""
    hh, ww = energy.shape
    h, w = min(h, hh), min(w, ww)
    integral = np.zeros((hh + 1, ww + 1), dtype=np.float64)
    integral[1:, 1:] = np.cumsum(np.cumsum(energy.astype(np.float64), axis=0), axis=1)
    sums = integral[h:, w:] - integral[:-h, w:] - integral[h:, :-w] + integral[:-h, :-w]
    iy, ix = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(iy), int(ix)


def choose_crop(
    blur: np.ndarray, sharp: np.ndarray, *, size: int = 128, mask: np.ndarray | None = None
) -> Box:
    """The ``size×size`` window (clipped to the image) where the blur hurts most.

    The energy is the mean absolute difference between the blurry input and the ground
    truth, restricted to the blur mask when one is given.

    Raises:
        ShapeMismatchError: when the two images differ in shape.
    """
    if blur.shape != sharp.shape:
        raise ShapeMismatchError(f"blurry image {blur.shape} and ground truth {sharp.shape} differ")
    energy = np.abs(blur.astype(np.int16) - sharp.astype(np.int16)).mean(axis=2)
    if mask is not None and mask.shape == energy.shape and mask.any():
        energy = energy * mask.astype(bool)
    h, w = min(size, energy.shape[0]), min(size, energy.shape[1])
    y, x = _argmax_window(energy, h, w)
    return Box(y, x, h, w)


def choose_zoom(blur: np.ndarray, sharp: np.ndarray, crop: Box, *, factor: int = 4) -> Box:
    """A sub-box of ``crop`` (``1/factor`` of its size) with the largest blur energy."""
    energy = np.abs(crop.cut(blur).astype(np.int16) - crop.cut(sharp).astype(np.int16)).mean(axis=2)
    h, w = max(4, crop.h // factor), max(4, crop.w // factor)
    y, x = _argmax_window(energy, h, w)
    return Box(crop.y + y, crop.x + x, min(h, crop.h), min(w, crop.w))


def comparison_grid(
    panels: Sequence[tuple[str, np.ndarray]],
    crop: Box,
    zoom: Box | None = None,
    *,
    title: str = "",
    columns: int = 6,
) -> bytes:
    """The same crop of every panel side by side, each with a magnified zoom inset.

    Args:
        panels: ``(label, image)`` pairs (e.g. blurry input, each method, ground truth),
            all H×W×3 uint8 of one shape.
        crop: region shown in every panel.
        zoom: region inside ``crop`` magnified in the lower-right inset (outlined in the crop).
        title: figure title.
        columns: panels per row.

    Raises:
        ShapeMismatchError: when the panels differ in shape.
    """
    if not panels:
        raise ValueError("comparison_grid needs at least one panel")
    shape = panels[0][1].shape
    for label, img in panels:
        if img.shape != shape:
            raise ShapeMismatchError(f"panel {label!r} has shape {img.shape}, expected {shape}")
    cols = min(columns, len(panels))
    rows = math.ceil(len(panels) / cols)
    aspect = crop.h / max(1, crop.w)
    fig = Figure(figsize=(2.6 * cols, 2.6 * rows * aspect + 0.5))
    for k, (label, img) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.imshow(crop.cut(img), interpolation="nearest")
        ax.set_title(mpl_text(label), fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        if zoom is not None:
            zy, zx = zoom.y - crop.y, zoom.x - crop.x
            ax.add_patch(
                Rectangle(
                    (zx - 0.5, zy - 0.5),
                    zoom.w,
                    zoom.h,
                    fill=False,
                    edgecolor="#f1c40f",
                    linewidth=1.2,
                )
            )
            inset = ax.inset_axes((0.58, 0.0, 0.42, 0.42))
            inset.imshow(zoom.cut(img), interpolation="nearest")
            inset.set_xticks([])
            inset.set_yticks([])
            for spine in inset.spines.values():
                spine.set_edgecolor("#f1c40f")
                spine.set_linewidth(1.2)
    if title:
        fig.suptitle(mpl_text(title), fontsize=9)
    return _png(fig)


def best_worst_grid(
    items: Sequence[tuple[str, float, Sequence[tuple[str, np.ndarray]], Box]],
    *,
    metric: str,
    title: str = "",
    labels: Sequence[str] | None = None,
) -> bytes:
    """:func:`best_worst_figure` as PNG bytes."""
    return _png(best_worst_figure(items, metric=metric, title=title, labels=labels))


def best_worst_figure(
    items: Sequence[tuple[str, float, Sequence[tuple[str, np.ndarray]], Box]],
    *,
    metric: str,
    title: str = "",
    labels: Sequence[str] | None = None,
) -> Figure:
    """One row per image (e.g. the best and worst by gain): input, output, ground truth crops.

    Args:
        items: ``(image_id, gain, panels, crop)`` per row.
        metric: the metric the gain is of (row labels; PSNR gains in dB).
        title: figure title.
        labels: what each row is (``"best 1"``, ``"worst 1"``), written first in its label.
    """
    if not items:
        raise ValueError("best_worst_grid needs at least one image")
    if labels is not None and len(labels) != len(items):
        raise ValueError(f"best_worst_grid: {len(labels)} labels for {len(items)} rows")
    unit = " dB" if "psnr" in metric.lower() else ""
    cols = max(len(p) for _, _, p, _ in items)
    aspect = max(crop.h / max(1, crop.w) for _, _, _, crop in items)
    fig = Figure(figsize=(2.4 * cols, (2.4 * aspect + 0.4) * len(items) + 0.4))
    for r, (image_id, gain, panels, crop) in enumerate(items):
        for c, (label, img) in enumerate(panels):
            ax = fig.add_subplot(len(items), cols, r * cols + c + 1)
            ax.imshow(crop.cut(img), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(mpl_text(label) if r == 0 else "", fontsize=8)
            if c == 0:
                head = f"{labels[r]}: " if labels is not None else ""
                ax.set_ylabel(
                    mpl_text(f"{head}{image_id}\n{metric} gain {gain:+.2f}{unit}"), fontsize=7
                )
    if title:
        fig.suptitle(mpl_text(title), fontsize=9)
    return fig
