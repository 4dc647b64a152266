"""RSBlur-style realistic degradations of an averaged linear image, plus JPEG.

Order (Rim et al. 2022, PROTOCOLS §3.3, following the official PyTorch pipeline), on the
averaged image ``L`` in linear sRGB:

1. saturation synthesis: pixels that were clipped (code 255) in the source frames are
   given an intensity above white, ``1 + s`` with ``s ~ U(0.25, 1.75)`` drawn once per
   image, weighted by the fraction of the exposure they were clipped for; the result is
   clipped to [0, 1].
2. linear sRGB -> camera RGB: ``cam = M^-1 @ lin`` with the camera's colour-correction
   matrix ``M`` (camera RGB -> linear sRGB; one drawn per image when the camera profile
   lists several; identity when none);
3. mosaic with a Bayer pattern drawn at random from the four;
4. inverse white balance: each site divided by its gain (red ``U(1.9, 2.4)``, blue
   ``U(1.5, 1.9)`` by default, or the camera profile's ranges);
5. Poisson–Gaussian raw noise ``y = β1' · Poisson(x / β1') + β2' · N(0, 1)``, with
   ``β1' ~ U(0.5 β1, 1.5 β1)`` and ``β2' ~ U(0.5 β2, 1.5 β2)`` drawn once per image; ``β2``
   is the read-noise **standard deviation**, so the variance at a raw site of value ``x``
   is ``β1'·x + β2'²``. The noisy raw is not clipped (as in the official code);
6. white balance (× gain per site), Malvar demosaicking, camera RGB -> linear sRGB
   (``M @ cam``), clipped to [0, 1];
7. pixels saturated before the noise keep their pre-noise (clipped) values.

Without noise, steps 2–6 invert each other exactly where Malvar's filters reproduce the
image (per-channel affine ramps; everywhere without the Bayer step).

The caller then encodes with the camera response, rounds to 8 bits and crops
``crop`` pixels (4 in RSBlur) from every side of both blurry and sharp images.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from lode_bench.errors import ConfigError, ImageReadError
from lode_bench.io.images import encode_image
from lode_bench.synth.bayer import PATTERNS, demosaic_malvar, mosaic

# (beta1: shot-noise gain, beta2: read-noise standard deviation), RSBlur's estimates
REALBLUR_NOISE = (8.8915e-5, 2.9430e-5)
NOISE_JITTER = (0.5, 1.5)


@dataclass(frozen=True)
class DegradationParams:
    """Switches and ranges of the RSBlur pipeline (``None`` disables a step).

    Attributes:
        noise: ``(beta1, beta2)``, shot-noise gain and read-noise standard deviation.
        noise_jitter: each of beta1, beta2 is multiplied by ``U(*noise_jitter)`` per image
            (``(1, 1)``: fixed).
        ccm: camera RGB -> linear sRGB, a 3×3 matrix or a (k, 3, 3) stack (one drawn per
            image); ``None``: identity.
    """

    saturation: tuple[float, float] | None = (0.25, 1.75)
    noise: tuple[float, float] | None = REALBLUR_NOISE
    noise_jitter: tuple[float, float] = NOISE_JITTER
    bayer: bool = True
    patterns: tuple[str, ...] = PATTERNS
    red_gain: tuple[float, float] = (1.9, 2.4)
    blue_gain: tuple[float, float] = (1.5, 1.9)
    ccm: np.ndarray | None = field(default=None, compare=False)
    crop: int = 4


def poisson_gaussian_noise(
    x: np.ndarray, beta1: float, beta2: float, rng: np.random.Generator
) -> np.ndarray:
    """Heteroscedastic raw noise: ``beta1 * Poisson(x / beta1) + beta2 * N(0, 1)``.

    Args:
        x: raw signal (float64; about [0, 1]). Negative values (out-of-gamut colours in
            camera space) get no shot noise and are kept as they are.
        beta1: shot-noise gain (variance per unit signal); 0 disables shot noise.
        beta2: read-noise standard deviation; 0 disables read noise.
        rng: random generator.

    Returns:
        Noisy signal (not clipped); its variance is ``beta1 * x + beta2 ** 2``.
    """
    x = np.asarray(x, dtype=np.float64)
    pos = np.maximum(x, 0.0)
    shot = rng.poisson(pos / beta1) * beta1 + (x - pos) if beta1 > 0 else x
    return shot + beta2 * rng.standard_normal(size=x.shape) if beta2 > 0 else shot


def draw_noise_params(
    noise: tuple[float, float], rng: np.random.Generator, jitter: tuple[float, float] = NOISE_JITTER
) -> tuple[float, float]:
    """Per-image ``(beta1, beta2)``: each published value times ``U(*jitter)``.

    RSBlur's code draws ``U(0.5 β, 1.5 β)`` for both (``jitter = (0.5, 1.5)``).
    """
    b1 = float(noise[0] * rng.uniform(*jitter))
    b2 = float(noise[1] * rng.uniform(*jitter))
    return b1, b2


def _ccm_stack(ccm: np.ndarray | None) -> np.ndarray | None:
    if ccm is None:
        return None
    m = np.asarray(ccm, dtype=np.float64)
    m = m[None] if m.ndim == 2 else m
    if m.ndim != 3 or m.shape[1:] != (3, 3) or len(m) == 0:
        raise ConfigError(f"ccm must be a 3×3 matrix or a (k, 3, 3) stack, got {m.shape}")
    return m


@dataclass
class RawCapture:
    """The simulated raw of one image (steps 1–5) and what developing it needs.

    Attributes:
        raw: H×W noisy raw plane (H×W×3 camera RGB when the Bayer step is off).
        clean: the same before noise.
        gains: white-balance gain of every raw site (same shape as ``raw``).
        pattern: Bayer pattern, ``None`` without the Bayer step.
        ccm: 3×3 camera RGB -> linear sRGB used (``None``: identity).
        clipped: H×W×3 linear image after saturation synthesis, clipped to [0, 1].
        saturated: H×W×3 bool, pixels at or above white before clipping.
        info: the random draws (JSON-able scalars, stored in the manifest).
    """

    raw: np.ndarray
    clean: np.ndarray
    gains: np.ndarray
    pattern: str | None
    ccm: np.ndarray | None
    clipped: np.ndarray
    saturated: np.ndarray
    info: dict[str, Any]


def simulate_raw(
    linear: np.ndarray,
    rng: np.random.Generator,
    params: DegradationParams,
    *,
    saturated_fraction: np.ndarray | None = None,
) -> RawCapture:
    """Steps 1–5: saturation, sRGB -> camera RGB, mosaic, inverse white balance, noise.

    Draw order (fixed, so a seed fixes every draw): saturation boost, CCM index (when
    several), Bayer pattern, red gain, blue gain, beta1, beta2, then the noise itself.

    Args:
        linear: H×W×3 float64 linear sRGB in [0, 1] (the frame average; H, W even for
            the Bayer step).
        rng: generator (one per sample, for reproducibility).
        params: which steps to run and their ranges.
        saturated_fraction: H×W×3 fraction of frames in which each pixel was clipped
            (needed for saturation synthesis; skipped when ``None``).
    """
    info: dict[str, Any] = {}
    lin = np.asarray(linear, dtype=np.float64)
    if params.saturation is not None and saturated_fraction is not None:
        s = float(rng.uniform(*params.saturation))
        info["saturation_boost"] = s
        lin = lin + s * saturated_fraction
    clipped = np.clip(lin, 0.0, 1.0)
    saturated = lin >= 1.0
    stack = _ccm_stack(params.ccm)
    ccm = None
    cam = clipped
    if stack is not None:
        k = int(rng.integers(len(stack))) if len(stack) > 1 else 0
        if len(stack) > 1:
            info["ccm_index"] = k
        ccm = stack[k]
        cam = clipped @ np.linalg.inv(ccm).T
    pattern = None
    if params.bayer:
        pattern = str(params.patterns[int(rng.integers(len(params.patterns)))])
        rg, bg = float(rng.uniform(*params.red_gain)), float(rng.uniform(*params.blue_gain))
        info.update(bayer_pattern=pattern, red_gain=rg, blue_gain=bg)
        gains = mosaic(np.broadcast_to(np.array([rg, 1.0, bg]), cam.shape), pattern)
        clean = mosaic(cam, pattern) / gains
    else:
        gains = np.ones_like(cam)
        clean = cam
    raw = clean
    if params.noise is not None:
        b1, b2 = draw_noise_params(params.noise, rng, params.noise_jitter)
        info.update(beta1=b1, beta2=b2)
        raw = poisson_gaussian_noise(clean, b1, b2, rng)
    return RawCapture(raw, clean, gains, pattern, ccm, clipped, saturated, info)


def develop_raw(cap: RawCapture) -> np.ndarray:
    """Step 6–7: white balance, Malvar demosaicking, camera RGB -> linear sRGB, clip.

    Returns:
        H×W×3 float64 linear sRGB in [0, 1]; saturated pixels keep their clipped values.
    """
    x = cap.raw * cap.gains
    if cap.pattern is not None:
        x = demosaic_malvar(x, cap.pattern)
    if cap.ccm is not None:
        x = x @ cap.ccm.T
    x = np.clip(x, 0.0, 1.0)
    x[cap.saturated] = cap.clipped[cap.saturated]
    return x


def apply_rsblur_degradations(
    linear: np.ndarray,
    rng: np.random.Generator,
    params: DegradationParams,
    *,
    saturated_fraction: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Degrade an averaged linear image (:func:`simulate_raw` then :func:`develop_raw`).

    Args:
        linear: H×W×3 float64 linear sRGB in [0, 1] (the frame average).
        rng: generator (one per sample, for reproducibility).
        params: which steps to run and their ranges.
        saturated_fraction: H×W×3 fraction of frames in which each pixel was clipped
            (needed for saturation synthesis; skipped when ``None``).

    Returns:
        (degraded H×W×3 float64 linear sRGB in [0, 1], dict of the random draws).
    """
    cap = simulate_raw(linear, rng, params, saturated_fraction=saturated_fraction)
    return develop_raw(cap), cap.info


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
