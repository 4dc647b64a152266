"""Mask-weighted registration at capture sizes: accuracy, shared pyramids, capped refinement.

Pairs come from :func:`lode_bench.align.simulate.simulate_pair` on real photographs
resized to cover a 640×480 frame: a random homography (corners moved by up to 8 px),
exposure change, noise σ = 2 and an object covering 5–30 % of the frame that moves
30–60 px during the exposure (seen at exposure start in the sharp image). Corner
errors are measured against the known warp. Speed is measured in
``benchmarks/bench_align.py``, not here.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy import ndimage

import lode_bench.align.geometric as geometric
from lode_bench.align.geometric import GeometricConfig, align_masked, grey_pyramids
from lode_bench.align.masks import fill_mask_holes
from lode_bench.align.simulate import simulate_pair
from lode_bench.align.transforms import apply_warp, corner_errors, valid_region
from lode_bench.errors import ConfigError

H, W = 480, 640


@pytest.fixture(scope="module")
def vga_pairs(scenes, textures):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(2024)
    big = [cv2.resize(s, (W + 100, H + 80), interpolation=cv2.INTER_CUBIC) for s in scenes]
    return [
        simulate_pair(
            big[i % len(big)],
            (H, W),
            rng,
            object_fraction=float(rng.uniform(0.05, 0.30)),
            object_texture=textures[i % 3],
            sharp_moment=-0.5,
            motion_length=float(rng.uniform(30, 60)),
        )
        for i in range(10)
    ]


def test_vga_local_blur_corner_error_statistics(vga_pairs) -> None:  # type: ignore[no-untyped-def]
    """640×480 with moving objects: median corner error ≤ 0.06 px, p95 ≤ 0.25 px."""
    e = np.concatenate(
        [corner_errors(align_masked(p.blur, p.sharp).warp, p.warp, (H, W)) for p in vga_pairs]
    )  # 40 corners
    assert np.median(e) <= 0.06, np.median(e)
    assert np.percentile(e, 95) <= 0.25, np.percentile(e, 95)


def test_refinement_after_alternation_is_capped(vga_pairs, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Levels finer than the working one get ``refine_iterations``, the rest ``iterations``.

    Uncapped, the full-resolution pass of one 1280×720 pair ran 300 iterations (14 s)
    oscillating just above eps for no accuracy gain.
    """
    calls: list[tuple[tuple[int, int], int]] = []
    real = cv2.findTransformECCWithMask

    def spy(t, m, tm, mm, w, flag, crit, g):  # type: ignore[no-untyped-def]
        calls.append((t.shape, crit[1]))
        return real(t, m, tm, mm, w, flag, crit, g)

    monkeypatch.setattr(geometric.cv2, "findTransformECCWithMask", spy)
    cfg = GeometricConfig(refine_iterations=7)
    p = vga_pairs[0]
    res = align_masked(p.blur, p.sharp, cfg)
    assert calls[-1] == ((H, W), 7)  # the last pass is the full-resolution refinement
    assert all(n == cfg.iterations for shape, n in calls[:-1]) and calls[-2][0] == (H // 2, W // 2)
    assert res.static_mask is not None and res.static_mask.shape == (H, W)
    assert corner_errors(res.warp, p.warp, (H, W)).max() < 0.5


def test_working_level_follows_work_size(vga_pairs, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """work_size ≥ 481 keeps the whole alternation at full resolution (no refinement pass)."""
    shapes: list[tuple[int, int]] = []
    real = cv2.findTransformECCWithMask

    def spy(t, m, tm, mm, w, flag, crit, g):  # type: ignore[no-untyped-def]
        shapes.append(t.shape)
        return real(t, m, tm, mm, w, flag, crit, g)

    monkeypatch.setattr(geometric.cv2, "findTransformECCWithMask", spy)
    p = vga_pairs[1]
    res = align_masked(p.blur, p.sharp, GeometricConfig(work_size=481))
    assert shapes[-1] == (H, W) and shapes.count((H, W)) >= 2  # unmasked + masked rounds
    assert corner_errors(res.warp, p.warp, (H, W)).max() < 0.5


def test_grey_pyramids_are_pyrdown_levels(vga_pairs) -> None:  # type: ignore[no-untyped-def]
    p = vga_pairs[0]
    tp, mp = grey_pyramids(p.blur, p.sharp, GeometricConfig())
    assert [x.shape for x in tp] == [(480, 640), (240, 320), (120, 160)]
    assert all(x.dtype == np.float32 for x in tp + mp)
    np.testing.assert_array_equal(tp[1], cv2.pyrDown(tp[0]))


def test_config_rejects_zero_iterations() -> None:
    with pytest.raises(ConfigError, match="refine_iterations"):
        GeometricConfig(refine_iterations=0)


def test_fill_mask_holes_equals_scipy() -> None:
    rng = np.random.default_rng(0)
    for _ in range(30):
        m = rng.random((40, 56)) < rng.uniform(0.3, 0.7)
        np.testing.assert_array_equal(fill_mask_holes(m), ndimage.binary_fill_holes(m))


def test_valid_region_matches_pointwise_mapping() -> None:
    rng = np.random.default_rng(1)
    for _ in range(5):
        w = np.eye(3) + rng.normal(0, [[0.02, 0.02, 5], [0.02, 0.02, 5], [2e-5, 2e-5, 0]])
        v = valid_region(w, (90, 130), (100, 120), margin=2)
        ys, xs = np.mgrid[0:100, 0:120]
        q = apply_warp(w, np.stack([xs.ravel(), ys.ravel()], 1)).reshape(100, 120, 2)
        ref = (q[..., 0] >= 2) & (q[..., 0] <= 127) & (q[..., 1] >= 2) & (q[..., 1] <= 87)
        assert np.count_nonzero(v != ref) <= 2  # rounding of points exactly on the border
