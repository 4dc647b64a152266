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

Implementation: local moments are filtered with separable float64 kernels through
``cv2.sepFilter2D`` (exact float64 arithmetic). Only four filtered planes are needed
per channel (μx, μy, E[x²+y²], E[xy]) because SSIM uses σx² and σy² only as a sum.
For the MATLAB 3-D variant the 11-tap kernel along the 3-long, replicate-padded
channel axis collapses to a fixed 3×3 channel-mixing matrix (:func:`channel_mixing_matrix`),
so the 3-D filter costs one 2-D filter plus a 3×3 matrix product.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from lode_bench.metrics.colour import (
    MetricInputError,
    check_data_range,
    crop_borders,
    prepare_pair,
    rgb_to_grey_matlab,
    rgb_to_y_bt601,
    to_channel_space,
)

K1 = 0.01
K2 = 0.03
SIGMA = 1.5
#: Window radius for σ = 1.5: MATLAB ``ceil(3σ)`` = scipy/skimage ``int(3.5σ + 0.5)`` = 5.
RADIUS = 5

_BORDERS = {
    "replicate": cv2.BORDER_REPLICATE,  # MATLAB 'replicate'
    "reflect": cv2.BORDER_REFLECT_101,  # torch F.pad(mode="reflect"): d c b | a b c
    "symmetric": cv2.BORDER_REFLECT,  # MATLAB 'symmetric', scipy 'reflect': c b a | a b c
}


def gaussian_kernel_1d(sigma: float = SIGMA, radius: int = RADIUS) -> np.ndarray:
    """Normalised float64 1-D Gaussian of ``2 radius + 1`` taps.

    The outer product of this kernel with itself equals MATLAB
    ``fspecial('gaussian', 2r+1, sigma)`` and ``cv2.getGaussianKernel(2r+1, sigma)``².
    """
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-(x * x) / (2.0 * sigma * sigma))
    return k / k.sum()


_GAUSS = gaussian_kernel_1d()


def _filter(img: np.ndarray, kernel: np.ndarray, border: int) -> np.ndarray:
    """Separable correlation of an H×W or H×W×C (C ≤ 4) float64 image, same size."""
    return cv2.sepFilter2D(
        np.ascontiguousarray(img), cv2.CV_64F, kernel, kernel, borderType=border
    )


def _valid(img: np.ndarray, r: int) -> np.ndarray:
    return img[r:-r, r:-r, ...] if r > 0 else img


