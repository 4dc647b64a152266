"""Centroid alignment of globally blurred pairs (RealBlur ground-truth step 3).

A blurry image is ``B = S ⊛ K`` with ``B(x) = Σ_u K(u) S(x − u)``. When the kernel's
centroid ``c = Σ_u u K(u)`` is not zero, the blurry image is on average the sharp
image shifted by ``c``, and a geometric alignment of the pair leaves the ground truth
offset by that amount (half the motion for a one-sided blur). The fix: estimate
``K`` between the aligned pair, then shift the sharp image by ``c`` so that the
kernel relating the pair is centred.

The kernel is the regularised least-squares solution on image gradients, solved in
the Fourier domain (``K = Σ_d conj(∂_d S) ∂_d B / (Σ_d |∂_d S|² + λ)``) with an edge
taper against wrap-around, cropped to ``size × size``, negative and faint values
(below ``floor`` times the peak) set to zero, everything not connected to the peak
removed, then normalised to sum 1.
"""

from __future__ import annotations

import cv2
import numpy as np

from lode_bench.align.errors import AlignmentError
from lode_bench.align.transforms import translation_warp, warp_to_template
from lode_bench.errors import ConfigError, ShapeMismatchError
from lode_bench.io.grey import grey_float


def _taper(shape: tuple[int, int], width: int) -> np.ndarray:
    def ramp(n: int) -> np.ndarray:
        w = np.ones(n)
        k = min(width, n // 2)
        if k > 0:
            r = 0.5 - 0.5 * np.cos(np.pi * (np.arange(k) + 0.5) / k)
            w[:k], w[n - k :] = r, r[::-1]
        return w

    return np.outer(ramp(shape[0]), ramp(shape[1]))


def estimate_kernel(
    blur: np.ndarray,
    sharp: np.ndarray,
    *,
    size: int = 65,
    reg: float = 1e-2,
    floor: float = 0.1,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Blur kernel ``K`` with ``blur ≈ sharp ⊛ K`` (size × size, sums to 1, centre = zero shift).

    Args:
        blur: H×W×3 or H×W blurry image (uint8 or float [0, 1]).
        sharp: aligned sharp image of the same size.
        size: odd kernel side (px); must exceed the blur extent.
        reg: Tikhonov weight, relative to the mean gradient power spectrum.
        floor: kernel values below ``floor × max`` are zeroed (removes the noise floor
            that would bias the centroid).
        mask: optional H×W bool; gradients outside it are ignored (e.g. moving objects).

    Returns:
        float64 kernel of shape (size, size); ``K[size//2, size//2]`` is zero shift.
    """
    if size < 3 or size % 2 == 0:
        raise ConfigError("kernel size must be an odd integer ≥ 3")
    b, s = grey_float(blur, np.float64), grey_float(sharp, np.float64)
    if b.shape != s.shape:
        raise ShapeMismatchError(f"blur {b.shape} and sharp {s.shape} differ in size")
    h, w = b.shape
    if min(h, w) < 2 * size:
        raise AlignmentError(f"image {b.shape} too small for a {size}×{size} kernel")
    win = _taper((h, w), max(size, min(h, w) // 8))
    if mask is not None:
        win = win * cv2.GaussianBlur(mask.astype(np.float64), (0, 0), 3.0)
    num = np.zeros((h, w), complex)
    den = np.zeros((h, w))
    for axis in (0, 1):
        gs = np.diff(s, axis=axis, append=np.take(s, [-1], axis=axis)) * win
        gb = np.diff(b, axis=axis, append=np.take(b, [-1], axis=axis)) * win
        fs, fb = np.fft.fft2(gs), np.fft.fft2(gb)
        num += np.conj(fs) * fb
        den += np.abs(fs) ** 2
    k_full = np.real(np.fft.ifft2(num / (den + reg * den.mean())))
    k_full = np.fft.fftshift(k_full)
    cy, cx, r = h // 2, w // 2, size // 2
    k = k_full[cy - r : cy + r + 1, cx - r : cx + r + 1].copy()
    k[k < floor * k.max()] = 0.0
    # keep the support connected to the peak: isolated noise blobs would bias the centroid
    _, labels = cv2.connectedComponents((k > 0).astype(np.uint8), connectivity=8)
    peak = np.unravel_index(int(np.argmax(k)), k.shape)
    k[labels != labels[peak]] = 0.0
    total = k.sum()
    if total <= 0:
        raise AlignmentError("kernel estimate is empty (images unrelated or too flat)")
    return k / total


def kernel_centroid(kernel: np.ndarray) -> tuple[float, float]:
    """Centroid ``(dx, dy)`` of a kernel relative to its centre pixel (px)."""
    k = np.asarray(kernel, dtype=np.float64)
    r_y, r_x = k.shape[0] // 2, k.shape[1] // 2
    ys, xs = np.mgrid[-r_y : k.shape[0] - r_y, -r_x : k.shape[1] - r_x]
    total = k.sum()
    return float((k * xs).sum() / total), float((k * ys).sum() / total)


def shift_image(img: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Translate an image by (dx, dy) px: ``out(x) = img(x − (dx, dy))`` (cubic, reflect border)."""
    return warp_to_template(img, translation_warp(-dx, -dy), img.shape)


def centroid_align(
    blur: np.ndarray, sharp: np.ndarray, *, size: int = 65, mask: np.ndarray | None = None
) -> tuple[np.ndarray, tuple[float, float], np.ndarray]:
    """Shift ``sharp`` so that the kernel between the pair is centred.

    Returns:
        ``(shifted sharp (same dtype as sharp), (dx, dy) shift applied, kernel)``.
    """
    k = estimate_kernel(blur, sharp, size=size, mask=mask)
    dx, dy = kernel_centroid(k)
    return shift_image(sharp, dx, dy), (dx, dy), k
