"""Bayer mosaicking and Malvar–He–Cutler (2004) demosaicking, on float images.

Malvar's method estimates each missing colour with a 5×5 linear filter: the bilinear
estimate plus a scaled Laplacian of the colour that *is* known at that pixel. The
filters reproduce any per-channel affine ramp exactly away from the border, which the
tests use as a hand-derived check.
"""

from __future__ import annotations

import cv2
import numpy as np

from lode_bench.errors import ConfigError

PATTERNS: tuple[str, ...] = ("RGGB", "BGGR", "GRBG", "GBRG")

# Malvar 2004 filters (coefficients / 8); symmetric, so correlation == convolution.
_G_AT_RB = (
    np.array(
        [[0, 0, -1, 0, 0], [0, 0, 2, 0, 0], [-1, 2, 4, 2, -1], [0, 0, 2, 0, 0], [0, 0, -1, 0, 0]],
        dtype=np.float64,
    )
    / 8.0
)
# colour known on the same ROW as this green pixel (e.g. R at G in an R row)
_RB_AT_G_ROW = (
    np.array(
        [
            [0, 0, 0.5, 0, 0],
            [0, -1, 0, -1, 0],
            [-1, 4, 5, 4, -1],
            [0, -1, 0, -1, 0],
            [0, 0, 0.5, 0, 0],
        ],
        dtype=np.float64,
    )
    / 8.0
)
_RB_AT_G_COL = _RB_AT_G_ROW.T.copy()
_RB_AT_BR = (
    np.array(
        [
            [0, 0, -1.5, 0, 0],
            [0, 2, 0, 2, 0],
            [-1.5, 0, 6, 0, -1.5],
            [0, 2, 0, 2, 0],
            [0, 0, -1.5, 0, 0],
        ],
        dtype=np.float64,
    )
    / 8.0
)


def _channel_masks(shape: tuple[int, int], pattern: str) -> dict[str, np.ndarray]:
    if pattern not in PATTERNS:
        raise ConfigError(f"bayer pattern must be one of {PATTERNS}, got {pattern!r}")
    h, w = shape
    masks = {c: np.zeros((h, w), dtype=bool) for c in "RGB"}
    for k, c in enumerate(pattern):
        dy, dx = divmod(k, 2)
        masks[c][dy::2, dx::2] = True
    return masks


def mosaic(img: np.ndarray, pattern: str = "RGGB") -> np.ndarray:
    """Sample an H×W×3 RGB float image with a Bayer pattern into an H×W raw plane."""
    masks = _channel_masks(img.shape[:2], pattern)
    raw = np.zeros(img.shape[:2], dtype=np.float64)
    for i, c in enumerate("RGB"):
        raw[masks[c]] = img[..., i][masks[c]]
    return raw


def _filt(raw: np.ndarray, k: np.ndarray) -> np.ndarray:
    return cv2.filter2D(raw, cv2.CV_64F, k, borderType=cv2.BORDER_REFLECT_101)


def demosaic_malvar(raw: np.ndarray, pattern: str = "RGGB") -> np.ndarray:
    """Malvar–He–Cutler demosaicking.

    Args:
        raw: H×W float Bayer plane (any range; H, W even).
        pattern: 2×2 top-left layout (``RGGB``, ``BGGR``, ``GRBG``, ``GBRG``).

    Returns:
        H×W×3 float64 RGB (not clipped).
    """
    raw = np.asarray(raw, dtype=np.float64)
    m = _channel_masks(raw.shape, pattern)
    g_rb = _filt(raw, _G_AT_RB)
    at_g_row = _filt(raw, _RB_AT_G_ROW)
    at_g_col = _filt(raw, _RB_AT_G_COL)
    at_br = _filt(raw, _RB_AT_BR)
    rows_r: np.ndarray = np.asarray(m["R"].any(axis=1), dtype=bool)  # rows holding red samples
    g_in_r_row = m["G"] & rows_r[:, None]
    g_in_b_row = m["G"] & ~rows_r[:, None]
    out = np.empty(raw.shape + (3,), dtype=np.float64)
    # green
    out[..., 1] = np.where(m["G"], raw, g_rb)
    # red: known at R; at G in an R row -> row filter, at G in a B row -> column filter; at B
    r = np.where(m["R"], raw, 0.0)
    r = np.where(g_in_r_row, at_g_row, r)
    r = np.where(g_in_b_row, at_g_col, r)
    out[..., 0] = np.where(m["B"], at_br, r)
    b = np.where(m["B"], raw, 0.0)
    b = np.where(g_in_b_row, at_g_row, b)
    b = np.where(g_in_r_row, at_g_col, b)
    out[..., 2] = np.where(m["R"], at_br, b)
    return out