def _ssim_terms(
    mu_x: np.ndarray,
    mu_y: np.ndarray,
    e_sq_sum: np.ndarray,
    e_xy: np.ndarray,
    c1: float,
    c2: float,
    *,
    cov_norm: float = 1.0,
    clamp_var: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """SSIM map and contrast-structure map from filtered moments (arrays are reused).

    Args:
        mu_x, mu_y: local means.
        e_sq_sum: local mean of ``x² + y²``.
        e_xy: local mean of ``x·y``.
        c1, c2: stabilising constants.
        cov_norm: ``N/(N-1)`` for sample covariance, 1 for population statistics.
        clamp_var: clamp σx² + σy² at 0 (torchmetrics clamps each variance).

    Returns:
        ``(ssim_map, cs_map)``.
    """
    mu_xy = mu_x * mu_y
    mu_sq = np.multiply(mu_x, mu_x, out=mu_x)
    mu_sq += mu_y * mu_y  # μx² + μy²
    var_sum = np.subtract(e_sq_sum, mu_sq, out=e_sq_sum)
    if cov_norm != 1.0:
        var_sum *= cov_norm
    if clamp_var:
        np.maximum(var_sum, 0.0, out=var_sum)
    cov = np.subtract(e_xy, mu_xy, out=e_xy)
    if cov_norm != 1.0:
        cov *= cov_norm
    # contrast-structure term (2σxy + C2) / (σx² + σy² + C2)
    cs_num = cov
    cs_num *= 2.0
    cs_num += c2
    var_sum += c2
    cs = np.divide(cs_num, var_sum, out=cs_num)
    lum = mu_xy
    lum *= 2.0
    lum += c1
    mu_sq += c1
    lum /= mu_sq
    ssim_map = lum * cs
    return ssim_map, cs


def _moments(
    x: np.ndarray, y: np.ndarray, kernel: np.ndarray, border: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Filtered μx, μy, E[x²+y²], E[xy] (same size as the input)."""
    mu_x = _filter(x, kernel, border)
    mu_y = _filter(y, kernel, border)
    sq = x * x
    sq += y * y
    e_sq = _filter(sq, kernel, border)
    e_xy = _filter(x * y, kernel, border)
    return mu_x, mu_y, e_sq, e_xy


def _check_window_fits(shape: tuple[int, ...], win: int, what: str) -> None:
    if shape[0] < win or shape[1] < win:
        raise MetricInputError(
            f"{what}: image {shape[0]}×{shape[1]} is smaller than the {win}×{win} window"
        )


def ssim_gaussian_map(
    x: np.ndarray,
    y: np.ndarray,
    *,
    data_range: float,
    return_cs: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """'Valid' SSIM map with an 11×11 Gaussian window (σ = 1.5), per channel.

    Args:
        x, y: float H×W or H×W×C (C ≤ 4) arrays on the same scale.
        data_range: L in C1 = (0.01 L)², C2 = (0.03 L)².
        return_cs: also return the contrast-structure map (used by MS-SSIM).

    Returns:
        float64 map of shape (H − 10)×(W − 10)[×C] (population statistics); with
        ``return_cs`` a ``(ssim_map, cs_map)`` pair. Pixel (i, j) of the map is the SSIM
        of the window centred on pixel (i + 5, j + 5) of the input, i.e. the interior
        where the window lies fully inside the image (identical to the interior of the
        full-size skimage/BasicSR map whatever the border rule).
    """
    dr = check_data_range(data_range)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    _check_window_fits(x.shape, 2 * RADIUS + 1, "ssim_gaussian_map")
    mu_x, mu_y, e_sq, e_xy = (
        _valid(m, RADIUS) for m in _moments(x, y, _GAUSS, cv2.BORDER_REFLECT_101)
    )
    smap, cs = _ssim_terms(mu_x, mu_y, e_sq, e_xy, (K1 * dr) ** 2, (K2 * dr) ** 2)
    return (smap, cs) if return_cs else smap


def _mean_over_channels(smap: np.ndarray) -> float:
    if smap.ndim == 3:
        return float(np.mean([smap[..., c].mean() for c in range(smap.shape[2])]))
    return float(smap.mean())


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
    p, t = prepare_pair(pred, target, data_range=data_range)
    p = crop_borders(to_channel_space(p, colour), crop_border)
    t = crop_borders(to_channel_space(t, colour), crop_border)
    smap = ssim_gaussian_map(p, t, data_range=255.0)
    return _mean_over_channels(smap)  # type: ignore[arg-type]


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
    smap = ssim_gaussian_map(p, t, data_range=255.0)
    return float(smap.mean())  # type: ignore[union-attr]


def channel_mixing_matrix(kernel: np.ndarray = _GAUSS, channels: int = 3) -> np.ndarray:
    """The channel-axis part of a 3-D filter with replicate padding, as a matrix.

    Filtering a length-``channels`` axis, padded by replication, with the odd-length
    kernel ``k`` gives ``out[c] = Σ_t k[t] · in[clamp(c + t − r)]``, i.e.
    ``out = M @ in`` with ``M[c, j] = Σ_{t : clamp(c + t − r) = j} k[t]``.

    Returns:
        float64 ``channels × channels`` matrix (rows sum to 1).
    """
    r = (len(kernel) - 1) // 2
    m = np.zeros((channels, channels), dtype=np.float64)
    for c in range(channels):
        for t, kt in enumerate(kernel):
            j = min(max(c + t - r, 0), channels - 1)
            m[c, j] += kt
    return m


_MIX3 = channel_mixing_matrix()


def _mix_channels(img: np.ndarray, mix: np.ndarray) -> np.ndarray:
    """``out[..., c] = Σ_j mix[c, j] · img[..., j]`` for an H×W×3 array."""
    a, b, c = img[..., 0], img[..., 1], img[..., 2]
    out = np.empty_like(img)
    for i in range(3):
        o = out[..., i]
        np.multiply(a, mix[i, 0], out=o)
        o += mix[i, 1] * b
        o += mix[i, 2] * c
    return out


def ssim_matlab_rgb_map(pred255: np.ndarray, target255: np.ndarray) -> np.ndarray:
    """Full-size H×W×3 SSIM map of MATLAB ``ssim`` applied to an H×W×3 array.

    Args:
        pred255, target255: float64 H×W×3 on the 0..255 scale (uint8 values).

    Returns:
        float64 H×W×3 map (replicate padding on all three axes, 11×11×11 Gaussian).
    """
    border = cv2.BORDER_REPLICATE
    mu_x, mu_y, e_sq, e_xy = (
        _mix_channels(m, _MIX3) for m in _moments(pred255, target255, _GAUSS, border)
    )
    smap, _ = _ssim_terms(mu_x, mu_y, e_sq, e_xy, (K1 * 255.0) ** 2, (K2 * 255.0) ** 2)
    return smap


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
    p, t = prepare_pair(pred, target, data_range=data_range, allow_grey=False)
    return float(ssim_matlab_rgb_map(p, t).mean())


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
    mu_x, mu_y, e_sq, e_xy = _moments(p, t, _GAUSS, _BORDERS[padding])
    smap, _ = _ssim_terms(
        mu_x,
        mu_y,
        e_sq,
        e_xy,
        (K1 * 255.0) ** 2,
        (K2 * 255.0) ** 2,
        clamp_var=padding == "reflect",
    )
    return float(smap.mean())


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
    p, t = prepare_pair(pred, target, data_range=data_range)
    win, r = 7, 3
    _check_window_fits(p.shape, win, "ssim_skimage_default")
    box = np.full(win, 1.0 / win, dtype=np.float64)
    mu_x, mu_y, e_sq, e_xy = (
        _valid(m, r) for m in _moments(p, t, box, cv2.BORDER_REFLECT_101)
    )
    n = win * win
    smap, _ = _ssim_terms(
        mu_x, mu_y, e_sq, e_xy, (K1 * 255.0) ** 2, (K2 * 255.0) ** 2, cov_norm=n / (n - 1.0)
    )
    return _mean_over_channels(smap)
