"""Simulated captured pairs with known ground truth, to validate alignment settings.

:func:`simulate_pair` turns a real photograph into a blurry/sharp pair that differs the
way captured pairs do: a random homography (corners moved by up to a few pixels), a
per-channel exposure change, sensor noise, and an object that moves during the
exposure (motion-blurred in the blurry image, sharp at its mid-exposure position in
the sharp image). The returned truth (warp, photometric map, moving region) lets a
user measure what :mod:`lode_bench.align` recovers on their own kind of images.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from lode_bench.align.transforms import apply_warp, image_corners, to_3x3
from lode_bench.errors import ConfigError


@dataclass
class SimulatedPair:
    """A simulated pair and its truth.

    Attributes:
        blur: H×W×3 uint8, the template frame (with the motion-blurred object).
        sharp: H×W×3 uint8, the input frame (warped, re-exposed, object sharp).
        warp: 3×3 true template→input warp.
        gain, offset: per-channel exposure change, ``sharp = gain · scene + offset``
            (0–255 units), so the exact sharp→blur map is ``(x − offset) / gain``.
        moving: H×W bool pixels of the template frame the object covers during the
            exposure (the true local-blur mask).
    """

    blur: np.ndarray
    sharp: np.ndarray
    warp: np.ndarray
    gain: np.ndarray
    offset: np.ndarray
    moving: np.ndarray


def random_homography(
    shape: tuple[int, ...], rng: np.random.Generator, max_corner_shift: float
) -> np.ndarray:
    """Template→input homography moving each corner by a uniform offset in ±max_corner_shift."""
    c = image_corners(shape).astype(np.float32)
    d = rng.uniform(-max_corner_shift, max_corner_shift, size=c.shape).astype(np.float32)
    return to_3x3(cv2.getPerspectiveTransform(c, c + d))


def _ellipse_alpha(
    shape: tuple[int, int], centre: np.ndarray, axes: tuple[float, float], angle: float
) -> np.ndarray:
    """Alpha (anti-aliased ellipse, ~1 px soft edge) of the object placed at ``centre``."""
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    ca, sa = np.cos(angle), np.sin(angle)
    u = ((xs - centre[0]) * ca + (ys - centre[1]) * sa) / axes[0]
    v = (-(xs - centre[0]) * sa + (ys - centre[1]) * ca) / axes[1]
    r = np.sqrt(u * u + v * v)
    return np.clip((1.0 - r) * min(axes) + 0.5, 0.0, 1.0)


def simulate_pair(
    scene: np.ndarray,
    out_shape: tuple[int, int],
    rng: np.random.Generator,
    *,
    max_corner_shift: float = 8.0,
    gain_range: tuple[float, float] = (0.7, 0.95),
    offset_range: tuple[float, float] = (2.0, 12.0),
    noise_sigma: float = 2.0,
    object_fraction: float = 0.0,
    object_texture: np.ndarray | None = None,
    motion_length: float = 24.0,
    frames: int = 25,
    sharp_moment: float = 0.0,
    warp: np.ndarray | None = None,
) -> SimulatedPair:
    """Make a captured-like pair from a photograph.

    Args:
        scene: H×W×3 uint8 RGB photograph, larger than ``out_shape`` by at least
            ``2 · (max_corner_shift + 2)`` pixels in each direction.
        out_shape: (height, width) of both images.
        rng: random generator (all randomness comes from it).
        max_corner_shift: corner displacement bound of the random homography (px).
        gain_range, offset_range: per-channel exposure change of the sharp image.
        noise_sigma: Gaussian noise (grey levels) added to both images before rounding.
        object_fraction: target fraction of the frame covered by the moving object's
            path (0 = no object).
        object_texture: RGB uint8 texture of the object (default: a flipped crop of
            the scene).
        motion_length: distance (px) the object travels during the exposure.
        frames: number of sub-frame positions averaged for the blur.
        sharp_moment: where along its path (−0.5 = exposure start, 0 = middle, 0.5 =
            end) the object sits in the sharp image; a short sharp exposure triggered
            with the long one sees it at −0.5.
        warp: a given template→input warp instead of a random homography.

    Returns:
        The pair and its truth.
    """
    h, w = out_shape
    sh, sw = scene.shape[:2]
    if warp is not None:
        c = image_corners((h, w))
        max_corner_shift = float(np.abs(apply_warp(np.linalg.inv(to_3x3(warp)), c) - c).max())
    margin = int(np.ceil(max_corner_shift)) + 2
    if sh < h + 2 * margin or sw < w + 2 * margin:
        raise ConfigError(f"scene {scene.shape[:2]} too small for {out_shape} with margin {margin}")
    oy = int(rng.integers(margin, sh - h - margin + 1))
    ox = int(rng.integers(margin, sw - w - margin + 1))
    base = scene.astype(np.float64)
    warp = random_homography((h, w), rng, max_corner_shift) if warp is None else to_3x3(warp)

    moving = np.zeros((h, w), bool)
    blur_scene = base.copy()
    sharp_scene = base.copy()
    if object_fraction > 0:
        src = object_texture if object_texture is not None else scene[::-1, ::-1]
        col = cv2.resize(src, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float64)
        angle = float(rng.uniform(0, np.pi))
        direction = np.array([np.cos(angle), np.sin(angle)])
        aspect = float(rng.uniform(0.6, 1.0))
        area = object_fraction * h * w
        # path area ≈ π·a·b + 2·b·L  (ellipse swept along the motion); solve for a
        a_ax = (
            -2 * aspect * motion_length
            + np.sqrt((2 * aspect * motion_length) ** 2 + 4 * np.pi * aspect * area)
        ) / (2 * np.pi * aspect)
        axes = (float(a_ax), float(a_ax * aspect))
        half = motion_length / 2 + max(axes)
        centre = np.array(
            [
                rng.uniform(half, w - half) if w > 2 * half else w / 2,
                rng.uniform(half, h - half) if h > 2 * half else h / 2,
            ]
        )
        obj_angle = float(rng.uniform(0, np.pi))

        def layer(t: float) -> tuple[np.ndarray, np.ndarray]:
            d = t * motion_length * direction  # the texture travels with the object
            shift = np.array([[1, 0, d[0]], [0, 1, d[1]]], dtype=np.float64)
            shifted = cv2.warpAffine(
                col, shift, (sw, sh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
            )
            return shifted, _ellipse_alpha((sh, sw), centre + d + [ox, oy], axes, obj_angle)

        acc = np.zeros_like(base)
        for t in np.linspace(-0.5, 0.5, frames):
            c_t, al = layer(float(t))
            acc += c_t * al[..., None] + base * (1.0 - al[..., None])
            moving |= al[oy : oy + h, ox : ox + w] > 0
        blur_scene = acc / frames
        c_t, al = layer(sharp_moment)
        sharp_scene = c_t * al[..., None] + base * (1.0 - al[..., None])

    blur = blur_scene[oy : oy + h, ox : ox + w]
    to_scene = np.array([[1.0, 0, ox], [0, 1.0, oy], [0, 0, 1.0]]) @ np.linalg.inv(warp)
    # float32: OpenCV 5.0's INTER_CUBIC is wrong on float64 input
    sharp = cv2.warpPerspective(
        sharp_scene.astype(np.float32),
        to_scene,
        (w, h),
        flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    ).astype(np.float64)
    gain = rng.uniform(*gain_range, size=3)
    offset = rng.uniform(*offset_range, size=3)
    sharp = sharp * gain + offset
    blur = blur + rng.normal(0.0, noise_sigma, blur.shape)
    sharp = sharp + rng.normal(0.0, noise_sigma, sharp.shape)
    to8 = lambda x: np.rint(np.clip(x, 0, 255)).astype(np.uint8)  # noqa: E731
    return SimulatedPair(
        blur=to8(blur), sharp=to8(sharp), warp=warp, gain=gain, offset=offset, moving=moving
    )
