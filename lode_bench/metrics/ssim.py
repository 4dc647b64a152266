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
The image is processed in horizontal strips so that all temporaries stay in cache;
strips can run on several threads (:func:`set_threads`, default 1) and their sums are
combined in a fixed order, so results do not depend on the thread count.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

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
    validate_pair,
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


def _ssim_terms(
    mu_x: np.ndarray,
    mu_y: np.ndarray,
    e_sq_sum: np.ndarray,
    e_xy: np.ndarray,
    scratch: np.ndarray,
    c1: float,
    c2: float,
    *,
    cov_norm: float = 1.0,
    clamp_var: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """SSIM map and contrast-structure map from filtered moments, in place.

    Args:
        mu_x, mu_y: local means (overwritten).
        e_sq_sum: local mean of ``x² + y²`` (overwritten).
        e_xy: local mean of ``x·y`` (overwritten).
        scratch: array of the same shape used as workspace.
        c1, c2: stabilising constants.
        cov_norm: ``N/(N-1)`` for sample covariance, 1 for population statistics.
        clamp_var: clamp σx² + σy² at 0 (torchmetrics clamps each variance; both are
            ≥ 0 up to rounding, so this only removes rounding noise).

    Returns:
        ``(ssim_map, cs_map)`` (views of the overwritten ``mu_x`` and ``e_xy``).
    """
    mu_sq = np.multiply(mu_y, mu_y, out=scratch)
    mu_xy = np.multiply(mu_x, mu_y, out=mu_y)
    np.multiply(mu_x, mu_x, out=mu_x)
    mu_sq += mu_x  # μx² + μy²
    var_sum = np.subtract(e_sq_sum, mu_sq, out=e_sq_sum)
    cov = np.subtract(e_xy, mu_xy, out=e_xy)
    if cov_norm != 1.0:
        var_sum *= cov_norm
        cov *= cov_norm
    if clamp_var:
        np.maximum(var_sum, 0.0, out=var_sum)
    # contrast-structure (2σxy + C2) / (σx² + σy² + C2) and luminance (2μxμy + C1) / (μx² + μy² + C1)
    cov *= 2.0
    cov += c2
    var_sum += c2
    cs = np.divide(cov, var_sum, out=cov)
    lum = mu_xy
    lum *= 2.0
    lum += c1
    mu_sq += c1
    np.divide(lum, mu_sq, out=lum)
    ssim_map = np.multiply(lum, cs, out=mu_x)
    return ssim_map, cs


_STRIP_ROWS = 48


THREADS_ENV = "LODE_BENCH_METRIC_THREADS"
_threads: int | None = None


def set_threads(n: int | None) -> None:
    """Threads used inside one SSIM call (strips in parallel); ``None`` restores the default.

    The default is ``$LODE_BENCH_METRIC_THREADS`` or 1: scoring usually runs one image per
    worker process already, where extra threads would only oversubscribe the cores.
    Results do not depend on this setting.
    """
    global _threads
    if n is not None and int(n) < 1:
        raise MetricInputError(f"thread count must be >= 1, got {n}")
    _threads = None if n is None else int(n)


def _workers() -> int:
    if _threads is not None:
        return _threads
    try:
        return max(1, int(os.environ.get(THREADS_ENV, "1")))
    except ValueError:
        raise MetricInputError(
            f"{THREADS_ENV} must be a positive integer, got {os.environ[THREADS_ENV]!r}"
        ) from None


def _ssim_valid(
    x: np.ndarray,
    y: np.ndarray,
    kernel: np.ndarray,
    c1: float,
    c2: float,
    *,
    scale: float = 1.0,
    mix: np.ndarray | None = None,
    cov_norm: float = 1.0,
    clamp_var: bool = False,
    keep_map: bool = False,
    keep_cs: bool = False,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray, np.ndarray]:
    """'Valid' SSIM of two images, computed in float64 in horizontal strips.

    The image is processed ``_STRIP_ROWS`` output rows at a time (plus the window's
    halo): each strip is converted to float64, its four moments filtered with
    ``cv2.sepFilter2D`` (exact float64) and the SSIM terms formed, all in reused
    cache-sized buffers. Strips run on :func:`set_threads` threads (numpy and OpenCV
    release the GIL); per-strip sums are added in strip order, so the result does not
    depend on the thread count.

    Args:
        x, y: H×W or H×W×C (C ≤ 4) arrays of any real dtype (pad them beforehand
            for a full-size map).
        kernel: odd-length 1-D kernel, applied along rows and columns.
        c1, c2: SSIM constants (on the scaled values).
        scale: factor applied to the values while converting to float64.
        mix: optional C×C channel-mixing matrix applied to the filtered moments (the
            channel axis of a 3-D filter; see :func:`channel_mixing_matrix`).
        cov_norm: covariance normalisation (N/(N−1) for sample statistics).
        clamp_var: clamp the variance sum at 0.
        keep_map: return the (H−2r)×(W−2r)[×C] SSIM map.
        keep_cs: return the contrast-structure map and sums too.

    Returns:
        ``(ssim_map | None, cs_map | None, ssim_sum, cs_sum)``; the sums are per
        channel (shape ``(C,)`` or ``()``) over the whole valid map (``cs_sum`` is
        zero unless ``keep_cs``).
    """
    r = (len(kernel) - 1) // 2
    h, w = x.shape[:2]
    oh, ow = h - 2 * r, w - 2 * r
    tail = x.shape[2:]
    smap = np.empty((oh, ow, *tail)) if keep_map else None
    csmap = np.empty((oh, ow, *tail)) if keep_cs else None
    starts = list(range(0, oh, _STRIP_ROWS))
    sums: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros(tail), np.zeros(tail))] * len(starts)
    rows = _STRIP_ROWS + 2 * r
    local = threading.local()

    def strip(k: int) -> None:
        bufs = getattr(local, "bufs", None)
        if bufs is None:
            bufs = local.bufs = [np.empty((rows, w, *tail)) for _ in range(7)]
        i0 = starts[k]
        i1 = min(i0 + _STRIP_ROWS, oh)
        n = i1 - i0 + 2 * r
        bx, by, sq, xy, fx, fy, ftmp = (b[:n] for b in bufs)
        for src, dst in ((x, bx), (y, by)):
            if scale == 1.0:
                np.copyto(dst, src[i0 : i1 + 2 * r], casting="unsafe")
            else:
                np.multiply(src[i0 : i1 + 2 * r], scale, out=dst, casting="unsafe")
        np.multiply(bx, bx, out=sq)
        np.multiply(by, by, out=xy)
        sq += xy
        np.multiply(bx, by, out=xy)
        border = cv2.BORDER_REPLICATE  # irrelevant: only the valid part is kept
        cv2.sepFilter2D(bx, cv2.CV_64F, kernel, kernel, dst=fx, borderType=border)
        cv2.sepFilter2D(by, cv2.CV_64F, kernel, kernel, dst=fy, borderType=border)
        # bx/by are free again: reuse them for the filtered second moments
        cv2.sepFilter2D(sq, cv2.CV_64F, kernel, kernel, dst=bx, borderType=border)
        cv2.sepFilter2D(xy, cv2.CV_64F, kernel, kernel, dst=by, borderType=border)
        moments = [fx, fy, bx, by]
        if mix is not None:  # on whole rows (contiguous), before the column crop
            moments = [_mix_channels(m[r : n - r], mix) for m in moments]
        else:
            moments = [m[r : n - r] for m in moments]
        mu_x, mu_y, e_sq, e_xy = (m[:, r : w - r] for m in moments)
        tmp = ftmp[r : n - r, r : w - r]
        s, cs = _ssim_terms(
            mu_x, mu_y, e_sq, e_xy, tmp, c1, c2, cov_norm=cov_norm, clamp_var=clamp_var
        )
        sums[k] = (
            s.sum(axis=(0, 1)),
            cs.sum(axis=(0, 1)) if keep_cs else np.zeros(tail),
        )
        if smap is not None:
            smap[i0:i1] = s
        if csmap is not None:
            csmap[i0:i1] = cs

    workers = min(_workers(), len(starts))
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(strip, range(len(starts))))
    else:
        for k in range(len(starts)):
            strip(k)
    ssum, cssum = np.zeros(tail), np.zeros(tail)
    for a, b in sums:
        ssum += a
        cssum += b
    return smap, csmap, ssum, cssum


