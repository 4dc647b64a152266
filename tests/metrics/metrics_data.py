"""Helpers for the metric tests: the real images shipped in tests/data/metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lode_bench.io import read_image

DATA = Path(__file__).resolve().parents[1] / "data" / "metrics"

REAL_PAIR_STEMS = {
    "gopro": "gopro_GOPR0410_11_00-000205",
    "realblur": "realblur_scene050-6",
}
METHODS = ("blur", "hi-diff", "restormer", "stripformer")


def real_pair(dataset: str, method: str) -> tuple[np.ndarray, np.ndarray]:
    """(output, ground truth) crops, RGB uint8 125×50."""
    stem = REAL_PAIR_STEMS[dataset]
    out = read_image(DATA / "real_pairs" / f"{stem}_{method}.png")
    gt = read_image(DATA / "real_pairs" / f"{stem}_gt.png")
    return out, gt


def tid_pair(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(distorted, reference) TID2013 images, RGB uint8 384×512."""
    dist = read_image(DATA / "tid2013" / f"{name}_dist.png")
    ref = read_image(DATA / "tid2013" / f"{name}_ref.png")
    return dist, ref
