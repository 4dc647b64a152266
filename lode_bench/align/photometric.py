"""Photometric matching of an aligned pair: per-channel gain/offset and an optional curve.

Methods (fitted per RGB channel on the pixels of a mask, normally the static valid
region, values in [0, 1]):

* ``"meanstd"`` (RealBlur): ``gain = std_target / std_source``,
  ``offset = mean_target − gain · mean_source``.
* ``"lstsq"``: least-squares ``target ≈ gain · source + offset``; exact when the static
  pixels differ only by exposure and noise (the local-blur case); refitted after
  trimming residual outliers (``trim_k``). Both images are
  first smoothed by a Gaussian (``smooth_sigma``; the fit mask is eroded to match):
  a per-pixel linear map commutes with smoothing, while noise in the source would
  otherwise bias the gain towards zero (regression dilution).
* ``"none"``: identity.

Pixels clipped at 0 or at full scale in either image (per channel) carry no exposure
information: with ``exclude_clipped`` they and a margin around them (``clip_margin_px``
plus the smoothing support) are left out of the ``lstsq`` fit. ``meanstd`` keeps
RealBlur's formula on every masked pixel.

With ``curve=True`` a monotone per-channel tone curve is fitted on top of the
gain/offset (binned means of the target per source level, made non-decreasing by
weighted isotonic regression), for cameras whose responses differ non-linearly.

``direction`` says which image is changed: ``"sharp-to-blur"`` (default, as RealBlur:
the sharp ground truth takes the blurry image's exposure) or ``"blur-to-sharp"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from lode_bench.align.errors import AlignmentError
from lode_bench.errors import ConfigError, ShapeMismatchError

PhotometricMethod = Literal["meanstd", "lstsq", "none"]
Direction = Literal["sharp-to-blur", "blur-to-sharp"]


@dataclass(frozen=True)
class PhotometricConfig:
    """Settings of :func:`fit_photometric`.

    Attributes:
        method: ``"meanstd"``, ``"lstsq"`` or ``"none"``.
        curve: add a monotone per-channel tone curve after the gain/offset.
        direction: ``"sharp-to-blur"`` or ``"blur-to-sharp"``.
        curve_bins: number of source-level bins of the curve.
        smooth_sigma: Gaussian sigma (px) applied before the ``lstsq`` fit (0 = none).
        exclude_clipped: leave pixels at 0 or full scale in either image, per channel,
            out of the ``lstsq`` fit.
        clip_margin_px: extra dilation (px) of the clipped pixels left out.
        trim_k: the ``lstsq`` fit is repeated without pixels whose residual lies more
            than ``trim_k`` robust standard deviations (1.4826 · MAD) from the median,
            so that parts of a moving object missed by the static mask do not bias it
            (0 = plain least squares).
        trim_rounds: how many times the trimmed refit is repeated.
    """

    method: PhotometricMethod = "lstsq"
    curve: bool = False
    direction: Direction = "sharp-to-blur"
    curve_bins: int = 256
    smooth_sigma: float = 1.5
    exclude_clipped: bool = True
    clip_margin_px: int = 2
    trim_k: float = 4.0
    trim_rounds: int = 2

    def __post_init__(self) -> None:
        if self.method not in ("meanstd", "lstsq", "none"):
            raise ConfigError(
                f"photometric method must be meanstd, lstsq or none, not {self.method!r}"
            )
        if self.direction not in ("sharp-to-blur", "blur-to-sharp"):
            raise ConfigError(
                f"direction must be sharp-to-blur or blur-to-sharp, not {self.direction!r}"
            )
        if self.curve_bins < 4:
            raise ConfigError("curve_bins must be at least 4")
        if self.smooth_sigma < 0 or self.clip_margin_px < 0:
            raise ConfigError("smooth_sigma and clip_margin_px must be non-negative")


@dataclass
class PhotometricMap:
    """A fitted source→target map, per RGB channel, on [0, 1] values.

    Attributes:
        gain, offset: shape (3,) arrays.
        curve_x, curve_y: shape (3, B) knots of the optional tone curve (applied after
            gain/offset, linear interpolation, clamped at the ends), or ``None``.
    """

    gain: np.ndarray
    offset: np.ndarray
    curve_x: np.ndarray | None = None
    curve_y: np.ndarray | None = None

    def apply(self, img: np.ndarray) -> np.ndarray:
        """Map an H×W×3 image (uint8, uint16 or float [0, 1]) to float64, clipped to [0, 1]."""
        x = _to_unit(img)
        y = x * self.gain[None, None, :] + self.offset[None, None, :]
        if self.curve_x is not None and self.curve_y is not None:
            y = np.stack(
                [np.interp(y[..., c], self.curve_x[c], self.curve_y[c]) for c in range(3)], axis=2
            )
        return np.clip(y, 0.0, 1.0)

    def as_dict(self) -> dict[str, list[float] | bool]:
        """JSON-ready summary (gain, offset, whether a curve is used)."""
        return {
            "gain": [float(v) for v in self.gain],
            "offset": [float(v) for v in self.offset],
            "curve": self.curve_x is not None,
        }


def identity_map() -> PhotometricMap:
    """The map that changes nothing."""
    return PhotometricMap(gain=np.ones(3), offset=np.zeros(3))


def _to_unit(img: np.ndarray) -> np.ndarray:
    x = np.asarray(img)
    if x.dtype == np.uint8:
        return x.astype(np.float64) / 255.0
    if x.dtype == np.uint16:
        return x.astype(np.float64) / 65535.0
    return x.astype(np.float64)


def isotonic_increasing(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least-squares non-decreasing fit of ``y`` (pool-adjacent-violators)."""
    vals: list[float] = []
    wts: list[float] = []
    lens: list[int] = []
    for yi, wi in zip(y.astype(np.float64), w.astype(np.float64), strict=True):
        vals.append(float(yi))
        wts.append(float(wi))
        lens.append(1)
        while len(vals) > 1 and vals[-2] > vals[-1]:
            wsum = wts[-2] + wts[-1]
            v = (
                (vals[-2] * wts[-2] + vals[-1] * wts[-1]) / wsum
                if wsum > 0
                else (vals[-2] + vals[-1]) / 2
            )
            vals[-2:], wts[-2:], lens[-2:] = [v], [wsum], [lens[-2] + lens[-1]]
    return np.repeat(np.array(vals), lens)


