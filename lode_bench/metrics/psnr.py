"""Peak signal-to-noise ratio (PROTOCOLS §4.1), computed in float64.

Identical images have zero error and therefore an **infinite** PSNR: :func:`psnr`
returns ``math.inf`` (a float) in that case; reports print it as ``inf``
(:func:`lode_bench.metrics.base.format_value`). Dataset means should be taken over
finite values or reported with the count of identical pairs, never silently averaged
with ``inf``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from lode_bench.metrics.colour import crop_borders, prepare_pair, to_channel_space, validate_pair


def psnr_from_mse(mse: float, peak: float = 255.0) -> float:
    """``10 log10(peak² / mse)``; ``inf`` when ``mse == 0``."""
    if mse <= 0.0:
        return math.inf
    return float(10.0 * math.log10(peak * peak / mse))


def psnr(
    pred: np.ndarray,
    target: np.ndarray,
    *,
    data_range: float = 255.0,
    colour: str = "rgb",
    crop_border: int = 0,
) -> float:
    """PSNR of a prediction against its target.

    Args:
        pred: H×W×3 RGB (or H×W grey) prediction, values in ``[0, data_range]``.
        target: target of the same shape.
        data_range: full-scale value of the inputs (255 for uint8, 1.0 for [0, 1]).
        colour: ``"rgb"`` (mean squared error over H, W and the 3 channels),
            ``"y"`` (BasicSR BT.601 luma, unrounded float, 16..235) or ``"grey"``
            (MATLAB ``rgb2gray``, rounded). The peak is 255 after scaling to 0..255.
        crop_border: pixels removed on each side before scoring (BasicSR).

    Returns:
        PSNR in dB; ``math.inf`` for identical images.

    Raises:
        ShapeMismatchError: shapes differ.
        MetricInputError: NaN/inf values, bad rank or parameters.

    Example:
        >>> import numpy as np
        >>> a = np.zeros((4, 4, 3), np.uint8); b = a.copy(); b[0, 0, 0] = 255
        >>> round(psnr(b, a), 4)  # MSE = 255² / 48
        16.8124
    """
    if colour == "rgb":
        p, t, scale = validate_pair(pred, target, data_range=data_range)
        if p.dtype == np.uint8 and t.dtype == np.uint8 and scale == 1.0:
            # exact: OpenCV sums the integer squared differences in double precision
            pc = np.ascontiguousarray(crop_borders(p, crop_border))
            tc = np.ascontiguousarray(crop_borders(t, crop_border))
            return psnr_from_mse(cv2.norm(pc, tc, cv2.NORM_L2SQR) / pc.size, 255.0)
    p, t = prepare_pair(pred, target, data_range=data_range)
    p = crop_borders(to_channel_space(p, colour), crop_border)
    t = crop_borders(to_channel_space(t, colour), crop_border)
    diff = p - t
    mse = float(np.mean(diff * diff))
    return psnr_from_mse(mse, 255.0)
