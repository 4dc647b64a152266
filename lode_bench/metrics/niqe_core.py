"""NIQE feature extraction and quality (Mittal et al. 2013), vectorised NumPy in float64.

This module holds the arithmetic of the LIVE release (``computequality.m``,
``estimatemodelparam.m``); :mod:`lode_bench.metrics.niqe` holds the model files and the
registered metrics. Steps, all on a grey image on the 0..255 scale:

1. crop to whole blocks (96×96 by default), top-left anchored;
2. per scale (two): MSCN coefficients ``(I − μ) / (σ + 1)`` with a 7×7 Gaussian
   (σ = 7/6, normalised) and replicate borders, ``σ = sqrt(|G∗I² − μ²|)``;
3. per block (96×96 at scale 1, 48×48 at scale 2) 18 features: the AGGD fit of the MSCN
   coefficients (shape α and the mean of the two scales), and for each of the four
   paired products (horizontal, vertical, both diagonals; circular shift inside the
   block) the AGGD shape, mean, left and right scales;
4. the second scale is MATLAB ``imresize(I, 0.5)`` (bicubic, antialiased, symmetric
   borders), not rounded;
5. a multivariate Gaussian of the blocks' 36-feature vectors (NaN-aware as MATLAB's
   ``nanmean``/``nancov``) compared with the pristine model:
   ``sqrt((μp − μd)ᵀ pinv((Σp + Σd)/2) (μp − μd))``.

The AGGD moment-matching searches α on the grid 0.2:0.001:10 as the release does; the
grid's ratio function is increasing, so the nearest grid value is found by bisection,
with MATLAB ``min``'s choice on ties and on NaN (the first grid value).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import correlate1d
from scipy.special import gamma as _gamma

from lode_bench.metrics.colour import MetricInputError

#: Block side of the release (and of the shipped pristine models).
DEFAULT_BLOCK = 96
#: Features per block and scale; two scales give 36.
FEATURES_PER_SCALE = 18

_GAM = np.arange(0.2, 10.0 + 0.0005, 0.001)  # 0.2:0.001:10, 9801 values
_R_GAM = _gamma(2.0 / _GAM) ** 2 / (_gamma(1.0 / _GAM) * _gamma(3.0 / _GAM))
_BETA_FACTOR = np.sqrt(_gamma(1.0 / _GAM) / _gamma(3.0 / _GAM))
_MEAN_FACTOR = _gamma(2.0 / _GAM) / _gamma(1.0 / _GAM)
_MONOTONE = bool(np.all(np.diff(_R_GAM) > 0))


def gaussian_window(size: int = 7, sigma: float = 7.0 / 6.0) -> np.ndarray:
    """MATLAB ``fspecial('gaussian', size, sigma)`` normalised to sum 1 (size×size float64)."""
    r = (size - 1) / 2.0
    x = np.arange(-r, r + 1)
    g = np.exp(-(x**2) / (2.0 * sigma**2))
    g1 = g / g.sum()
    return np.outer(g1, g1)


def _gaussian_1d(size: int = 7, sigma: float = 7.0 / 6.0) -> np.ndarray:
    r = (size - 1) / 2.0
    x = np.arange(-r, r + 1)
    g = np.exp(-(x**2) / (2.0 * sigma**2))
    return g / g.sum()


_G1 = _gaussian_1d()


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * (
        (ax > 1) & (ax <= 2)
    )


def imresize_weights(in_len: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """MATLAB ``imresize`` bicubic contributions (antialiased when downscaling).

    Returns:
        ``(weights, indices)``, each out_len × taps: output ``i`` is
        ``Σ_k weights[i, k] · input[indices[i, k]]``; out_len = ``ceil(in_len·scale)``,
        borders mirrored (``symmetric``), weights normalised to sum 1 per output.
    """
    out_len = int(math.ceil(in_len * scale))
    kernel_width = 4.0 / scale if scale < 1 else 4.0
    u = np.arange(1, out_len + 1, dtype=np.float64) / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - kernel_width / 2.0)
    taps = int(math.ceil(kernel_width)) + 2
    ind = left[:, None] + np.arange(taps)[None, :]
    if scale < 1:
        w = scale * _cubic(scale * (u[:, None] - ind))
    else:
        w = _cubic(u[:, None] - ind)
    w = w / w.sum(axis=1, keepdims=True)
    aux = np.concatenate([np.arange(in_len), np.arange(in_len)[::-1]])
    idx = aux[np.mod(ind.astype(np.int64) - 1, 2 * in_len)]
    return w, idx


def imresize_matrix(in_len: int, scale: float) -> np.ndarray:
    """The contributions of :func:`imresize_weights` as a dense out×in matrix."""
    w, idx = imresize_weights(in_len, scale)
    mat = np.zeros((w.shape[0], in_len))
    np.add.at(mat, (np.repeat(np.arange(w.shape[0]), w.shape[1]), idx.ravel()), w.ravel())
    return mat


def imresize_half(img: np.ndarray) -> np.ndarray:
    """MATLAB ``imresize(img, 0.5)`` (bicubic, antialiased) of a 2-D float64 image, rows first."""
    h, w = img.shape
    wr, ir = imresize_weights(h, 0.5)
    tmp = np.zeros((wr.shape[0], w))
    for k in range(wr.shape[1]):
        tmp += wr[:, k, None] * img[ir[:, k], :]
    wc, ic = imresize_weights(w, 0.5)
    out = np.zeros((tmp.shape[0], wc.shape[0]))
    for k in range(wc.shape[1]):
        out += tmp[:, ic[:, k]] * wc[None, :, k]
    return out


def mscn(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MSCN coefficients and local σ of a grey 0..255 float64 image (replicate borders)."""
    mu = correlate1d(correlate1d(img, _G1, axis=0, mode="nearest"), _G1, axis=1, mode="nearest")
    sq = correlate1d(
        correlate1d(img * img, _G1, axis=0, mode="nearest"), _G1, axis=1, mode="nearest"
    )
    sigma = np.sqrt(np.abs(sq - mu * mu))
    return (img - mu) / (sigma + 1.0), sigma


