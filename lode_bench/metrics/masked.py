"""Masked (local-blur) metrics (PROTOCOLS §4.6), computed in float64.

* :func:`psnr_w`: ReLoBlur/LBAG ``weighted_psnr``: ``10 log10(1 / (Σ (p−g)²·M / ΣM / 3))``
  on [0, 1] images with a binary mask broadcast over RGB: the MSE over the masked
  pixels only (identical on the 0..255 scale with peak 255).
* :func:`ssim_w`: ReLoBlur/LBAG ``weighted_ssim``: per-channel 11×11 Gaussian SSIM map
  ('valid'), times the mask cropped by 5 pixels, ``Σ(map·M) / ΣM / C``.
* :func:`local_psnr_bladenet_legacy`: BladeNet's "local PSNR", which zeroes the pixels
  outside the mask in both images and averages the error over the **whole** image. It
  equals ``psnr_w + 10 log10(1 / f)`` (f = fraction of pixels in the mask): inflated, and not comparable to
  ``psnr_w``. Kept only to reproduce old numbers.

Masks: H×W (or H×W×1) boolean or numeric arrays; numeric masks are binarised with
``> 0`` (the ReLoBlur rule). Inputs are compared as given; the ReLoBlur code quantises
outputs to 8 bits first (clamp, round), which callers do when reading images.
"""

from __future__ import annotations

import numpy as np

from lode_bench.errors import LodeBenchError, ShapeMismatchError
from lode_bench.metrics.colour import MetricInputError, prepare_pair
from lode_bench.metrics.psnr import psnr_from_mse
from lode_bench.metrics.ssim_core import RADIUS, ssim_gaussian_map


class EmptyMaskError(LodeBenchError):
    """A masked metric got a mask with no selected pixel (in the region it scores)."""


def binary_mask(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Check a mask against an image shape and binarise it (``> 0``).

    Args:
        mask: H×W or H×W×1 array (bool or numeric; NaN refused).
        shape: the image shape (H×W or H×W×C).

    Returns:
        bool H×W array.

    Raises:
        ShapeMismatchError: the mask's H×W differs from the image's.
        MetricInputError: bad rank or NaN values.
        EmptyMaskError: no pixel selected.
    """
    m = np.asarray(mask)
    if m.ndim == 3 and m.shape[2] == 1:
        m = m[..., 0]
    if m.ndim != 2:
        raise MetricInputError(f"mask: expected an H×W array, got shape {np.asarray(mask).shape}")
    if m.shape != tuple(shape[:2]):
        raise ShapeMismatchError(f"mask shape {m.shape} differs from image size {tuple(shape[:2])}")
    if m.dtype.kind == "f" and not np.isfinite(m).all():
        raise MetricInputError("mask: contains NaN or infinite values")
    b = m.astype(bool) if m.dtype == bool else m > 0
    if not b.any():
        raise EmptyMaskError("mask is empty: no pixel is marked as blurred")
    return b


def _masked_sse(p: np.ndarray, t: np.ndarray, m: np.ndarray) -> tuple[float, int]:
    """Sum of squared errors over masked pixels (all channels) and the channel count."""
    d = p[m] - t[m]  # (N,) for grey or (N, C)
    channels = 1 if p.ndim == 2 else p.shape[2]
    return float(np.sum(d * d)), channels


def psnr_w(
    pred: np.ndarray, target: np.ndarray, mask: np.ndarray, *, data_range: float = 255.0
) -> float:
    """ReLoBlur weighted PSNR: the PSNR of the masked pixels only.

    Args:
        pred: H×W×3 RGB (or H×W) prediction in ``[0, data_range]``.
        target: target of the same shape.
        mask: H×W blur mask (binarised with ``> 0``).
        data_range: full-scale value of the inputs.

    Returns:
        ``10 log10(255² / (Σ_masked (p − t)² / (ΣM · C)))`` in dB on the 0..255 scale;
        ``inf`` when the masked pixels are identical.

    Raises:
        EmptyMaskError: the mask selects no pixel.
    """
    p, t = prepare_pair(pred, target, data_range=data_range)
    m = binary_mask(mask, p.shape)
    sse, channels = _masked_sse(p, t, m)
    return psnr_from_mse(sse / (int(m.sum()) * channels), 255.0)


def ssim_w(
    pred: np.ndarray, target: np.ndarray, mask: np.ndarray, *, data_range: float = 255.0
) -> float:
    """ReLoBlur weighted SSIM: 'valid' per-channel Gaussian SSIM averaged over the mask.

    The (H−10)×(W−10)×C map is multiplied by the mask cropped by 5 pixels on each side
    and ``Σ(map · M) / ΣM / C`` is returned (ΣM over the cropped single-channel mask).

    Args:
        pred: H×W×3 RGB (or H×W) prediction in ``[0, data_range]``.
        target: target of the same shape.
        mask: H×W blur mask (binarised with ``> 0``).
        data_range: full-scale value of the inputs.

    Returns:
        Masked SSIM in [−1, 1].

    Raises:
        EmptyMaskError: the mask is empty, or empty once its 5-pixel border is removed.
    """
    p, t = prepare_pair(pred, target, data_range=data_range)
    m = binary_mask(mask, p.shape)
    mc = m[RADIUS:-RADIUS, RADIUS:-RADIUS]
    count = int(mc.sum())
    if count == 0:
        raise EmptyMaskError(
            "mask is empty inside the scored area (SSIM map excludes a 5-pixel border)"
        )
    smap = np.asarray(ssim_gaussian_map(p, t, data_range=255.0))
    channels = 1 if smap.ndim == 2 else smap.shape[2]
    return float(np.sum(smap[mc]) / count / channels)


def local_psnr_bladenet_legacy(
    pred: np.ndarray, target: np.ndarray, mask: np.ndarray, *, data_range: float = 255.0
) -> float:
    """BladeNet's legacy "local PSNR" (inflated; **not** comparable to :func:`psnr_w`).

    Pixels outside the mask are set to 0 in both images and the PSNR is taken over the
    whole image, so the masked error is divided by all H·W·C values instead of the
    masked ones: the result equals ``psnr_w + 10·log10(H·W / ΣM)``, higher the smaller
    the mask. Offered only to reproduce numbers published with that convention.

    Args:
        pred: H×W×3 RGB (or H×W) prediction in ``[0, data_range]``.
        target: target of the same shape.
        mask: H×W blur mask (binarised with ``> 0``).
        data_range: full-scale value of the inputs.

    Returns:
        PSNR in dB (``inf`` when the masked pixels are identical).
    """
    p, t = prepare_pair(pred, target, data_range=data_range)
    m = binary_mask(mask, p.shape)
    sse, _ = _masked_sse(p, t, m)
    return psnr_from_mse(sse / p.size, 255.0)
