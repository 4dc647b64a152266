"""Geometric registration on real photographs warped by known transforms.

Every pair is made by :func:`lode_bench.align.simulate.simulate_pair` from a real
photograph: a known random homography (corners moved by up to 8 px), per-channel
exposure change, Gaussian noise (σ = 2 grey levels) and, unless stated otherwise, an
object covering 5–30 % of the frame that moves during the exposure. The reference is
the known warp; errors are distances between the corners mapped by the estimated and
the true warp, in pixels.
"""

from __future__ import annotations

import numpy as np
import pytest

from lode_bench.align.errors import AlignmentError
from lode_bench.align.geometric import (
    GeometricConfig,
    align_masked,
    estimate_warp,
    feature_init,
    phase_correlation_init,
)
from lode_bench.align.simulate import simulate_pair
from lode_bench.align.transforms import corner_errors, translation_warp

SHAPE = (256, 384)


def _pairs(scenes, textures, n, seed, **kw):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        kw_i = dict(kw)
        kw_i.setdefault("object_fraction", float(rng.uniform(0.05, 0.30)))
        kw_i.setdefault("sharp_moment", float(rng.uniform(-0.5, 0.5)))
        kw_i.setdefault("motion_length", float(rng.uniform(16, 40)))
        out.append(
            simulate_pair(
                scenes[i % len(scenes)],
                SHAPE,
                rng,
                object_texture=textures[i % len(textures)],
                **kw_i,
            )
        )
    return out


def test_masked_alignment_corner_error_statistics(scenes, textures) -> None:  # type: ignore[no-untyped-def]
    """20 random homographies with local blur: median corner error < 0.1 px, p95 < 0.3 px."""
    errs = []
    for p in _pairs(scenes, textures, 20, seed=7):
        res = align_masked(p.blur, p.sharp)
        errs.append(corner_errors(res.warp, p.warp, SHAPE))
    e = np.concatenate(errs)  # 80 corners
    assert np.median(e) < 0.1, np.median(e)
    assert np.percentile(e, 95) < 0.3, np.percentile(e, 95)


def test_global_registration_without_objects(scenes, textures) -> None:  # type: ignore[no-untyped-def]
    errs = []
    for p in _pairs(scenes, textures, 8, seed=11, object_fraction=0.0):
        errs.append(corner_errors(estimate_warp(p.blur, p.sharp).warp, p.warp, SHAPE))
    e = np.concatenate(errs)
    assert np.median(e) < 0.1 and np.percentile(e, 95) < 0.3


def test_mask_weighting_beats_unmasked_ecc_under_local_blur(scenes, textures) -> None:  # type: ignore[no-untyped-def]
    """Object seen at exposure start in the sharp image (synchronised short exposure)."""
    masked, plain = [], []
    for p in _pairs(scenes, textures, 10, seed=3, sharp_moment=-0.5, motion_length=30.0):
        plain.append(corner_errors(estimate_warp(p.blur, p.sharp).warp, p.warp, SHAPE).mean())
        masked.append(corner_errors(align_masked(p.blur, p.sharp).warp, p.warp, SHAPE).mean())
    masked_a, plain_a = np.array(masked), np.array(plain)
    assert np.median(masked_a) < 0.5 * np.median(plain_a), (masked_a, plain_a)
    assert np.mean(masked_a < plain_a) >= 0.8


def test_large_offset_converges_coarse_to_fine(scenes) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(5)
    truth = translation_warp(37.0, -23.5) @ np.array(
        [[1.0, 0.004, 0], [-0.003, 1.0, 0], [2e-6, -1e-6, 1]]
    )
    p = simulate_pair(scenes[0], SHAPE, rng, warp=truth)
    w0, resp, note = phase_correlation_init(p.blur, p.sharp)
    assert note is None and resp > 0.1
    np.testing.assert_allclose(w0[:2, 2], [37.0, -23.5], atol=1.5)
    res = estimate_warp(p.blur, p.sharp)
    assert corner_errors(res.warp, truth, SHAPE).max() < 0.2


def test_feature_init_handles_rotation(scenes) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(6)
    a = np.deg2rad(6.0)
    c = np.array([SHAPE[1] / 2, SHAPE[0] / 2])
    rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1.0]])
    truth = translation_warp(*c) @ rot @ translation_warp(*(-c))
    p = simulate_pair(scenes[2], SHAPE, rng, warp=truth)
    init = feature_init(p.blur, p.sharp, "homography")
    assert corner_errors(init, truth, SHAPE).max() < 2.0
    res = estimate_warp(p.blur, p.sharp, GeometricConfig(init="features"))
    assert res.init == "features"
    assert corner_errors(res.warp, truth, SHAPE).max() < 0.2


@pytest.mark.parametrize("motion", ["translation", "euclidean", "affine"])
def test_lower_motion_models(scenes, motion: str) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(8)
    a = np.deg2rad(0.8) if motion != "translation" else 0.0
    truth = np.array([[np.cos(a), -np.sin(a), 3.3], [np.sin(a), np.cos(a), -2.1], [0, 0, 1.0]])
    if motion == "affine":
        truth = truth @ np.array([[1.01, 0.005, 0], [0.0, 0.99, 0], [0, 0, 1.0]])
    p = simulate_pair(scenes[1], SHAPE, rng, warp=truth)
    res = estimate_warp(p.blur, p.sharp, GeometricConfig(motion=motion))  # type: ignore[arg-type]
    assert res.motion == motion
    assert corner_errors(res.warp, truth, SHAPE).max() < 0.2
    np.testing.assert_allclose(res.warp[2], [0, 0, 1], atol=1e-12)
    if motion == "euclidean":
        r = res.warp[:2, :2]
        np.testing.assert_allclose(r @ r.T, np.eye(2), atol=1e-9)


def test_flat_image_makes_ecc_fail_with_reason(scenes) -> None:  # type: ignore[no-untyped-def]
    a = scenes[0][:256, :384]
    with pytest.raises(AlignmentError, match="ECC did not converge"):
        estimate_warp(a, np.full_like(a, 128))


def test_unrelated_images_give_low_correlation(scenes) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (256, 384, 3)).astype(np.uint8)
    try:
        res = estimate_warp(scenes[0][:256, :384], noise)
    except AlignmentError:
        return
    assert res.correlation < 0.3


def test_large_image_path_half_resolution_alternation(textures) -> None:  # type: ignore[no-untyped-def]
    """Images with a shorter side ≥ 480 px alternate at half resolution; accuracy holds."""
    from pathlib import Path

    from lode_bench.io import read_image

    scene = read_image(
        Path(__file__).resolve().parent.parent / "data" / "align" / "nafnet_demo_blurry.jpg"
    )
    rng = np.random.default_rng(12)
    p = simulate_pair(
        scene[:560, :760],
        (496, 704),
        rng,
        object_fraction=0.25,
        object_texture=textures[0],
        sharp_moment=-0.5,
        motion_length=40.0,
    )
    plain = corner_errors(estimate_warp(p.blur, p.sharp).warp, p.warp, (496, 704))
    masked = corner_errors(align_masked(p.blur, p.sharp).warp, p.warp, (496, 704))
    assert masked.max() < 0.3 and masked.mean() < plain.mean(), (masked, plain)
