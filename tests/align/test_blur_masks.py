"""Local-blur masks of large smooth moving objects (their interior barely changes), and of
moving objects over a star field (bright point sources that sub-pixel misalignment and
interpolation turn into large differences).

Pairs from :func:`lode_bench.align.simulate.simulate_pair` on real photographs with an
object covering 20–35 % of the frame whose texture is a smooth colour gradient, moving
16–32 px during the exposure. Its interior looks the same in both images, so a
difference rule finds only the swept border; when that border ring is open the hole
stays. Reference: the simulator's true moving region, IoU on the cropped frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from lode_bench.align.masks import MaskConfig, convex_hulls
from lode_bench.align.pipeline import AlignConfig, align_pair
from lode_bench.align.simulate import simulate_pair

SHAPE = (256, 384)


def _smooth_texture(rng: np.random.Generator) -> np.ndarray:
    ys, xs = np.mgrid[0:512, 0:512] / 512.0
    c, g = rng.uniform(60, 200, 3), rng.uniform(-60, 60, (2, 3))
    return np.clip(c + xs[..., None] * g[0] + ys[..., None] * g[1], 0, 255).astype(np.uint8)


def _mask_iou(p, cfg: AlignConfig) -> float:  # type: ignore[no-untyped-def]
    """IoU of the aligned pair's mask with the simulator's true moving region (cropped frame)."""
    res = align_pair(p.blur, p.sharp, cfg)
    assert res is not None and res.mask is not None, res and res.record
    y0, y1, x0, x1 = res.record.crop
    gt = p.moving[y0:y1, x0:x1]
    return float((gt & res.mask).sum() / (gt | res.mask).sum())


def _ious(scenes, cfg: AlignConfig) -> list[float]:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    out = []
    for i in range(6):
        p = simulate_pair(
            scenes[i],
            SHAPE,
            rng,
            object_fraction=float(rng.uniform(0.2, 0.35)),
            object_texture=_smooth_texture(rng),
            sharp_moment=-0.5,
            motion_length=float(rng.uniform(16, 32)),
        )
        out.append(_mask_iou(p, cfg))
    return out


def test_large_smooth_objects_are_masked_whole(scenes) -> None:  # type: ignore[no-untyped-def]
    ious = _ious(scenes, AlignConfig(local=True))
    assert min(ious) >= 0.8, ious
    without = _ious(scenes, AlignConfig(local=True, mask=MaskConfig(hull_flow_fill=False)))
    assert min(without) < 0.5, without  # the holes the convex-hull flow fill closes


def test_convex_hulls_by_hand() -> None:
    m = np.zeros((20, 30), bool)
    m[2:10, 2:4] = m[2:4, 2:10] = True  # an L: its hull is the triangle (2,2)-(9,2)-(2,9)
    m[15:18, 20:25] = True
    h = convex_hulls(m)
    assert h[5, 5] and not h[8, 8] and h[16, 22] and not h[12, 12]
    assert (h & m).sum() == m.sum()


def _star_field(shape: tuple[int, int], rng: np.random.Generator, n: int = 600) -> np.ndarray:
    """Dark sky with a faint smooth glow (something to register on) and ``n`` bright stars."""
    h, w = shape
    sky = np.full((h, w, 3), 12, np.float32) + rng.normal(0, 3, (h, w, 1)).astype(np.float32)
    glow = cv2.GaussianBlur(rng.uniform(0, 60, (h, w)).astype(np.float32), (0, 0), 12)
    sky += (glow * 3)[..., None] * np.array([0.6, 0.8, 1.0], np.float32)
    stars = np.zeros((h, w), np.float32)
    stars[rng.integers(0, h, n), rng.integers(0, w, n)] = rng.uniform(300, 4000, n)
    stars = cv2.GaussianBlur(stars, (0, 0), 0.7)
    return np.clip(sky + stars[..., None], 0, 255).astype(np.uint8)


def _star_ious(textures, cfg: AlignConfig) -> list[float]:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    out = []
    for i in range(8):
        p = simulate_pair(
            _star_field((300, 430), rng),
            SHAPE,
            rng,
            object_fraction=float(rng.uniform(0.05, 0.25)),
            object_texture=textures[i % len(textures)],
            sharp_moment=float(rng.uniform(-0.5, 0.5)),
            motion_length=float(rng.uniform(16, 40)),
        )
        out.append(_mask_iou(p, cfg))
    return out


def test_star_field_raises_no_false_detections(textures) -> None:  # type: ignore[no-untyped-def]
    """8 pairs, object 5–25 % of the frame over 600 stars: IoU ≥ 0.8 each (plain
    differences flag clusters of stars as moving: IoU down to 0.51)."""
    ious = _star_ious(textures, AlignConfig(local=True))
    assert min(ious) >= 0.8, ious
    plain = _star_ious(textures, AlignConfig(local=True, mask=MaskConfig(tolerance_px=0)))
    assert min(plain) < 0.6, plain  # the false detections the misalignment tolerance removes
