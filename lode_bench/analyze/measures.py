"""Per-image blur measures that need no kernel: flow-based blurred area, saturation, noise,
and a blind (single-image) blur-extent estimate.

* **Blurred-area fraction** (paired sets): OpenCV DIS optical flow (medium preset) from the
  sharp target to the blurry image on 8-bit grey; the fraction of pixels whose flow
  magnitude exceeds each threshold ``t`` (px), ``t`` = 0, 0.5, …, 5. This is the
  ratio-vs-threshold curve of BladeNet's dataset comparison; it measures the apparent
  displacement between target and blurry frame, so a blur centred on its target reads
  lower than its kernel extent.
* **Saturated fraction**: share of pixels of the blurry image whose largest channel is
  ≥ 250 (of 255).
* **Noise level** (estimated): Immerkær's fast estimator (1996) per RGB channel,
  ``σ = sqrt(π/2) · mean|I * N|/6`` with ``N = [[1,−2,1],[−2,4,−2],[1,−2,1]]``, over the
  pixels whose grey Sobel gradient magnitude is below its 90th percentile (edges
  excluded), averaged over the channels; 8-bit units. Texture biases it upwards.
* **Blind extent** (estimated): the autocorrelation of the image's directional derivative
  along the blur direction has its negative minimum at the blur length (a box blur of
  length L turns each edge into a ramp of length L; cf. Yitzhaky & Kopeika 1997). The
  derivative auto/cross-correlations are computed once by FFT, the normalised curve
  ``R_θ(τ)/R_θ(0)`` is read along directions θ every 3°, and the deepest minimum over
  ``τ ≥ 2`` px gives the extent. A minimum shallower than ``−0.1`` is not trusted (NaN).
  Images are reduced (area filter) to at most 640 px on the long side first and the
  lag scaled back.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import scipy.fft as sfft
from scipy.ndimage import map_coordinates

from lode_bench.align.flow import flow_magnitude as align_flow_magnitude
from lode_bench.analyze.kernel import _tukey, linear_grey
from lode_bench.io.grey import grey_u8

FLOW_THRESHOLDS: tuple[float, ...] = tuple(np.round(np.arange(0.0, 5.01, 0.5), 2).tolist())
SATURATION_LEVEL = 250


def flow_magnitude(sharp: np.ndarray, blur: np.ndarray) -> np.ndarray:
    """Per-pixel DIS optical-flow magnitude (px) from ``sharp`` to ``blur`` (H×W×3 uint8)."""
    return align_flow_magnitude(sharp, blur, "dis", grey="opencv")


def blurred_area_curve(
    magnitude: np.ndarray, thresholds: tuple[float, ...] = FLOW_THRESHOLDS
) -> list[float]:
    """Fraction of pixels with flow magnitude ``> t`` for each threshold ``t`` (px)."""
    m = np.asarray(magnitude, dtype=np.float64).ravel()
    return [float(np.mean(m > t)) for t in thresholds]


def saturated_fraction(img: np.ndarray, level: int = SATURATION_LEVEL) -> float:
    """Share of pixels whose largest channel is ``>= level`` (H×W×3 uint8)."""
    x = np.asarray(img)
    top = np.maximum(np.maximum(x[..., 0], x[..., 1]), x[..., 2]) if x.ndim == 3 else x
    return float(np.count_nonzero(top >= level) / top.size)


_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)


def noise_sigma(img: np.ndarray, *, edge_percentile: float = 90.0) -> float:
    """Immerkær noise standard deviation per channel (mean of R, G, B), 8-bit units.

    Args:
        img: H×W×3 (or H×W) uint8.
        edge_percentile: pixels above this percentile of gradient magnitude are excluded.
    """
    x = np.ascontiguousarray(img)
    g = grey_u8(x, "opencv")
    if min(g.shape) < 3:
        return math.nan
    resp = np.abs(cv2.filter2D(x, cv2.CV_32F, _IMMERKAER, borderType=cv2.BORDER_REFLECT_101))
    mag = cv2.magnitude(
        cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    )
    inner = mag[1:-1, 1:-1]
    flat = inner.ravel()
    k = min(flat.size - 1, int(round(edge_percentile / 100.0 * (flat.size - 1))))
    level = np.partition(flat, k)[k]
    keep = (inner <= level).astype(np.uint8)
    if not keep.any():
        return math.nan
    means = cv2.mean(np.ascontiguousarray(resp[1:-1, 1:-1]), mask=keep)
    n_ch = 1 if resp.ndim == 2 else resp.shape[2]
    return float(math.sqrt(math.pi / 2.0) * float(np.mean(means[:n_ch])) / 6.0)


def _even_fast_len(n: int) -> int:
    m = sfft.next_fast_len(n, real=True)
    while m % 2:
        m = sfft.next_fast_len(m + 1, real=True)
    return m


def blind_extent(
    blur: np.ndarray, *, max_len: float = 40.0, max_side: int = 640, min_depth: float = -0.1
) -> tuple[float, float]:
    """Blind blur extent (px) of one blurry image and the depth of its autocorrelation dip.

    Args:
        blur: H×W×3 uint8.
        max_len: longest extent searched, px (full resolution).
        max_side: the image is reduced so its long side is at most this.
        min_depth: dips shallower than this are not trusted.

    Returns:
        ``(extent_px, depth)``; extent NaN when not trusted.
    """
    img = np.asarray(blur)
    h0, w0 = img.shape[:2]
    scale = min(1.0, max_side / max(h0, w0))
    if scale < 1.0:
        img = cv2.resize(
            img,
            (max(1, round(w0 * scale)), max(1, round(h0 * scale))),
            interpolation=cv2.INTER_AREA,
        )
    g = linear_grey(img)
    h, w = g.shape
    if min(h, w) < 16:
        return math.nan, math.nan
    gx = cv2.Sobel(g, cv2.CV_64F, 1, 0, ksize=3) / 8.0
    gy = -cv2.Sobel(g, cv2.CV_64F, 0, 1, ksize=3) / 8.0  # y up
    win = np.outer(_tukey(h), _tukey(w))
    # zero-padded to an even fast size >= image + largest lag: no wrap-around within the lags
    reach = int(math.ceil(max_len * scale)) + 2
    shape = tuple(_even_fast_len(n + reach) for n in (h, w))
    fx, fy = sfft.rfft2(gx * win, s=shape), sfft.rfft2(gy * win, s=shape)
    rxx = np.fft.fftshift(sfft.irfft2(fx * np.conj(fx), s=shape))
    ryy = np.fft.fftshift(sfft.irfft2(fy * np.conj(fy), s=shape))
    rxy = np.fft.fftshift(sfft.irfft2(fx * np.conj(fy), s=shape))
    rxy_sym = rxy + np.roll(rxy[::-1, ::-1], (1, 1), axis=(0, 1))  # R_xy(τ) + R_xy(−τ)
    h, w = shape[0] // 2, shape[1] // 2  # zero lag after fftshift
    lags = np.arange(0.0, max_len * scale + 0.25, 0.5)
    best_depth, best_lag = math.inf, math.nan
    for theta in np.radians(np.arange(0.0, 180.0, 3.0)):
        c, s = math.cos(theta), math.sin(theta)
        coords = [h - lags * s, w + lags * c]
        r = (
            c * c * map_coordinates(rxx, coords, order=1)
            + s * s * map_coordinates(ryy, coords, order=1)
            + c * s * map_coordinates(rxy_sym, coords, order=1)
        )
        if r[0] <= 0:
            continue
        r = r / r[0]
        sel = lags >= 2.0
        i = int(np.argmin(np.where(sel, r, np.inf)))
        if r[i] < best_depth:
            best_depth, best_lag = float(r[i]), float(lags[i])
    if not math.isfinite(best_depth):
        return math.nan, math.nan
    extent = best_lag / scale if best_depth <= min_depth else math.nan
    return extent, best_depth
