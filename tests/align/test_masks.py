"""Local-blur masks against the known moving region, and mask cleaning by hand cases."""

from __future__ import annotations

import numpy as np
import pytest

from lode_bench.align.masks import (
    MaskConfig,
    blur_mask,
    clean_mask,
    hysteresis_threshold,
    remove_small,
    robust_threshold,
)
from lode_bench.align.pipeline import AlignConfig, align_pair
from lode_bench.align.simulate import simulate_pair
from lode_bench.errors import ConfigError


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_mask_iou_against_known_moving_region(scenes, textures) -> None:  # type: ignore[no-untyped-def]
    """10 pairs (object 5–30 % of the frame, misaligned, re-exposed, noisy): IoU ≥ 0.8 each."""
    rng = np.random.default_rng(21)
    ious = []
    for i in range(10):
        p = simulate_pair(
            scenes[i % len(scenes)],
            (256, 384),
            rng,
            object_fraction=float(rng.uniform(0.05, 0.30)),
            object_texture=textures[i % len(textures)],
            sharp_moment=float(rng.uniform(-0.5, 0.5)),
            motion_length=float(rng.uniform(16, 40)),
        )
        out = align_pair(p.blur, p.sharp, AlignConfig(local=True))
        assert out is not None and out.mask is not None
        y0, y1, x0, x1 = out.record.crop
        truth = p.moving[y0:y1, x0:x1]
        ious.append(_iou(out.mask, truth))
        assert out.record.mask_coverage == pytest.approx(out.mask.mean())
    assert min(ious) >= 0.8, ious
    assert np.median(ious) >= 0.9, ious


@pytest.mark.parametrize("method", ["flow", "union", "intersection"])
def test_other_mask_methods_find_the_object(scenes, textures, method: str) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(4)
    p = simulate_pair(
        scenes[0],
        (256, 384),
        rng,
        object_fraction=0.2,
        object_texture=textures[0],
        motion_length=30.0,
    )
    out = align_pair(p.blur, p.sharp, AlignConfig(local=True, mask=MaskConfig(method=method)))  # type: ignore[arg-type]
    assert out is not None and out.mask is not None
    y0, y1, x0, x1 = out.record.crop
    assert _iou(out.mask, p.moving[y0:y1, x0:x1]) >= 0.6


def test_static_pair_gives_empty_mask(scenes) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(9)
    img = scenes[1][:256, :384]
    noisy = np.clip(img + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8)
    assert blur_mask(img, noisy).sum() == 0


def test_robust_threshold_hand_case() -> None:
    v = np.array([1.0, 2.0, 3.0, 4.0, 100.0])  # median 3, MAD 1
    assert robust_threshold(v, k=2, floor=0) == pytest.approx(3 + 2 * 1.4826)
    assert robust_threshold(v, k=2, floor=10) == 10


def test_hysteresis_keeps_only_weak_regions_touching_strong_ones() -> None:
    v = np.zeros((10, 20))
    v[2:5, 2:6] = 0.5
    v[3, 3] = 1.0  # strong seed inside the first weak blob
    v[6:9, 12:18] = 0.5  # weak blob without a seed
    out = hysteresis_threshold(v, 0.4, 0.9)
    assert out[2:5, 2:6].all() and not out[6:9, 12:18].any() and out.sum() == 12


def test_remove_small_and_clean_mask() -> None:
    m = np.zeros((60, 60), bool)
    m[5:7, 5:7] = True  # 4 px speck
    m[20:50, 20:50] = True
    m[30:35, 30:35] = False  # a hole
    assert remove_small(m, 10)[5:7, 5:7].sum() == 0
    out = clean_mask(m, open_radius=1, close_radius=0, fill_holes=True, min_area=50)
    assert out[30:35, 30:35].all()  # hole filled
    assert not out[5:7, 5:7].any()  # speck removed
    assert out.sum() == 900 - 4  # opening with the 3×3 cross element rounds the 4 corners


def test_mask_config_validation() -> None:
    with pytest.raises(ConfigError, match="mask method"):
        MaskConfig(method="magic")  # type: ignore[arg-type]
