"""The SSIM engine every SSIM variant uses: kernels, the strip filter and its threads.

All variants share one formula,

    SSIM = (2 μx μy + C1)(2 σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)),
    C1 = (0.01 L)², C2 = (0.03 L)²,

with local moments taken under a window (:mod:`lode_bench.metrics.ssim` has the five
conventions built on it). Local moments are filtered with separable float64 kernels
through ``cv2.sepFilter2D`` (exact float64 arithmetic). Only four filtered planes are
needed per channel (μx, μy, E[x²+y²], E[xy]) because SSIM uses σx² and σy² only as a
sum. For the MATLAB 3-D variant the 11-tap kernel along the 3-long, replicate-padded
channel axis collapses to a fixed 3×3 channel-mixing matrix
(:func:`channel_mixing_matrix`), so the 3-D filter costs one 2-D filter plus a 3×3
matrix product. The image is processed in horizontal strips so that all temporaries
stay in cache; strips can run on several threads (:func:`set_threads`, default 1) and
their sums are combined in a fixed order, so results do not depend on the thread count.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from lode_bench.metrics.colour import MetricInputError, check_data_range

K1 = 0.01
K2 = 0.03
SIGMA = 1.5
#: Window radius for σ = 1.5: MATLAB ``ceil(3σ)`` = scipy/skimage ``int(3.5σ + 0.5)`` = 5.
RADIUS = 5

BORDERS = {
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


GAUSS = gaussian_kernel_1d()


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


def ssim_valid(
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


def prepare_array(img: np.ndarray, pad: int = 0, border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
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


def check_window_fits(shape: tuple[int, ...], win: int, what: str) -> None:
    if shape[0] < win or shape[1] < win:
        raise MetricInputError(
            f"{what}: image {shape[0]}×{shape[1]} is smaller than the {win}×{win} window"
        )


def channel_mixing_matrix(kernel: np.ndarray = GAUSS, channels: int = 3) -> np.ndarray:
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


MIX3 = channel_mixing_matrix()


def _mix_channels(img: np.ndarray, mix: np.ndarray) -> np.ndarray:
    """``out[..., c] = Σ_j mix[c, j] · img[..., j]`` for an H×W×C array (float64, exact
    double arithmetic in ``cv2.transform``)."""
    return cv2.transform(np.ascontiguousarray(img), mix)


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
    x, y = prepare_array(x), prepare_array(y)
    check_window_fits(x.shape, 2 * RADIUS + 1, "ssim_gaussian_map")
    smap, cs, _, _ = ssim_valid(
        x, y, GAUSS, (K1 * dr) ** 2, (K2 * dr) ** 2, keep_map=True, keep_cs=return_cs
    )
    assert smap is not None
    if return_cs:
        assert cs is not None
        return smap, cs
    return smap


def valid_mean(x: np.ndarray, y: np.ndarray, kernel: np.ndarray = GAUSS, **kw: object) -> float:
    """Mean over channels of the per-channel mean of the 'valid' SSIM map (L = 255)."""
    r = (len(kernel) - 1) // 2
    check_window_fits(x.shape, 2 * r + 1, "ssim")
    _, _, ssum, _ = ssim_valid(
        prepare_array(x),
        prepare_array(y),
        kernel,
        (K1 * 255.0) ** 2,
        (K2 * 255.0) ** 2,
        **kw,  # type: ignore[arg-type]
    )
    count = (x.shape[0] - 2 * r) * (x.shape[1] - 2 * r)
    return float(np.mean(ssum / count))
