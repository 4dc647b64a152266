"""Real-footage local blur with LODE's flow rule: slow, low-contrast motion, flow maps, DeepFlow.

The clip is made here: a smooth static background and a disc of low-contrast texture
(8 levels above the background, texture ±5) that drifts 0.4 px per frame, so no frame
differs from the middle one by much more than the ``diff`` threshold while the window
average moves away from the middle frame. The reference is the true temporal average
(of all frames, in the recipe's linear space, quantized like the output).
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lode_bench.align.flow import (
    LODE_FLOW_THRESHOLD,
    FlowUnavailableError,
    deepflow_available,
    flow_magnitude,
    optical_flow,
)
from lode_bench.errors import ConfigError
from lode_bench.synth.averaging import FrameAccumulator, quantize
from lode_bench.synth.motion_mask import MotionMaskParams, mask_rule
from lode_bench.synth.recipes import load_recipe, validate_recipe
from lode_bench.synth.samples import local_real_sample

H, W, N = 112, 144, 13


def _slow_low_contrast_clip(speed: float = 0.4) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float64)
    bg = 96 + 20 * np.sin(xs / 23.0) * np.cos(ys / 31.0)
    bg = np.stack([bg, bg + 3, bg - 3], axis=-1)
    tex = cv2.GaussianBlur(rng.normal(0, 1, (H, W)), (0, 0), 1.5)
    tex = 5 * tex / np.abs(tex).max()
    frames = []
    for t in np.arange(N) - N // 2:
        dx, dy = speed * t, 0.3 * speed * t
        moved = cv2.warpAffine(
            tex,
            np.float64([[1, 0, dx], [0, 1, dy]]),
            (W, H),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT,
        )
        alpha = np.clip(26.5 - np.hypot(xs - 70 - dx, ys - 56 - dy), 0, 1)[..., None]
        obj = bg[H // 2 : H // 2 + 1, W // 2 : W // 2 + 1] + 8 + moved[..., None]
        frames.append(np.rint(np.clip(alpha * obj + (1 - alpha) * bg, 0, 255)).astype(np.uint8))
    return frames


def _true_average(frames: list[np.ndarray], recipe) -> np.ndarray:  # type: ignore[no-untyped-def]
    acc = FrameAccumulator(recipe.response())
    for f in frames:
        acc.add(f)
    return quantize(recipe.response().from_linear(acc.mean_linear())).astype(int)


def test_shipped_real_recipe_blurs_slow_low_contrast_motion() -> None:
    """Default rule (flow > 0.25 px or diff > 12): every pixel within 2 levels of the average."""
    frames = _slow_low_contrast_clip()
    assert max(np.abs(f.astype(int) - frames[N // 2]).max() for f in frames) < 24
    recipe = load_recipe("lode-real-local")
    assert recipe.mask.method == "both" and recipe.mask.flow_threshold == LODE_FLOW_THRESHOLD
    res = local_real_sample(frames, recipe, np.random.default_rng(0))
    err = np.abs(res.images["blur"].astype(int) - _true_average(frames, recipe))
    assert err.max() <= 2, (err.max(), (err > 2).mean())
    fm = res.arrays["flow_magnitude"]
    assert fm.shape == (H, W) and fm.dtype == np.float32
    assert res.extra["mask_rule"].startswith("flow magnitude > 0.25 px (dis)")


def test_difference_rule_alone_misses_slow_motion() -> None:
    """What the old default (diff, threshold 12) left: parts of the object sharp."""
    frames = _slow_low_contrast_clip()
    diff_only = validate_recipe(
        {"kind": "local-real", "frames": {"n": [N]}, "mask": {"method": "diff"}}, name="diff-only"
    )
    res = local_real_sample(frames, diff_only, np.random.default_rng(0))
    err = np.abs(res.images["blur"].astype(int) - _true_average(frames, diff_only))
    assert err.max() > 2


def test_mask_rule_words() -> None:
    assert (
        mask_rule(MotionMaskParams(method="flow"))
        == "flow magnitude > 0.25 px (dis), middle → first/last frame"
    )
    assert "max |frame − middle| > 12" in mask_rule(MotionMaskParams(method="diff"))


def test_flow_magnitude_of_a_known_shift() -> None:
    """moved(x) = img(x + (1.5, −0.5)), so img(x) = moved(x + F) with F = (−1.5, 0.5)."""
    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.uniform(0, 255, (96, 128)), (0, 0), 2.0)
    moved = cv2.warpAffine(
        img,
        np.float64([[1, 0, -1.5], [0, 1, 0.5]]),
        (128, 96),
        flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REFLECT,
    )
    to8 = lambda x: np.rint(np.clip(x, 0, 255)).astype(np.uint8)  # noqa: E731
    f = optical_flow(to8(img), to8(moved))
    inner = (slice(16, -16), slice(16, -16))
    np.testing.assert_allclose(np.median(f[inner].reshape(-1, 2), axis=0), [-1.5, 0.5], atol=0.1)
    assert abs(np.median(flow_magnitude(to8(img), to8(moved))[inner]) - np.hypot(1.5, 0.5)) < 0.1


def test_deepflow_missing_or_working() -> None:
    if deepflow_available():
        frames = _slow_low_contrast_clip(speed=1.0)
        fm = flow_magnitude(frames[N // 2], frames[-1], "deepflow")
        assert fm.shape == (H, W) and np.median(fm[40:72, 50:90]) > 2.0
        MotionMaskParams(method="flow", flow_method="deepflow")
    else:
        with pytest.raises(FlowUnavailableError, match="opencv-contrib-python-headless"):
            MotionMaskParams(method="flow", flow_method="deepflow")
        with pytest.raises(FlowUnavailableError, match="opencv-contrib-python-headless"):
            optical_flow(np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8), "deepflow")
    with pytest.raises(ConfigError, match="flow method"):
        optical_flow(np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8), "farneback")  # type: ignore[arg-type]


def test_motion_mask_cleanup_is_align_clean_mask_without_border_padding() -> None:
    """The window mask goes through align's clean-up; closing keeps OpenCV's border rule."""
    from lode_bench.align.masks import clean_mask

    rng = np.random.default_rng(11)
    raw = rng.random((40, 50)) > 0.8
    raw[:, :3] = True  # regions touching the border
    disk = lambda r: cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))  # noqa: E731
    ref = cv2.morphologyEx(raw.astype(np.uint8), cv2.MORPH_OPEN, disk(1))
    ref = cv2.morphologyEx(ref, cv2.MORPH_CLOSE, disk(4))
    ref = cv2.dilate(ref, disk(2)).astype(bool)
    out = clean_mask(
        raw,
        open_radius=1,
        close_radius=4,
        fill_holes=False,
        min_area=0,
        dilate_px=2,
        pad_close=False,
    )
    np.testing.assert_array_equal(out, ref)
    frames = [np.zeros((40, 50, 3), np.uint8) for _ in range(5)]
    frames[0][10:20, 10:20] = 200
    params = MotionMaskParams(method="diff", open_px=1, close_px=4, dilate_px=2)
    from lode_bench.synth.motion_mask import motion_mask

    got = motion_mask(frames, params)
    assert got[15, 15] and not got[35, 45]
