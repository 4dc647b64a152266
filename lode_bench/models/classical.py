"""Classical baselines: unsharp masking (blind) and two non-blind deconvolutions.

``wiener`` and ``richardson-lucy`` are **non-blind**: they need the sample's true blur
kernel (per-sample array ``kernel``, a 2-D PSF, as synthetic datasets store it). A sample
without one becomes an error row. Deconvolution runs per RGB channel on [0, 1] floats with
symmetric boundary handling through scikit-image.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage

from lode_bench.datasets.types import Sample
from lode_bench.errors import LodeBenchError


def unsharp_mask(
    blurry: np.ndarray, sample: Sample | None = None, *, sigma: float = 2.0, amount: float = 1.0
) -> np.ndarray:
    """``x + amount·(x − G_σ * x)`` per channel (Gaussian σ in pixels, reflect borders).

    Args:
        blurry: H×W×3 float32 in [0, 1].
        sigma: Gaussian standard deviation.
        amount: sharpening strength.

    Returns:
        H×W×3 float32, not clipped (the protocol clamps).
    """
    x = np.asarray(blurry, dtype=np.float32)
    smooth = ndimage.gaussian_filter(x, sigma=(sigma, sigma, 0), mode="reflect")
    return x + amount * (x - smooth)


def _kernel(sample: Sample | None) -> np.ndarray:
    if sample is None or "kernel" not in sample.arrays:
        sid = sample.id if sample is not None else "?"
        raise LodeBenchError(
            f"sample {sid!r} has no 'kernel' array: non-blind deconvolution needs the true blur "
            "kernel (datasets synthesised by lode-bench store it as role 'kernel')"
        )
    k = np.asarray(sample.array("kernel"), dtype=np.float64)
    if k.ndim != 2 or k.size == 0 or not np.all(np.isfinite(k)) or k.sum() <= 0:
        raise LodeBenchError(
            f"sample {sample.id!r}: kernel must be a finite 2-D array with positive sum, "
            f"got shape {k.shape}"
        )
    return k / k.sum()


def _pad(x: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, tuple[slice, slice]]:
    """Mirror-pad by twice the kernel size (limits boundary ringing); returns the crop back."""
    p = 2 * max(k.shape)
    padded = np.pad(x, ((p, p), (p, p), (0, 0)), mode="symmetric")
    return padded, (slice(p, p + x.shape[0]), slice(p, p + x.shape[1]))


def wiener_deconvolve(
    blurry: np.ndarray, sample: Sample | None = None, *, balance: float = 0.01
) -> np.ndarray:
    """Wiener deconvolution with the sample's kernel (``skimage.restoration.wiener``).

    Args:
        blurry: H×W×3 float32 in [0, 1].
        sample: must carry a ``kernel`` array.
        balance: regularisation (noise-to-signal ratio).
    """
    from skimage.restoration import wiener

    k = _kernel(sample)
    x, crop = _pad(np.asarray(blurry, dtype=np.float64), k)
    out = np.stack([wiener(x[..., c], k, balance, clip=False) for c in range(3)], axis=-1)
    return out[crop].astype(np.float32)


def richardson_lucy_deconvolve(
    blurry: np.ndarray, sample: Sample | None = None, *, num_iter: int = 30
) -> np.ndarray:
    """Richardson–Lucy deconvolution with the sample's kernel (scikit-image).

    Args:
        blurry: H×W×3 float32 in [0, 1].
        sample: must carry a ``kernel`` array.
        num_iter: iterations.
    """
    from skimage.restoration import richardson_lucy

    k = _kernel(sample)
    x, crop = _pad(np.clip(np.asarray(blurry, dtype=np.float64), 0, 1), k)
    out = np.stack(
        [richardson_lucy(x[..., c], k, num_iter=num_iter, clip=False) for c in range(3)], axis=-1
    )
    return out[crop].astype(np.float32)


def identity(blurry: np.ndarray, sample: Sample | None = None, **_: Any) -> np.ndarray:
    """The blurry input itself: the baseline row of every table."""
    return blurry
