"""Photometric matching of an aligned pair: per-channel gain/offset and an optional curve.

Methods (fitted per RGB channel on the pixels of a mask, normally the static valid
region, values in [0, 1]):

* ``"meanstd"`` (RealBlur): ``gain = std_target / std_source``,
  ``offset = mean_target − gain · mean_source``.
* ``"lstsq"``: least-squares ``target ≈ gain · source + offset``; exact when the static
  pixels differ only by exposure and noise (the local-blur case). Both images are
  first smoothed by a Gaussian (``smooth_sigma``; the fit mask is eroded to match):
  a per-pixel linear map commutes with smoothing, while noise in the source would
  otherwise bias the gain towards zero (regression dilution).
* ``"none"``: identity.

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
    """

    method: PhotometricMethod = "lstsq"
    curve: bool = False
    direction: Direction = "sharp-to-blur"
    curve_bins: int = 256
    smooth_sigma: float = 1.5

    def __post_init__(self) -> None:
        if self.method not in ("meanstd", "lstsq", "none"):
            raise ValueError(f"photometric method must be meanstd, lstsq or none, not {self.method!r}")
        if self.direction not in ("sharp-to-blur", "blur-to-sharp"):
            raise ValueError(f"direction must be sharp-to-blur or blur-to-sharp, not {self.direction!r}")
        if self.curve_bins < 4:
            raise ValueError("curve_bins must be at least 4")


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
            y = np.stack([np.interp(y[..., c], self.curve_x[c], self.curve_y[c]) for c in range(3)],
                         axis=2)
        return np.clip(y, 0.0, 1.0)

    def as_dict(self) -> dict[str, list[float] | bool]:
        """JSON-ready summary (gain, offset, whether a curve is used)."""
        return {"gain": [float(v) for v in self.gain], "offset": [float(v) for v in self.offset],
                "curve": self.curve_x is not None}


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
            v = (vals[-2] * wts[-2] + vals[-1] * wts[-1]) / wsum if wsum > 0 else (vals[-2] + vals[-1]) / 2
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
        ValueError: on a size mismatch or fewer than 16 pixels to fit on.
    """
    cfg = cfg or PhotometricConfig()
    s, t = _to_unit(source), _to_unit(target)
    if s.shape != t.shape or s.ndim != 3 or s.shape[2] != 3:
        raise ValueError(f"source {s.shape} and target {t.shape} must both be H×W×3")
    m = np.ones(s.shape[:2], bool) if mask is None else mask.astype(bool)
    if m.sum() < 16:
        raise ValueError("photometric fit needs at least 16 pixels in the mask")
    sv, tv = s[m], t[m]  # N×3
    if cfg.method == "lstsq" and cfg.smooth_sigma > 0:
        r = int(np.ceil(2 * cfg.smooth_sigma))
        m_s = cv2.erode(m.astype(np.uint8), np.ones((2 * r + 1, 2 * r + 1), np.uint8),
                        borderType=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)
        if m_s.sum() >= 16:
            s_s = cv2.GaussianBlur(s, (0, 0), cfg.smooth_sigma)
            t_s = cv2.GaussianBlur(t, (0, 0), cfg.smooth_sigma)
            sv_fit, tv_fit = s_s[m_s], t_s[m_s]
        else:
            sv_fit, tv_fit = sv, tv
    else:
        sv_fit, tv_fit = sv, tv
    gain, offset = np.ones(3), np.zeros(3)
    for c in range(3):
        a, b = (sv[:, c], tv[:, c]) if cfg.method == "meanstd" else (sv_fit[:, c], tv_fit[:, c])
        if cfg.method == "meanstd":
            sd = a.std()
            gain[c] = b.std() / sd if sd > 1e-12 else 1.0
            offset[c] = b.mean() - gain[c] * a.mean()
        elif cfg.method == "lstsq":
            var = a.var()
            gain[c] = np.mean((a - a.mean()) * (b - b.mean())) / var if var > 1e-12 else 1.0
            offset[c] = b.mean() - gain[c] * a.mean()
    pm = PhotometricMap(gain=gain, offset=offset)
    if cfg.curve:
        mapped = sv * gain + offset
        knots = [_fit_curve(mapped[:, c], tv[:, c], cfg.curve_bins) for c in range(3)]
        n = max(len(k[0]) for k in knots)
        # pad every channel to n knots by repeating its last knot (np.interp accepts ties)
        pm.curve_x = np.stack([np.pad(k[0], (0, n - len(k[0])), mode="edge") for k in knots])
        pm.curve_y = np.stack([np.pad(k[1], (0, n - len(k[1])), mode="edge") for k in knots])
    return pm
