"""Blur-kernel estimation between a sharp and a blurry image, and kernel shape features.

Estimator (paired sets). Both images are decoded to linear grey (gamma 2.2, mean of
R, G, B) and cut into a grid of square patches. For each patch, a kernel ``K`` is the
regularised least-squares solution of ``∂S * K ≈ ∂B`` over the horizontal and vertical
derivatives ``∂`` (the derivative domain conditions the problem far better than raw
intensities), with a Tikhonov term ``λ‖K‖²``:

    K̂ = Σ_∂ conj(F ∂S) · F ∂B / (Σ_∂ |F ∂S|² + λ),   λ = reg · mean(Σ_∂ |F ∂S|²)

solved in closed form in the Fourier domain on Tukey-windowed patches, then cut to
``ksize × ksize`` around the centre, negative values and values under ``floor · max``
set to zero, and normalised to sum 1. The sample kernel pools the normal equations of
every textured patch (global blur); per-patch kernels give the spatial spread. Patches
whose sharp gradient energy is below ``texture · median`` (flat sky, walls) are not used.

Features of a kernel (pixels, convention of :mod:`lode_bench.synth.kernels`):

* ``extent_px``: ``sqrt(12 λ₁)``, λ₁ the largest eigenvalue of the kernel's second central
  moment: the length of the uniform straight motion with the same spread (a box of
  length L has variance L²/12);
* ``direction_deg``: angle of the principal axis in [0, 180), counter-clockwise from +x
  with y pointing up on screen;
* ``anisotropy``: ``1 − λ₂/λ₁`` (0 = round, 1 = a line);
* ``nonlinearity``: RMS distance (kernel-weighted) of the best quadratic curve
  ``v = a u² + b u + c`` in the principal frame from the principal axis, divided by
  ``extent_px``: 0 for a straight trajectory, larger for curved ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft

GAMMA = 2.2


_DECODE = (np.arange(256, dtype=np.float64) / 255.0) ** GAMMA


def linear_grey(img: np.ndarray) -> np.ndarray:
    """H×W×3 uint8 (or H×W, or float in [0, 1]) → H×W float64 linear grey in [0, 1].

    Gamma 2.2 decoding (a 256-entry table for uint8), then the mean of R, G and B.
    """
    x = np.asarray(img)
    if x.dtype == np.uint8:
        lin = _DECODE[x]
    else:
        lin = np.clip(x.astype(np.float64), 0.0, 1.0) ** GAMMA
    if lin.ndim == 3:
        return (lin[..., 0] + lin[..., 1] + lin[..., 2]) / 3.0
    return lin


def _tukey(n: int, alpha: float = 0.5) -> np.ndarray:
    w = np.ones(n)
    edge = int(alpha * (n - 1) / 2)
    if edge > 0:
        t = np.arange(edge) / edge
        ramp = 0.5 * (1 - np.cos(np.pi * t))
        w[:edge], w[n - edge :] = ramp, ramp[::-1]
    return w


def patch_grid(
    shape: tuple[int, int], patch: int, *, max_patches: int = 64
) -> list[tuple[int, int]]:
    """Top-left corners of a regular grid of ``patch``-sized squares covering ``shape``.

    The grid is centred; with more than ``max_patches`` cells, every k-th row/column is
    kept so that at most ``max_patches`` remain.
    """
    h, w = shape
    if h < patch or w < patch:
        return []
    ny, nx = h // patch, w // patch
    oy, ox = (h - ny * patch) // 2, (w - nx * patch) // 2
    step = 1
    while (ny + step - 1) // step * ((nx + step - 1) // step) > max_patches:
        step += 1
    return [
        (oy + i * patch, ox + j * patch) for i in range(0, ny, step) for j in range(0, nx, step)
    ]


@dataclass
class KernelEstimate:
    """Pooled kernel of a sample plus its per-patch kernels.

    Attributes:
        kernel: (k, k) pooled kernel summing to 1 (all zero when no patch was usable).
        patch_kernels: (P, k, k) kernels of the usable patches.
        corners: (P, 2) top-left (y, x) of those patches.
        n_patches: patches on the grid.
        residual_rms: RMS of ``B − S*K`` over the usable patches, 8-bit grey units.
    """

    kernel: np.ndarray
    patch_kernels: np.ndarray
    corners: np.ndarray
    n_patches: int
    residual_rms: float


def _crop_kernel(full: np.ndarray, ksize: int, floor: float) -> np.ndarray:
    k = np.fft.fftshift(full)
    c = np.array(k.shape) // 2
    r = ksize // 2
    k = k[c[0] - r : c[0] + r + 1, c[1] - r : c[1] + r + 1].copy()
    k[k < 0] = 0.0
    if k.max() > 0:
        k[k < floor * k.max()] = 0.0
    s = k.sum()
    return k / s if s > 0 else k


def estimate_kernel(
    sharp: np.ndarray,
    blur: np.ndarray,
    *,
    ksize: int = 31,
    patch: int = 128,
    reg: float = 3e-3,
    floor: float = 0.05,
    texture: float = 0.2,
    max_patches: int = 64,
) -> KernelEstimate:
    """Regularised least-squares blur kernel between aligned sharp and blurry images.

    Args:
        sharp: H×W×3 uint8 (or linear grey float64 H×W, see :func:`linear_grey`).
        blur: same shape as ``sharp``.
        ksize: odd kernel side (the largest blur that can be measured is about ``ksize``).
        patch: patch side; must exceed ``2·ksize``.
        reg: Tikhonov weight relative to the mean spectral energy.
        floor: kernel values under ``floor · max`` are zeroed (noise suppression).
        texture: patches with gradient energy under ``texture ×`` the median are skipped.
        max_patches: cap of the patch grid.

    Returns:
        :class:`KernelEstimate`.

    Raises:
        ValueError: bad sizes or mismatched shapes.
    """
    if ksize % 2 == 0 or ksize < 3:
        raise ValueError(f"ksize must be odd and >= 3, got {ksize}")
    if patch <= 2 * ksize:
        raise ValueError(f"patch ({patch}) must exceed 2*ksize ({2 * ksize})")
    if sharp.shape != blur.shape:
        raise ValueError(f"sharp {sharp.shape} and blur {blur.shape} differ in shape")
    s = linear_grey(sharp) if sharp.ndim == 3 else np.asarray(sharp, np.float64)
    b = linear_grey(blur) if blur.ndim == 3 else np.asarray(blur, np.float64)
    corners = patch_grid(s.shape, patch, max_patches=max_patches)
    if not corners:
        z = np.zeros((ksize, ksize))
        return KernelEstimate(z, np.zeros((0, ksize, ksize)), np.zeros((0, 2), int), 0, np.nan)
    win = np.outer(_tukey(patch), _tukey(patch))
    ys = np.array([c[0] for c in corners])
    xs = np.array([c[1] for c in corners])
    iy = ys[:, None, None] + np.arange(patch)[None, :, None]
    ix = xs[:, None, None] + np.arange(patch)[None, None, :]
    sp, bp = s[iy, ix], b[iy, ix]  # (P, n, n)
    num = np.zeros((len(corners), patch, patch // 2 + 1), dtype=np.complex128)
    den = np.zeros(num.shape)
    for axis in (1, 2):
        ds = np.diff(sp, axis=axis, append=np.take(sp, [-1], axis=axis))
        db = np.diff(bp, axis=axis, append=np.take(bp, [-1], axis=axis))
        fs = sfft.rfft2(ds * win)
        fb = sfft.rfft2(db * win)
        num += np.conj(fs) * fb
        den += (fs * np.conj(fs)).real
    energy = den.mean(axis=(1, 2))
    good = energy >= texture * np.median(energy)
    good &= energy > 1e-12
    if good.any():
        lam = reg * energy[good][:, None, None]
        full = sfft.irfft2(num[good] / (den[good] + lam), s=(patch, patch))
        kernels = np.stack([_crop_kernel(f, ksize, floor) for f in full])
        pooled_lam = reg * den[good].mean()
        pooled = sfft.irfft2(
            num[good].sum(0) / (den[good].sum(0) + pooled_lam * good.sum()), s=(patch, patch)
        )
        kernel = _crop_kernel(pooled, ksize, floor)
        resid = _residual(sp[good], bp[good], kernel, ksize)
    else:
        kernels = np.zeros((0, ksize, ksize))
        kernel, resid = np.zeros((ksize, ksize)), np.nan
    return KernelEstimate(
        kernel=kernel,
        patch_kernels=kernels,
        corners=np.array(corners, dtype=int)[good],
        n_patches=len(corners),
        residual_rms=resid,
    )


def _residual(sp: np.ndarray, bp: np.ndarray, kernel: np.ndarray, ksize: int) -> float:
    """RMS of B − S*K on the patch interiors (8-bit grey units, after gamma re-encoding)."""
    import cv2

    r = ksize // 2
    flipped = np.ascontiguousarray(kernel[::-1, ::-1])
    errs = []
    for s, b in zip(sp, bp, strict=True):
        pred = cv2.filter2D(s, cv2.CV_64F, flipped, borderType=cv2.BORDER_REFLECT_101)
        d = (np.clip(pred, 0, 1) ** (1 / GAMMA) - np.clip(b, 0, 1) ** (1 / GAMMA))[r:-r, r:-r]
        errs.append(np.mean(d**2))
    return float(255.0 * np.sqrt(np.mean(errs)))


@dataclass(frozen=True)
class KernelFeatures:
    """Shape of one kernel (see module docstring); NaN for an empty kernel."""

    extent_px: float
    direction_deg: float
    anisotropy: float
    nonlinearity: float


def kernel_features(kernel: np.ndarray) -> KernelFeatures:
    """Second-moment extent, direction, anisotropy and trajectory non-linearity of a kernel.

    Args:
        kernel: (k, k) non-negative weights (normalised here); row = y (down), column = x.

    Example:
        >>> k = np.zeros((9, 9)); k[4, 1:8] = 1  # horizontal line, 7 px
        >>> f = kernel_features(k)
        >>> round(f.extent_px, 3), f.direction_deg, f.anisotropy, f.nonlinearity
        (6.928, 0.0, 1.0, 0.0)
    """
    k = np.clip(np.asarray(kernel, np.float64), 0, None)
    total = k.sum()
    if total <= 0:
        nan = float("nan")
        return KernelFeatures(nan, nan, nan, nan)
    k = k / total
    yy, xx = np.mgrid[0 : k.shape[0], 0 : k.shape[1]].astype(np.float64)
    x, y = xx - (k * xx).sum(), -(yy - (k * yy).sum())  # y up
    cov = np.array([[(k * x * x).sum(), (k * x * y).sum()], [(k * x * y).sum(), (k * y * y).sum()]])
    evals, evecs = np.linalg.eigh(cov)
    l1, l2 = max(evals[1], 0.0), max(evals[0], 0.0)
    if l1 <= 1e-12:
        return KernelFeatures(0.0, 0.0, 0.0, 0.0)
    vx, vy = evecs[:, 1]
    direction = float(np.degrees(np.arctan2(vy, vx)) % 180.0)
    if abs(direction - 180.0) < 1e-9:
        direction = 0.0
    extent = float(np.sqrt(12.0 * l1))
    u = x * vx + y * vy
    v = -x * vy + y * vx
    w = k.ravel() > 0
    uu, vv, ww = u.ravel()[w], v.ravel()[w], k.ravel()[w]
    a = np.stack([uu**2, uu, np.ones_like(uu)], axis=1)
    sw = np.sqrt(ww)
    coef, *_ = np.linalg.lstsq(a * sw[:, None], vv * sw, rcond=None)
    bend = float(np.sqrt(np.sum(ww * (a @ coef) ** 2)))
    return KernelFeatures(
        extent_px=extent,
        direction_deg=direction,
        anisotropy=float(1.0 - l2 / l1),
        nonlinearity=bend / extent,
    )