def _fit_curve(src: np.ndarray, dst: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(src, edges) - 1, 0, bins - 1)
    counts = np.bincount(idx, minlength=bins).astype(np.float64)
    sums = np.bincount(idx, weights=dst, minlength=bins)
    xs = np.bincount(idx, weights=src, minlength=bins)
    have = counts > 0
    x_knots = xs[have] / counts[have]
    y_knots = isotonic_increasing(sums[have] / counts[have], counts[have])
    return x_knots, y_knots


def _line(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Least-squares ``b ≈ gain · a + offset`` (element-wise sums, no BLAS)."""
    if a.size == 0:
        return 1.0, 0.0
    ac = a - a.mean()
    var = float((ac * ac).sum())
    gain = float((ac * (b - b.mean())).sum()) / var if var > 1e-12 * a.size else 1.0
    return gain, float(b.mean()) - gain * float(a.mean())


def _trimmed_line(a: np.ndarray, b: np.ndarray, k: float, rounds: int) -> tuple[float, float]:
    """:func:`_line` refitted after dropping residuals beyond ``k`` robust sigmas, ``rounds`` times."""
    gain, offset = _line(a, b)
    for _ in range(rounds if k > 0 else 0):
        res = b - (gain * a + offset)
        med = float(np.median(res))
        sd = 1.4826 * float(np.median(np.abs(res - med)))
        keep = np.abs(res - med) <= max(k * sd, 0.5 / 255.0)
        if keep.all() or keep.sum() < 16:
            break
        a, b = a[keep], b[keep]
        gain, offset = _line(a, b)
    return gain, offset


def _erode(mask: np.ndarray, r: int) -> np.ndarray:
    if r <= 0:
        return mask
    k = np.ones((2 * r + 1, 2 * r + 1), np.uint8)
    return cv2.erode(
        mask.astype(np.uint8), k, borderType=cv2.BORDER_CONSTANT, borderValue=0
    ).astype(bool)


def _clipped(a: np.ndarray, b: np.ndarray, margin: int) -> np.ndarray:
    """Pixels at 0 or full scale (half a code value) in either channel image, dilated."""
    lo, hi = 0.5 / 255.0, 254.5 / 255.0
    c = ((a <= lo) | (a >= hi) | (b <= lo) | (b >= hi)).astype(np.uint8)
    if margin > 0 and c.any():
        c = np.asarray(cv2.dilate(c, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)))
    return c.astype(bool)


def fit_photometric(
    source: np.ndarray,
    target: np.ndarray,
    mask: np.ndarray | None = None,
    cfg: PhotometricConfig | None = None,
) -> PhotometricMap:
    """Fit the per-channel map taking ``source`` to ``target`` on the pixels of ``mask``.

    Args:
        source: H×W×3 image to be changed (uint8/uint16 or float [0, 1]).
        target: H×W×3 image whose photometry is wanted, same size.
        mask: H×W bool pixels to fit on (default: all).
        cfg: method and curve settings (``direction`` is applied by the caller).

    Returns:
        The fitted map (identity for ``method="none"`` without curve).

    Raises:
        ShapeMismatchError: the images are not both H×W×3 of one size.
        AlignmentError: fewer than 16 pixels to fit on.
    """
    cfg = cfg or PhotometricConfig()
    s, t = _to_unit(source), _to_unit(target)
    if s.shape != t.shape or s.ndim != 3 or s.shape[2] != 3:
        raise ShapeMismatchError(f"source {s.shape} and target {t.shape} must both be H×W×3")
    m = np.ones(s.shape[:2], bool) if mask is None else mask.astype(bool)
    if m.sum() < 16:
        raise AlignmentError("photometric fit needs at least 16 pixels in the mask")
    sv, tv = s[m], t[m]  # N×3
    gain, offset = np.ones(3), np.zeros(3)
    if cfg.method == "meanstd":
        for c in range(3):
            a, b = sv[:, c], tv[:, c]
            sd = a.std()
            gain[c] = b.std() / sd if sd > 1e-12 else 1.0
            offset[c] = b.mean() - gain[c] * a.mean()
    elif cfg.method == "lstsq":
        r = int(np.ceil(2 * cfg.smooth_sigma)) if cfg.smooth_sigma > 0 else 0
        s_s = cv2.GaussianBlur(s, (0, 0), cfg.smooth_sigma) if r else s
        t_s = cv2.GaussianBlur(t, (0, 0), cfg.smooth_sigma) if r else t
        m_s = _erode(m, r)
        for c in range(3):
            m_c = (
                m_s & ~_clipped(s[..., c], t[..., c], r + cfg.clip_margin_px)
                if cfg.exclude_clipped
                else m_s
            )
            if m_c.sum() < 16:  # too few clean pixels: fall back to the unsmoothed mask
                m_c = (
                    m & ~_clipped(s[..., c], t[..., c], cfg.clip_margin_px)
                    if cfg.exclude_clipped
                    else m
                )
                a, b = s[..., c][m_c], t[..., c][m_c]
            else:
                a, b = s_s[..., c][m_c], t_s[..., c][m_c]
            gain[c], offset[c] = _trimmed_line(a, b, cfg.trim_k, cfg.trim_rounds)
    pm = PhotometricMap(gain=gain, offset=offset)
    if cfg.curve:
        mapped = sv * gain + offset
        knots = [_fit_curve(mapped[:, c], tv[:, c], cfg.curve_bins) for c in range(3)]
        n = max(len(k[0]) for k in knots)
        # pad every channel to n knots by repeating its last knot (np.interp accepts ties)
        pm.curve_x = np.stack([np.pad(k[0], (0, n - len(k[0])), mode="edge") for k in knots])
        pm.curve_y = np.stack([np.pad(k[1], (0, n - len(k[1])), mode="edge") for k in knots])
    return pm