_CV_DTYPES = (np.uint8, np.uint16, np.int16, np.float32, np.float64)


def _prep(img: np.ndarray, pad: int = 0, border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
    """The image as an OpenCV-friendly array (values unchanged, not converted to float64
    unless its dtype needs it), optionally padded by ``pad`` pixels on each side."""
    a = np.asarray(img)
    if a.dtype.type not in _CV_DTYPES:
        a = a.astype(np.float64)
    if pad:
        a = np.ascontiguousarray(a)
        a = cv2.copyMakeBorder(a, pad, pad, pad, pad, border)
        if img.ndim == 3 and a.ndim == 2:  # OpenCV drops a trailing 1-channel axis
            a = a[..., None]
    return a


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
    x, y = _prep(x), _prep(y)
    _check_window_fits(x.shape, 2 * RADIUS + 1, "ssim_gaussian_map")
    smap, cs, _, _ = _ssim_valid(
        x, y, _GAUSS, (K1 * dr) ** 2, (K2 * dr) ** 2, keep_map=True, keep_cs=return_cs
    )
    assert smap is not None
    if return_cs:
        assert cs is not None
        return smap, cs
    return smap


def _valid_mean(
    x: np.ndarray, y: np.ndarray, kernel: np.ndarray = _GAUSS, **kw: object
) -> float:
    """Mean over channels of the per-channel mean of the 'valid' SSIM map (L = 255)."""
    r = (len(kernel) - 1) // 2
    _check_window_fits(x.shape, 2 * r + 1, "ssim")
    _, _, ssum, _ = _ssim_valid(
        _prep(x), _prep(y), kernel, (K1 * 255.0) ** 2, (K2 * 255.0) ** 2, **kw  # type: ignore[arg-type]
    )
    count = (x.shape[0] - 2 * r) * (x.shape[1] - 2 * r)
    return float(np.mean(ssum / count))


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
    return _valid_mean(p, t, scale=scale)


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
    return _valid_mean(p, t)


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
    """``out[..., c] = Σ_j mix[c, j] · img[..., j]`` for an H×W×C array (float64, exact
    double arithmetic in ``cv2.transform``)."""
    return cv2.transform(np.ascontiguousarray(img), mix)


def ssim_matlab_rgb_map(pred255: np.ndarray, target255: np.ndarray) -> np.ndarray:
    """Full-size H×W×3 SSIM map of MATLAB ``ssim`` applied to an H×W×3 array.

    Args:
        pred255, target255: float64 H×W×3 on the 0..255 scale (uint8 values).

    Returns:
        float64 H×W×3 map (replicate padding on all three axes, 11×11×11 Gaussian).
    """
    x = _prep(pred255, RADIUS, cv2.BORDER_REPLICATE)
    y = _prep(target255, RADIUS, cv2.BORDER_REPLICATE)
    smap, _, _, _ = _ssim_valid(
        x, y, _GAUSS, (K1 * 255.0) ** 2, (K2 * 255.0) ** 2, mix=_MIX3, keep_map=True
    )
    assert smap is not None
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
    p, t, scale = validate_pair(pred, target, data_range=data_range, allow_grey=False)
    x = _prep(p, RADIUS, cv2.BORDER_REPLICATE)
    y = _prep(t, RADIUS, cv2.BORDER_REPLICATE)
    return _valid_mean(x, y, mix=_MIX3, scale=scale)


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
    border = _BORDERS[padding]
    x, y = _prep(p, RADIUS, border), _prep(t, RADIUS, border)
    return _valid_mean(x, y, clamp_var=padding == "reflect")


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
    return _valid_mean(p, t, box, cov_norm=n / (n - 1.0), scale=scale)
