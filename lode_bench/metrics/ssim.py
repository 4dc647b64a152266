"""Every SSIM variant of PROTOCOLS §4.2, computed in float64.

All variants share one formula,

    SSIM = (2 μx μy + C1)(2 σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)),
    C1 = (0.01 L)², C2 = (0.03 L)²,

with local moments taken under a window, and differ in the window, the border
handling, the colour handling and how the map is averaged:

============================  ==============================================================
function                      convention
============================  ==============================================================
:func:`ssim_wang`             Wang et al. reference ``ssim_index.m`` / ``ssim.m`` on MATLAB
                              ``rgb2gray`` (rounded), 11×11 Gaussian σ=1.5, 'valid' map
                              (optional 2009 auto-downsampling).
:func:`ssim_gaussian`         per-channel 11×11 Gaussian, 'valid' map, mean over channels
                              (BasicSR ``calculate_ssim``, RealBlur, ReLoBlur; equal to
                              skimage ``gaussian_weights=True, use_sample_covariance=False``).
:func:`ssim_matlab_rgb`       MATLAB ``ssim`` on an H×W×3 array: 3-D 11×11×11 Gaussian with
                              replicate padding on all three axes, full map averaged.
:func:`ssim_matlab_2d`        MATLAB ``ssim`` on a grey image (replicate padding) or
                              torchmetrics ≥ 1.4.2 (reflect padding), full map averaged.
:func:`ssim_skimage_default`  skimage defaults: 7×7 uniform window, sample covariance.
============================  ==============================================================

The shared engine (kernels, strip filter, threads) is :mod:`lode_bench.metrics.ssim_core`.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from lode_bench.metrics.colour import (
    MetricInputError,
    crop_borders,
    prepare_pair,
    rgb_to_grey_matlab,
    rgb_to_y_bt601,
    to_channel_space,
    validate_pair,
)
from lode_bench.metrics.ssim_core import (
    BORDERS,
    MIX3,
    RADIUS,
    prepare_array,
    valid_mean,
)

__all__ = [
    "matlab_box_downsample",
    "ssim_gaussian",
    "ssim_matlab_2d",
    "ssim_matlab_rgb",
    "ssim_skimage_default",
    "ssim_wang",
    "wang_downsample_factor",
]


def ssim_gaussian(
    pred: np.ndarray,
    target: np.ndarray,
    *,
    data_range: float = 255.0,
    colour: str = "rgb",
    crop_border: int = 0,
) -> float:
    """Per-channel Gaussian SSIM (BasicSR ``calculate_ssim``, RealBlur, ReLoBlur, DeepDeblur).

    11×11 Gaussian window σ = 1.5, population statistics, 'valid' map, mean of the map
    per channel, then mean over channels. Equal to skimage
    ``structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    data_range=255, channel_axis=2)``.

    Args:
        pred: H×W×3 RGB (or H×W) prediction in ``[0, data_range]``.
        target: target of the same shape.
        data_range: full-scale value of the inputs (255 for uint8, 1 for [0, 1]).
        colour: ``"rgb"``, ``"y"`` (BT.601 luma, BasicSR ``test_y_channel``) or ``"grey"``
            (MATLAB ``rgb2gray``, rounded).
        crop_border: pixels removed on each side before scoring.

    Returns:
        SSIM in [−1, 1].
    """
    if colour == "rgb":
        p, t, scale = validate_pair(pred, target, data_range=data_range)
    else:
        p, t = prepare_pair(pred, target, data_range=data_range)
        p, t, scale = to_channel_space(p, colour), to_channel_space(t, colour), 1.0
    p, t = crop_borders(p, crop_border), crop_borders(t, crop_border)
    return valid_mean(p, t, scale=scale)


def matlab_box_downsample(img: np.ndarray, f: int) -> np.ndarray:
    """MATLAB ``imfilter(img, ones(f)/f², 'symmetric', 'same')`` then ``img(1:f:end, 1:f:end)``.

    MATLAB's origin of an even-sized kernel is ``floor((f + 1) / 2)``, so the f×f box
    covers rows ``i − (c−1) … i + f − c`` (c = that origin, 1-based), with the image
    mirrored (edge pixel repeated) beyond its border.

    Args:
        img: H×W float64.
        f: integer factor ≥ 1.

    Returns:
        float64 array of shape (ceil(H/f), ceil(W/f)).
    """
    if f <= 1:
        return img
    centre = (f + 1) // 2
    pre, post = centre - 1, f - centre
    padded = np.pad(img, ((pre, post), (pre, post)), mode="symmetric")
    h, w = img.shape
    acc = np.zeros((h, w), dtype=np.float64)
    for a in range(f):
        for b in range(f):
            acc += padded[a : a + h, b : b + w]
    acc /= f * f
    return acc[::f, ::f]


def wang_downsample_factor(height: int, width: int) -> int:
    """2009 ``ssim.m`` factor ``max(1, round(min(H, W) / 256))`` with MATLAB rounding.

    MATLAB rounds halves away from zero (640 → 2.5 → 3), unlike Python's ``round``.
    """
    return max(1, int(math.floor(min(height, width) / 256.0 + 0.5)))


def ssim_wang(
    pred: np.ndarray,
    target: np.ndarray,
    *,
    downsample: bool = False,
    data_range: float = 255.0,
) -> float:
    """Wang et al.'s reference SSIM (``ssim_index.m`` / ``ssim.m``) on MATLAB grey.

    The RGB inputs are converted with MATLAB ``rgb2gray`` and rounded to integers
    (what MATLAB returns for uint8 images), then: 11×11 Gaussian σ = 1.5, 'valid'
    filtering, K1 = 0.01, K2 = 0.03, L = 255, population statistics, mean of the map.

    Args:
        pred: H×W×3 RGB (or H×W grey) prediction in ``[0, data_range]``.
        target: target of the same shape.
        downsample: apply the 2009 ``ssim.m`` auto-downsampling first:
            f = max(1, round(min(H, W) / 256)); f×f box filter with symmetric padding
            and take every f-th pixel starting at the first (see
            :func:`matlab_box_downsample`). The IQA calibration tables use ``False``.
        data_range: full-scale value of the inputs.

    Returns:
        SSIM (mean of the map).
    """
    p, t = prepare_pair(pred, target, data_range=data_range)
    p = to_channel_space(p, "grey")
    t = to_channel_space(t, "grey")
    if downsample:
        f = wang_downsample_factor(p.shape[0], p.shape[1])
        p = matlab_box_downsample(p, f)
        t = matlab_box_downsample(t, f)
    return valid_mean(p, t)


def ssim_matlab_rgb(pred: np.ndarray, target: np.ndarray, *, data_range: float = 255.0) -> float:
    """MATLAB ``ssim(A, ref)`` on H×W×3 uint8 images (the GoPro/HIDE tables' SSIM).

    MATLAB treats an H×W×3 array as a 3-D volume: it filters with an 11×11×11
    Gaussian (σ = 1.5, normalised over 3-D) with replicate padding on all three axes,
    including the 3-long channel axis, uses C1 = (0.01·255)², C2 = (0.03·255)²
    (C3 = C2/2, unit exponents: the standard formula) and averages the full-size map.
    This is what ``evaluate_GOPRO_HIDE.m`` of MPRNet/Restormer computes and what NAFNet's
    ``ssim3d`` reproduces (in float32). On a pure colour shift it can be far lower than
    per-channel SSIM.

    Args:
        pred: H×W×3 RGB prediction in ``[0, data_range]`` (normally uint8).
        target: target of the same shape.
        data_range: full-scale value of the inputs; they are rescaled to 0..255.

    Returns:
        SSIM (mean of the H×W×3 map).
    """
    p, t, scale = validate_pair(pred, target, data_range=data_range, allow_grey=False)
    x = prepare_array(p, RADIUS, cv2.BORDER_REPLICATE)
    y = prepare_array(t, RADIUS, cv2.BORDER_REPLICATE)
    return valid_mean(x, y, mix=MIX3, scale=scale)


def ssim_matlab_2d(
    pred: np.ndarray,
    target: np.ndarray,
    *,
    padding: str = "replicate",
    colour: str = "grey",
    data_range: float = 255.0,
) -> float:
    """MATLAB ``ssim`` on a 2-D image, or torchmetrics ≥ 1.4.2 SSIM (full-size map).

    11×11 Gaussian σ = 1.5 (MATLAB: size 2·ceil(3σ)+1), population statistics,
    C1 = (0.01·255)², C2 = (0.03·255)², map over the whole image averaged (no crop).

    Args:
        pred: H×W×3 RGB (or H×W) prediction in ``[0, data_range]``.
        target: target of the same shape.
        padding: ``"replicate"`` (MATLAB ``imgaussfilt``/``imfilter`` 'replicate') or
            ``"reflect"`` (torchmetrics: ``F.pad(mode="reflect")``, edge not repeated;
            variances clamped at 0 as torchmetrics does).
        colour: ``"grey"`` (MATLAB ``rgb2gray``, rounded) or ``"y"`` (BT.601 luma).
        data_range: full-scale value of the inputs.

    Returns:
        SSIM (mean of the full-size map).
    """
    if padding not in ("replicate", "reflect"):
        raise MetricInputError(f"padding must be 'replicate' or 'reflect', got {padding!r}")
    if colour not in ("grey", "y"):
        raise MetricInputError(f"colour must be 'grey' or 'y', got {colour!r}")
    p, t = prepare_pair(pred, target, data_range=data_range)
    if p.ndim == 3:
        conv = rgb_to_grey_matlab if colour == "grey" else rgb_to_y_bt601
        p, t = conv(p), conv(t)
    border = BORDERS[padding]
    x, y = prepare_array(p, RADIUS, border), prepare_array(t, RADIUS, border)
    return valid_mean(x, y, clamp_var=padding == "reflect")


def ssim_skimage_default(
    pred: np.ndarray, target: np.ndarray, *, data_range: float = 255.0
) -> float:
    """scikit-image ``structural_similarity`` defaults (Restormer's defocus evaluation).

    7×7 uniform window, sample covariance (N/(N−1) = 49/48), map cropped by 3 pixels
    (the 'valid' region), mean per channel then over channels. Equal to
    ``structural_similarity(pred, target, data_range=255, channel_axis=2)``.

    Args:
        pred: H×W×3 RGB (or H×W) prediction in ``[0, data_range]``.
        target: target of the same shape.
        data_range: full-scale value of the inputs.

    Returns:
        SSIM in [−1, 1].
    """
    p, t, scale = validate_pair(pred, target, data_range=data_range)
    win = 7
    box = np.full(win, 1.0 / win, dtype=np.float64)
    n = win * win
    return valid_mean(p, t, box, cov_norm=n / (n - 1.0), scale=scale)