def _blocks(img: np.ndarray, bh: int, bw: int) -> np.ndarray:
    """(n_blocks, bh, bw) view-copy in MATLAB column-major block order."""
    h, w = img.shape
    nh, nw = h // bh, w // bw
    return (
        img[: nh * bh, : nw * bw]
        .reshape(nh, bh, nw, bw)
        .transpose(2, 0, 1, 3)
        .reshape(nh * nw, bh, bw)
    )


def aggd_fit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Moment-matching AGGD fit of each row of ``x`` (n × m) as the release's ``estimateaggdparam``.

    Returns:
        ``(alpha, beta_left, beta_right)``, each of length n; NaN where a side is empty
        (α is then the first grid value, as MATLAB's ``min`` returns on NaN).
    """
    idx, bl, br = _aggd(x)
    return _GAM[idx], bl, br


def _aggd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grid index of α, β_left, β_right) per row of ``x``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        sq = x * x
        pos = x > 0
        n_pos, n_neg = pos.sum(axis=1), (x < 0).sum(axis=1)
        total = sq.sum(axis=1)
        pos_sq = np.where(pos, sq, 0.0).sum(axis=1)
        left = np.sqrt((total - pos_sq) / n_neg)  # zeros add nothing to either side
        right = np.sqrt(pos_sq / n_pos)
        g = left / right
        rhat = np.abs(x).mean(axis=1) ** 2 / (total / x.shape[1])
        rnorm = rhat * (g**3 + 1.0) * (g + 1.0) / (g**2 + 1.0) ** 2
    idx = _nearest_grid(rnorm)
    return idx, left * _BETA_FACTOR[idx], right * _BETA_FACTOR[idx]


def _nearest_grid(v: np.ndarray) -> np.ndarray:
    """Index of ``min((r_gam − v)²)`` per value (first on ties; 0 for non-finite values)."""
    finite = np.isfinite(v)
    if not _MONOTONE:  # pragma: no cover - guard for an exotic gamma implementation
        with np.errstate(invalid="ignore"):
            return np.where(finite, np.argmin((_R_GAM[None, :] - v[:, None]) ** 2, axis=1), 0)
    safe = np.where(finite, v, 0.0)
    hi = np.clip(np.searchsorted(_R_GAM, safe), 1, _R_GAM.size - 1)
    lo = hi - 1
    d_lo = (_R_GAM[lo] - safe) ** 2
    d_hi = (_R_GAM[hi] - safe) ** 2
    idx = np.where(d_lo <= d_hi, lo, hi)
    return np.where(finite, idx, 0)


_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))


def block_features(blocks: np.ndarray) -> np.ndarray:
    """The 18 features of each MSCN block (n × bh × bw) → n × 18."""
    n = blocks.shape[0]
    flat = blocks.reshape(n, -1)
    idx, bl, br = _aggd(flat)
    cols = [_GAM[idx], (bl + br) / 2.0]
    for shift in _SHIFTS:
        prod = blocks * np.roll(blocks, shift, axis=(1, 2))
        idx, bl, br = _aggd(prod.reshape(n, -1))
        with np.errstate(invalid="ignore"):
            mean = (br - bl) * _MEAN_FACTOR[idx]
        cols += [_GAM[idx], mean, bl, br]
    return np.stack(cols, axis=1)


def niqe_features(grey: np.ndarray, block: int = DEFAULT_BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """Per-block 36-feature vectors and block sharpness of a grey image.

    Args:
        grey: H×W float64 grey image on the 0..255 scale.
        block: block side at the first scale (even).

    Returns:
        ``(features, sharpness)``: n_blocks × 36 features (scale-1 features then scale-2)
        and the mean local σ of each block at scale 1 (used for patch selection when
        fitting a model), in MATLAB column-major block order.

    Raises:
        MetricInputError: the image is smaller than one block, or ``block`` is odd.
    """
    if block < 2 or block % 2:
        raise MetricInputError(f"NIQE block size must be an even number >= 2, got {block}")
    h, w = grey.shape
    nh, nw = h // block, w // block
    if nh == 0 or nw == 0:
        raise MetricInputError(
            f"NIQE needs an image of at least {block}×{block} pixels, got {w}×{h}"
        )
    img = np.asarray(grey, dtype=np.float64)[: nh * block, : nw * block]
    feats = []
    sharp = np.empty(0)
    for scale in (1, 2):
        structdis, sigma = mscn(img)
        b = block // scale
        feats.append(block_features(_blocks(structdis, b, b)))
        if scale == 1:
            sharp = _blocks(sigma, b, b).reshape(nh * nw, -1).mean(axis=1)
            img = imresize_half(img)
    return np.concatenate(feats, axis=1), sharp


def nan_mean_cov(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MATLAB ``nanmean`` (per column) and ``nancov`` (complete rows, n − 1) of n × d features.

    Raises:
        MetricInputError: fewer than two blocks without NaN features.
    """
    with np.errstate(invalid="ignore"):
        mu = np.nanmean(feats, axis=0)
    complete = feats[~np.isnan(feats).any(axis=1)]
    if complete.shape[0] < 2:
        raise MetricInputError(
            f"NIQE needs at least two blocks with finite features, got {complete.shape[0]} "
            "(image too small or too flat)"
        )
    return mu, np.cov(complete, rowvar=False)


def _pinv(a: np.ndarray) -> np.ndarray:
    """MATLAB ``pinv``: singular values below max(size)·σ_max·eps are dropped."""
    u, s, vt = np.linalg.svd(a)
    tol = max(a.shape) * (s[0] if s.size else 0.0) * np.finfo(np.float64).eps
    inv = np.where(s > tol, 1.0 / np.where(s > tol, s, 1.0), 0.0)
    return (vt.T * inv) @ u.T


def niqe_distance(feats: np.ndarray, mu_pris: np.ndarray, cov_pris: np.ndarray) -> float:
    """NIQE quality of block features against a pristine MVG (lower is better)."""
    mu, cov = nan_mean_cov(feats)
    d = mu_pris - mu
    q = float(d @ _pinv((cov_pris + cov) / 2.0) @ d)
    return math.sqrt(q) if q > 0 else 0.0
