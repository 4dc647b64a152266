"""Local blur by moving cut-out objects over a static background (BladeNet / LODE, PROTOCOLS §3.4).

Objects are RGBA cut-outs (float [0, 1], straight alpha). Each moving object gets one
velocity (per-frame translation up to ``max_shift`` px in x and y), one scale action
(up to ±``max_scale`` per frame) and one rotation action (up to ±``max_rotation_deg``
per frame), with time measured from the middle frame, so the middle frame shows every
object at its pasted pose and is the sharp target. Every frame is composited in the
response's linear space, quantised to 8 bits like a captured frame, and the frames are
averaged (:mod:`lode_bench.synth.averaging`). The mask is the union over frames of the
pixels any moving object covers (alpha > 0). Static distractor objects are pasted into
the background and stay sharp.

The camera-shake variant instead convolves each moving object (colour premultiplied by
alpha, and alpha) with its own random shake kernel and composites with the blurred
alpha; its mask is a blur-size map (kernel extent in px where the blurred alpha is > 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lode_bench.capture.response import CameraResponse
from lode_bench.errors import ConfigError
from lode_bench.synth.averaging import FrameAccumulator, quantize
from lode_bench.synth.kernels import (
    convolve,
    kernel_extent,
    random_shake_trajectory,
    trajectory_psf,
)

ALPHA_EPS = 1e-6  # alpha below this (filtering round-off) counts as empty


@dataclass(frozen=True)
class ObjectMotion:
    """Pose of one object: centre (x, y) in the canvas and per-frame motion."""

    cx: float
    cy: float
    vx: float = 0.0
    vy: float = 0.0
    scale_rate: float = 0.0
    rot_rate_deg: float = 0.0
    base_scale: float = 1.0

    def affine(self, t: float, obj_shape: tuple[int, int]) -> np.ndarray:
        """2×3 matrix mapping object pixel coordinates to canvas coordinates at time ``t``."""
        h, w = obj_shape
        s = self.base_scale * (1.0 + self.scale_rate * t)
        # cv2.getRotationMatrix2D's convention (positive angle = anticlockwise on screen),
        # computed with math's sin/cos so the bits do not depend on the OpenCV build
        ang = math.radians(self.rot_rate_deg * t)
        ca, sa = s * math.cos(ang), s * math.sin(ang)
        px, py = (w - 1) / 2.0, (h - 1) / 2.0
        return np.array(
            [
                [ca, sa, (1 - ca) * px - sa * py + self.cx + self.vx * t - px],
                [-sa, ca, sa * px + (1 - ca) * py + self.cy + self.vy * t - py],
            ],
            dtype=np.float64,
        )


def _check_rgba(obj: np.ndarray, i: int) -> None:
    if obj.ndim != 3 or obj.shape[2] != 4 or obj.dtype not in (np.float32, np.float64):
        raise ConfigError(
            f"object {i}: must be H×W×4 float RGBA in [0, 1], got {obj.dtype} {obj.shape}"
        )


def _warp_rgba(obj_lin_premult: np.ndarray, m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Place an RGBA layer on an H×W canvas: ``out(p) = obj(m⁻¹ p)``, bilinear, zero outside.

    Exact float64 bilinear sampling in numpy (element-wise products and sums only, so
    the result has the same bits on every numpy/OpenCV version and CPU, unlike
    ``cv2.warpAffine``, whose 1/32-pixel weight tables and SIMD paths differ between
    releases). Only the bounding box of the placed object is computed.

    Args:
        obj_lin_premult: h×w×4 float32 premultiplied linear RGBA.
        m: 2×3 affine matrix, object pixel coordinates → canvas coordinates.
        size: canvas (H, W).

    Returns:
        H×W×4 float32; alpha ≤ :data:`ALPHA_EPS` is zeroed.
    """
    h, w = size
    oh, ow = obj_lin_premult.shape[:2]
    out = np.zeros((h, w, 4), dtype=np.float32)
    a = np.asarray(m, dtype=np.float64)
    corners = a[:, :2] @ np.array([[-1, ow, -1, ow], [-1, -1, oh, oh]], dtype=np.float64)
    corners += a[:, 2:3]
    x0 = max(0, int(np.floor(corners[0].min())) - 1)
    x1 = min(w, int(np.ceil(corners[0].max())) + 2)
    y0 = max(0, int(np.floor(corners[1].min())) - 1)
    y1 = min(h, int(np.ceil(corners[1].max())) + 2)
    if x0 >= x1 or y0 >= y1:
        return out
    (p, q, r), (u, v, z) = (float(e) for e in a[0]), (float(e) for e in a[1])
    det = p * v - q * u
    inv = ((v / det, -q / det, (q * z - v * r) / det), (-u / det, p / det, (u * r - p * z) / det))
    xs = np.arange(x0, x1, dtype=np.float64)[None, :]
    ys = np.arange(y0, y1, dtype=np.float64)[:, None]
    sx = inv[0][0] * xs + inv[0][1] * ys + inv[0][2]
    sy = inv[1][0] * xs + inv[1][1] * ys + inv[1][2]
    fx, fy = np.floor(sx), np.floor(sy)
    ax, ay = (sx - fx)[..., None], (sy - fy)[..., None]
    ix, iy = fx.astype(np.int64), fy.astype(np.int64)
    src = np.zeros((oh + 2, ow + 2, 4), dtype=np.float64)  # one zero pixel all round
    src[1:-1, 1:-1] = obj_lin_premult
    cx = np.clip(ix + 1, 0, ow + 1), np.clip(ix + 2, 0, ow + 1)
    cy = np.clip(iy + 1, 0, oh + 1), np.clip(iy + 2, 0, oh + 1)
    res = (1 - ay) * ((1 - ax) * src[cy[0], cx[0]] + ax * src[cy[0], cx[1]]) + ay * (
        (1 - ax) * src[cy[1], cx[0]] + ax * src[cy[1], cx[1]]
    )
    out[y0:y1, x0:x1] = res
    out[out[..., 3] <= ALPHA_EPS] = 0.0
    return out


