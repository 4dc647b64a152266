"""RGB → grey for the image-processing steps (alignment, flow, interpolation, analysis).

One home for the BT.601 luma weights (0.299, 0.587, 0.114) outside the metrics, which
follow their paper conventions (:mod:`lode_bench.metrics.colour`: MATLAB ``rgb2gray``,
BT.601 Y with offset). Two exact arithmetic paths are kept because datasets and QC
numbers were produced with them and must not change:

* :func:`grey_float`: codes scaled to [0, 1] in ``dtype`` (float32 or float64), then the
  weighted sum in that dtype;
* :func:`grey_u8`: 8-bit grey; ``rule="rint"`` weights the 0..255 values in float32 and
  rounds to nearest, ``rule="opencv"`` is ``cv2.cvtColor(RGB2GRAY)`` (fixed-point; it
  differs from ``"rint"`` by one code on about 0.1 % of pixels).

Grey (H×W) input passes through both (only scaled or converted).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

BT601_WEIGHTS = (0.299, 0.587, 0.114)
#: How :func:`grey_u8` rounds: float32 weights + round to nearest, or OpenCV's fixed point.
GreyRule = Literal["rint", "opencv"]


def _scale(x: np.ndarray) -> float:
    return 255.0 if x.dtype == np.uint8 else 65535.0 if x.dtype == np.uint16 else 1.0


def grey_float(img: np.ndarray, dtype: type[np.floating] = np.float32) -> np.ndarray:
    """H×W×3 RGB (uint8, uint16 or float [0, 1]) or H×W grey → H×W grey in [0, 1].

    Args:
        img: the image.
        dtype: ``np.float32`` or ``np.float64``: the arithmetic and output type.

    Returns:
        Contiguous H×W array of ``dtype``.
    """
    x = np.asarray(img)
    xf = x.astype(dtype) / dtype(_scale(x))
    if xf.ndim == 3:
        wr, wg, wb = BT601_WEIGHTS
        xf = xf[..., 0] * wr + xf[..., 1] * wg + xf[..., 2] * wb
    return np.ascontiguousarray(xf, dtype=dtype)


def grey_u8(img: np.ndarray, rule: GreyRule = "rint") -> np.ndarray:
    """H×W×3 RGB or H×W grey (uint8, uint16 or float [0, 1]) → H×W uint8 grey.

    Args:
        img: the image.
        rule: ``"rint"`` (float32 weights on 0..255, round to nearest) or ``"opencv"``
            (float input rounded to uint8 first, then ``cv2.cvtColor``).
    """
    x = np.asarray(img)
    if rule == "opencv":
        import cv2

        if x.dtype != np.uint8:
            x = (
                np.rint(np.clip(x / _scale(x), 0, 1) * 255).astype(np.uint8)
                if x.dtype == np.uint16
                else np.rint(np.clip(x, 0, 1) * 255).astype(np.uint8)
            )
        return cv2.cvtColor(np.ascontiguousarray(x), cv2.COLOR_RGB2GRAY) if x.ndim == 3 else x
    if x.dtype == np.uint8:
        f = x.astype(np.float32)
    elif x.dtype == np.uint16:
        f = x.astype(np.float32) / 257.0
    else:
        f = np.clip(x.astype(np.float32), 0.0, 1.0) * 255.0
    if f.ndim == 3:
        wr, wg, wb = BT601_WEIGHTS
        f = f[..., 0] * wr + f[..., 1] * wg + f[..., 2] * wb
    return np.ascontiguousarray(np.rint(np.clip(f, 0, 255)).astype(np.uint8))
