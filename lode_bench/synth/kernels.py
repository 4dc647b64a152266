"""Blur kernels (PSFs): exact kernels of sub-pixel translations, random camera-shake kernels.

Convention: a kernel ``K`` of odd size, centred at ``(k//2, k//2)``, acts by true
convolution, ``B(x) = sum_u K(u) S(x - u)`` (``scipy.signal.convolve2d(S, K, "same")``).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def translation_psf(
    offsets: Sequence[tuple[float, float]], weights: Sequence[float] | None = None
) -> np.ndarray:
    """Exact PSF of averaging bilinearly shifted copies of an image.

    Frame ``t`` samples the sharp image at ``x + s_t`` with bilinear interpolation
    (``s_t = (dx, dy)`` in pixels, relative to the target frame). The average of those
    frames equals the convolution of the sharp image with the returned kernel
    (away from the borders), exactly up to floating-point rounding.

    Args:
        offsets: (dx, dy) per frame.
        weights: per-frame weights (default uniform); normalised to sum 1.

    Returns:
        (k, k) float64 kernel, k odd, summing to 1.
    """
    s = np.asarray(offsets, dtype=np.float64).reshape(-1, 2)
    w = np.ones(len(s)) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    fl = np.floor(s)
    reach = int(np.max(np.abs(np.concatenate([fl, fl + 1])))) if len(s) else 0
    k = 2 * reach + 1
    c = reach
    K = np.zeros((k, k), dtype=np.float64)
    for (dx, dy), (fx, fy), wt in zip(s, fl, w, strict=True):
        ax, ay = dx - fx, dy - fy
        for ox, wx in ((0, 1 - ax), (1, ax)):
            for oy, wy in ((0, 1 - ay), (1, ay)):
                if wx * wy == 0:
                    continue
                # frame samples S(x + d); as a convolution that is K(-d)
                K[c - int(fy + oy), c - int(fx + ox)] += wt * wx * wy
    return K


def random_shake_trajectory(
    rng: np.random.Generator,
    *,
    n_steps: int = 64,
    max_extent: float = 20.0,
    inertia: float = 0.7,
    impulse_prob: float = 0.05,
) -> np.ndarray:
    """A random camera-shake path (a random walk with inertia and rare jerks).

    In the spirit of Boracchi & Foi's trajectories used by DeblurGAN (not a copy of
    their parameters): velocity keeps ``inertia`` of its value, gets Gaussian
    perturbations and occasional impulses, and the whole path is scaled so its largest
    extent is ``max_extent`` pixels.

    Returns:
        (n_steps, 2) float64 positions (x, y) in pixels, starting near 0.
    """
    v = rng.normal(size=2)
    v /= np.linalg.norm(v) + 1e-12
    pos = np.zeros((n_steps, 2))
    for i in range(1, n_steps):
        dv = rng.normal(scale=0.4, size=2)
        if rng.random() < impulse_prob:
            dv += rng.normal(scale=2.0, size=2)
        v = inertia * v + (1 - inertia) * dv + 0.02 * (-pos[i - 1]) / max(max_extent, 1)
        pos[i] = pos[i - 1] + v
    ext = float(np.max(pos.max(axis=0) - pos.min(axis=0)))
    if ext > 0:
        pos *= max_extent / ext
    return pos - pos.mean(axis=0)


def trajectory_psf(path: np.ndarray, size: int | None = None) -> np.ndarray:
    """Rasterise a path into a normalised kernel (bilinear splatting, equal time per step).

    Args:
        path: (n, 2) positions (x, y) in pixels, centred near 0.
        size: odd kernel size (default: smallest odd size holding the path).

    Returns:
        (k, k) float64 kernel summing to 1.
    """
    if size is None:
        reach = int(np.ceil(np.max(np.abs(path)))) + 1
        size = 2 * reach + 1
    if size % 2 == 0:
        size += 1
    c = size // 2
    K = np.zeros((size, size), dtype=np.float64)
    for x, y in path:
        fx, fy = np.floor(x), np.floor(y)
        ax, ay = x - fx, y - fy
        for ox, wx in ((0, 1 - ax), (1, ax)):
            for oy, wy in ((0, 1 - ay), (1, ay)):
                yy, xx = int(fy + oy) + c, int(fx + ox) + c
                if 0 <= yy < size and 0 <= xx < size:
                    K[yy, xx] += wx * wy
    return K / K.sum()


def kernel_extent(kernel: np.ndarray, *, threshold: float = 1e-3) -> float:
    """Blur size of a kernel: the largest side of the box holding weights > threshold·max."""
    ys, xs = np.nonzero(kernel > threshold * kernel.max())
    return float(max(ys.max() - ys.min(), xs.max() - xs.min()) + 1)


def convolve(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """True 2-D convolution of each channel with ``kernel`` (reflect-101 borders), float64."""
    flipped = np.ascontiguousarray(kernel[::-1, ::-1])
    return cv2.filter2D(
        np.asarray(img, dtype=np.float64), cv2.CV_64F, flipped, borderType=cv2.BORDER_REFLECT_101
    )