def _premultiplied_linear(obj: np.ndarray, response: CameraResponse) -> np.ndarray:
    rgb = response.to_linear(np.clip(obj[..., :3], 0.0, 1.0))
    a = np.clip(obj[..., 3:4].astype(np.float64), 0.0, 1.0)
    return np.concatenate([rgb * a, a], axis=2).astype(np.float32)


def _over(dst_lin: np.ndarray, layer: np.ndarray) -> np.ndarray:
    a = layer[..., 3:4].astype(np.float64)
    return layer[..., :3].astype(np.float64) + (1.0 - a) * dst_lin


def sample_motion(
    rng: np.random.Generator,
    canvas: tuple[int, int],
    *,
    max_shift: float,
    max_scale: float,
    max_rotation_deg: float,
    base_scale: float = 1.0,
    margin: float = 0.15,
) -> ObjectMotion:
    """A random pose inside the canvas and random per-frame motion within the given limits."""
    h, w = canvas
    return ObjectMotion(
        cx=float(rng.uniform(margin * w, (1 - margin) * w)),
        cy=float(rng.uniform(margin * h, (1 - margin) * h)),
        vx=float(rng.uniform(-max_shift, max_shift)),
        vy=float(rng.uniform(-max_shift, max_shift)),
        scale_rate=float(rng.uniform(-max_scale, max_scale)),
        rot_rate_deg=float(rng.uniform(-max_rotation_deg, max_rotation_deg)),
        base_scale=base_scale,
    )


def composite_static(
    background: np.ndarray,
    objects: Sequence[np.ndarray],
    poses: Sequence[ObjectMotion],
    response: CameraResponse,
) -> np.ndarray:
    """Paste objects at fixed poses onto a uint8 background; returns linear float64."""
    bg = response.to_linear(background)
    for i, (obj, pose) in enumerate(zip(objects, poses, strict=True)):
        _check_rgba(obj, i)
        layer = _warp_rgba(
            _premultiplied_linear(obj, response), pose.affine(0.0, obj.shape[:2]), bg.shape[:2]
        )
        bg = _over(bg, layer)
    return bg


