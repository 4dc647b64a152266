"""RSBlur-style realistic degradations of an averaged linear image, plus JPEG.

Order (Rim et al. 2022, PROTOCOLS §3.3), on the averaged image ``L`` in linear RGB:

1. saturation synthesis: pixels that were clipped (code 255) in the source frames are
   given an intensity above white, ``1 + s`` with ``s ~ U(0.25, 1.75)`` drawn once per
   image, weighted by the fraction of the exposure they were clipped for; the result is
   clipped to [0, 1] at the end. (The published range is the only fact known; that it
   brightens rather than darkens is this implementation's reading, so light streaks stay
   saturated as in real long exposures.)
2. linear RGB -> camera RGB (inverse of the colour-correction matrix, identity by default);
3. mosaic with a Bayer pattern drawn at random from the four;
4. inverse white balance (red gain ``U(1.9, 2.4)``, blue gain ``U(1.5, 1.9)``);
5. Poisson–Gaussian raw noise ``y = β1 · Poisson(x / β1) + N(0, β2)`` (variance
   ``β1·x + β2``), clipped to [0, 1];
6. white balance, Malvar demosaicking, camera RGB -> linear RGB;
7. pixels saturated before the noise keep their pre-noise (clipped) values.

The caller then encodes with the camera response, rounds to 8 bits and crops
``crop`` pixels (4 in RSBlur) from every side of both blurry and sharp images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from lode_bench.errors import ImageReadError
from lode_bench.io.images import encode_image
from lode_bench.synth.bayer import PATTERNS, demosaic_malvar, mosaic

REALBLUR_NOISE = (8.8915e-5, 2.9430e-5)
RSBLUR_NOISE = (1.0e-4, 9.1504e-4)


@dataclass(frozen=True)
class DegradationParams:
    """Switches and ranges of the RSBlur pipeline (``None`` disables a step)."""

    saturation: tuple[float, float] | None = (0.25, 1.75)
    noise: tuple[float, float] | None = REALBLUR_NOISE
    bayer: bool = True
    patterns: tuple[str, ...] = PATTERNS
    red_gain: tuple[float, float] = (1.9, 2.4)
    blue_gain: tuple[float, float] = (1.5, 1.9)
    ccm: np.ndarray | None = field(default=None, compare=False)
    crop: int = 4


def poisson_gaussian_noise(
    x: np.ndarray, beta1: float, beta2: float, rng: np.random.Generator
) -> np.ndarray:
    """Heteroscedastic raw noise: ``beta1 * Poisson(x / beta1) + N(0, sqrt(beta2))``.

    Args:
        x: signal in [0, 1] (float64).
        beta1: Poisson scale (variance per unit signal).
        beta2: Gaussian read-noise variance.
        rng: random generator.

    Returns:
        Noisy signal (not clipped); its variance is ``beta1 * x + beta2``.
    """
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, None)
    shot = rng.poisson(x / beta1) * beta1 if beta1 > 0 else x
    return shot + rng.normal(0.0, np.sqrt(beta2), size=x.shape) if beta2 > 0 else shot


def apply_rsblur_degradations(
    linear: np.ndarray,
    rng: np.random.Generator,
    params: DegradationParams,
    *,
    saturated_fraction: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Degrade an averaged linear image.

    Args:
        linear: H×W×3 float64 linear RGB in [0, 1] (the frame average).
        rng: generator (one per sample, for reproducibility).
        params: which steps to run and their ranges.
        saturated_fraction: H×W×3 fraction of frames in which each pixel was clipped
            (needed for saturation synthesis; skipped when ``None``).

    Returns:
        (degraded H×W×3 float64 linear RGB in [0, 1], dict of the random draws).
    """
    info: dict[str, Any] = {}
    lin = np.asarray(linear, dtype=np.float64)
    if params.saturation is not None and saturated_fraction is not None:
        s = float(rng.uniform(*params.saturation))
        info["saturation_boost"] = s
        lin = lin + s * saturated_fraction
    clipped = np.clip(lin, 0.0, 1.0)
    saturated = lin >= 1.0
    x = clipped
    ccm = params.ccm
    if ccm is not None:
        x = x @ np.linalg.inv(ccm).T
    if params.bayer:
        pattern = str(params.patterns[int(rng.integers(len(params.patterns)))])
        rg, bg = float(rng.uniform(*params.red_gain)), float(rng.uniform(*params.blue_gain))
        info.update(bayer_pattern=pattern, red_gain=rg, blue_gain=bg)
        # white-balance gain of every CFA site: the camera's raw is the image divided by it
        wb = mosaic(np.broadcast_to(np.array([rg, 1.0, bg]), x.shape), pattern)
        raw = mosaic(x, pattern) / wb
        if params.noise is not None:
            raw = np.clip(poisson_gaussian_noise(raw, *params.noise, rng), 0.0, 1.0)
        x = demosaic_malvar(raw * wb, pattern)  # white balance on the raw, then demosaic
    elif params.noise is not None:
        x = np.clip(poisson_gaussian_noise(x, *params.noise, rng), 0.0, 1.0)
    if ccm is not None:
        x = x @ ccm.T
    x = np.clip(x, 0.0, 1.0)
    x[saturated] = clipped[saturated]
    return x, info


def crop_border(img: np.ndarray, crop: int) -> np.ndarray:
    """Remove ``crop`` pixels from each side (no-op for 0)."""
    return img[crop:-crop, crop:-crop] if crop > 0 else img


def jpeg_roundtrip(img: np.ndarray, quality: int) -> np.ndarray:
    """Compress an H×W×3 uint8 RGB image as JPEG at ``quality`` and decode it back (RGB)."""
    data = encode_image(img, ".jpg", jpeg_quality=int(quality))
    dec = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if dec is None:
        raise ImageReadError("<jpeg in memory>", "JPEG round trip failed to decode")
    return np.ascontiguousarray(cv2.cvtColor(dec, cv2.COLOR_BGR2RGB))