class ObjectSceneRenderer:
    """Renders one frame at a time of objects moving over a static background.

    Args:
        background: H×W×3 uint8 RGB.
        moving: RGBA float objects that move.
        motions: one :class:`ObjectMotion` per moving object.
        response: linear space used for compositing.
        static, static_poses: distractor objects that stay put (pasted under the movers).
    """

    def __init__(
        self,
        background: np.ndarray,
        moving: Sequence[np.ndarray],
        motions: Sequence[ObjectMotion],
        response: CameraResponse,
        *,
        static: Sequence[np.ndarray] = (),
        static_poses: Sequence[ObjectMotion] = (),
    ) -> None:
        if len(moving) != len(motions):
            raise ConfigError(f"{len(moving)} moving objects but {len(motions)} motions")
        self.base = composite_static(background, static, static_poses, response)
        self.layers = []
        for i, obj in enumerate(moving):
            _check_rgba(obj, i)
            self.layers.append(_premultiplied_linear(obj, response))
        self.shapes = [obj.shape[:2] for obj in moving]
        self.motions, self.response = list(motions), response
        self.size = background.shape[:2]

    def frame(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """(H×W×3 uint8 frame, H×W bool coverage by moving objects) at time ``t`` (frames
        from the pasted pose)."""
        lin = self.base
        cover = np.zeros(self.size, dtype=bool)
        for src, shape, mot in zip(self.layers, self.shapes, self.motions, strict=True):
            layer = _warp_rgba(src, mot.affine(t, shape), self.size)
            cover |= layer[..., 3] > 0
            lin = _over(lin, layer)
        return quantize(self.response.from_linear(lin)), cover


def render_object_frames(
    background: np.ndarray,
    moving: Sequence[np.ndarray],
    motions: Sequence[ObjectMotion],
    n_frames: int,
    response: CameraResponse,
    *,
    static: Sequence[np.ndarray] = (),
    static_poses: Sequence[ObjectMotion] = (),
) -> tuple[list[np.ndarray], np.ndarray]:
    """Render the ``n_frames`` frames of a local-motion clip (time 0 at the middle frame).

    Args:
        background: H×W×3 uint8 RGB.
        moving: RGBA float objects that move.
        motions: one :class:`ObjectMotion` per moving object.
        n_frames: odd number of frames.
        response: linear space used for compositing.
        static, static_poses: distractor objects that stay put.

    Returns:
        (frames: list of H×W×3 uint8, per-frame coverage: n×H×W bool of pixels that a
        moving object covers).
    """
    if n_frames < 1 or n_frames % 2 == 0:
        raise ConfigError(f"n_frames must be odd and >= 1, got {n_frames}")
    r = ObjectSceneRenderer(
        background, moving, motions, response, static=static, static_poses=static_poses
    )
    mid = n_frames // 2
    frames: list[np.ndarray] = []
    cover = np.zeros((n_frames, *r.size), dtype=bool)
    for f in range(n_frames):
        frame, cover[f] = r.frame(float(f - mid))
        frames.append(frame)
    return frames, cover


def synthesize_object_blur(
    background: np.ndarray,
    moving: Sequence[np.ndarray],
    motions: Sequence[ObjectMotion],
    n_frames: int,
    response: CameraResponse,
    *,
    static: Sequence[np.ndarray] = (),
    static_poses: Sequence[ObjectMotion] = (),
) -> dict[str, Any]:
    """BladeNet-style local blur: returns ``blur``, ``sharp`` (uint8), ``mask`` (bool), coverage."""
    frames, cover = render_object_frames(
        background, moving, motions, n_frames, response, static=static, static_poses=static_poses
    )
    acc = FrameAccumulator(response)
    for fr in frames:
        acc.add(fr)
    mask = cover.any(axis=0)
    return {
        "blur": acc.mean_encoded_uint8(),
        "sharp": frames[n_frames // 2],
        "mask": mask,
        "mask_coverage": float(mask.mean()),
    }


def synthesize_shake_blur(
    background: np.ndarray,
    moving: Sequence[np.ndarray],
    poses: Sequence[ObjectMotion],
    rng: np.random.Generator,
    response: CameraResponse,
    *,
    max_kernel: int = 40,
    min_kernel: int = 5,
    static: Sequence[np.ndarray] = (),
    static_poses: Sequence[ObjectMotion] = (),
) -> dict[str, Any]:
    """Camera-shake variant: each object blurred by its own random trajectory kernel.

    Returns:
        ``blur``, ``sharp`` (uint8 H×W×3), ``mask`` (bool, blurred-alpha support),
        ``blur_size`` (H×W float32, kernel extent in px inside the mask, 0 elsewhere),
        ``kernels`` (list of the kernels), ``mask_coverage``.
    """
    base = composite_static(background, static, static_poses, response)
    h, w = background.shape[:2]
    sharp_lin, blur_lin = base.copy(), base.copy()
    size_map = np.zeros((h, w), dtype=np.float32)
    kernels = []
    for i, (obj, pose) in enumerate(zip(moving, poses, strict=True)):
        _check_rgba(obj, i)
        layer = _warp_rgba(
            _premultiplied_linear(obj, response), pose.affine(0.0, obj.shape[:2]), (h, w)
        )
        sharp_lin = _over(sharp_lin, layer)
        extent = float(rng.uniform(min_kernel, max_kernel))
        k = trajectory_psf(random_shake_trajectory(rng, max_extent=extent - 1))
        kernels.append(k)
        blurred = convolve(layer, k).astype(np.float32)
        empty = blurred[..., 3] <= ALPHA_EPS
        blurred[empty] = 0.0
        blur_lin = _over(blur_lin, np.clip(blurred, 0.0, 1.0))
        covered = ~empty | (layer[..., 3] > 0)  # blurred support or the sharp object itself
        size_map[covered] = np.maximum(size_map[covered], kernel_extent(k))
    mask = size_map > 0
    return {
        "blur": quantize(response.from_linear(blur_lin)),
        "sharp": quantize(response.from_linear(sharp_lin)),
        "mask": mask,
        "blur_size": size_map,
        "kernels": kernels,
        "mask_coverage": float(mask.mean()),
    }
