"""Local blur: masks equal the union of covered pixels; outside them blur == sharp bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from lode_bench.capture.response import CameraResponse
from lode_bench.errors import ConfigError
from lode_bench.synth.builtin import (
    builtin_local_clip,
    builtin_objects,
    builtin_photo,
    fit_photo,
    resize_object,
)
from lode_bench.synth.local_objects import (
    ObjectMotion,
    render_object_frames,
    synthesize_object_blur,
    synthesize_shake_blur,
)
from lode_bench.synth.motion_mask import MotionMaskParams, blend_local_blur, feather, motion_mask

GAMMA = CameraResponse("gamma", 2.2)


def _solid(h: int, w: int, rgb: tuple[float, float, float]) -> np.ndarray:
    obj = np.ones((h, w, 4), np.float32)
    obj[..., :3] = rgb
    return obj


def test_mask_is_union_of_covered_rectangles_by_hand() -> None:
    """Opaque rectangles under integer translation: coverage is a union of shifted boxes."""
    bg = fit_photo(builtin_photo("rocket"), (80, 120))
    obj = _solid(10, 16, (0.9, 0.1, 0.2))
    # centre at pixel (40.5, 30.5) puts the 16x10 object exactly on columns 33..48, rows 26..35
    mot = ObjectMotion(cx=40.5, cy=30.5, vx=2.0, vy=-1.0)
    n = 7
    res = synthesize_object_blur(bg, [obj], [mot], n, GAMMA)
    expected = np.zeros((80, 120), bool)
    for t in range(-3, 4):
        x0, y0 = 33 + 2 * t, 26 - t
        expected[y0 : y0 + 10, x0 : x0 + 16] = True
    np.testing.assert_array_equal(res["mask"], expected)
    np.testing.assert_array_equal(res["blur"][~expected], res["sharp"][~expected])
    np.testing.assert_array_equal(res["sharp"][~expected], bg[~expected])
    assert res["mask_coverage"] == pytest.approx(expected.mean())


def test_middle_frame_is_target_and_static_objects_stay_sharp() -> None:
    bg = fit_photo(builtin_photo("coffee"), (96, 128))
    mover = _solid(12, 12, (0.1, 0.8, 0.1))
    still = _solid(20, 8, (0.8, 0.8, 0.2))
    frames, cover = render_object_frames(
        bg,
        [mover],
        [ObjectMotion(cx=30, cy=40, vx=1.0, vy=0.5)],
        9,
        GAMMA,
        static=[still],
        static_poses=[ObjectMotion(cx=100, cy=50)],
    )
    res = synthesize_object_blur(
        bg,
        [mover],
        [ObjectMotion(cx=30, cy=40, vx=1.0, vy=0.5)],
        9,
        GAMMA,
        static=[still],
        static_poses=[ObjectMotion(cx=100, cy=50)],
    )
    np.testing.assert_array_equal(res["sharp"], frames[4])
    np.testing.assert_array_equal(res["mask"], cover.any(axis=0))
    # the static object is pasted (its colour is there) and is outside the mask, so unblurred
    still_px = (slice(41, 59), slice(97, 103))
    assert not res["mask"][still_px].any()
    np.testing.assert_array_equal(res["blur"][still_px], res["sharp"][still_px])
    assert res["sharp"][50, 100].tolist() == [204, 204, 51]


def test_builtin_objects_with_rotation_scale_outside_mask_exact() -> None:
    lib = builtin_objects()
    bg = fit_photo(builtin_photo("motorcycle"), (120, 160))
    objs = [resize_object(lib[k][1], 50) for k in (0, 4, 5)]
    mots = [
        ObjectMotion(cx=40, cy=50, vx=0.9, vy=-0.7, scale_rate=0.01, rot_rate_deg=0.3),
        ObjectMotion(cx=110, cy=70, vx=-1.0, vy=0.2, scale_rate=-0.01, rot_rate_deg=-0.3),
        ObjectMotion(cx=80, cy=30, vx=0.3, vy=1.0),
    ]
    res = synthesize_object_blur(bg, objs, mots, 21, GAMMA)
    m = res["mask"]
    assert 0.05 < m.mean() < 0.6
    np.testing.assert_array_equal(res["blur"][~m], res["sharp"][~m])
    assert np.abs(res["blur"][m].astype(int) - res["sharp"][m]).mean() > 2  # blur happened inside


def test_even_frame_count_refused() -> None:
    with pytest.raises(ConfigError, match="odd"):
        render_object_frames(np.zeros((8, 8, 3), np.uint8), [], [], 4, GAMMA)


def test_shake_variant_mask_and_size_map() -> None:
    bg = fit_photo(builtin_photo("rocket"), (120, 160))
    lib = builtin_objects()
    objs = [resize_object(lib[1][1], 50), resize_object(lib[3][1], 40)]
    poses = [ObjectMotion(cx=50, cy=60), ObjectMotion(cx=115, cy=50)]
    res = synthesize_shake_blur(bg, objs, poses, np.random.default_rng(3), GAMMA, max_kernel=25)
    m = res["mask"]
    np.testing.assert_array_equal(res["blur"][~m], res["sharp"][~m])
    np.testing.assert_array_equal(res["sharp"][~m], bg[~m])
    sizes = res["blur_size"]
    assert sizes.dtype == np.float32 and np.all(sizes[~m] == 0)
    assert 5 <= sizes[m].min() and sizes.max() <= 25
    for k in res["kernels"]:
        assert k.sum() == pytest.approx(1.0) and k.shape[0] % 2 == 1


def test_real_footage_motion_mask_matches_truth() -> None:
    """A static-camera clip with known coverage: the detected mask finds the moving objects."""
    clip = builtin_local_clip(n_frames=11, size=(120, 160), seed=4, speed=3.0)
    truth = clip.coverage.any(axis=0)
    params = MotionMaskParams(
        method="diff", diff_threshold=12, open_px=1, close_px=3, dilate_px=2, feather_sigma=2.0
    )
    mask = motion_mask(clip.frames, params)
    # changed pixels are inside the truth up to the dilation; most true pixels are found
    recall = (mask & truth).sum() / truth.sum()
    assert recall > 0.8, recall
    dil = __import__("cv2").dilate(truth.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert (mask & ~dil).sum() == 0
    weight = feather(mask, params.feather_sigma)
    assert np.all(weight[mask] == 1.0) and weight.max() <= 1.0
    blur = blend_local_blur(clip.frames, weight, GAMMA)
    outside = weight == 0
    np.testing.assert_array_equal(blur[outside], clip.frames[5][outside])  # bit for bit
    assert np.abs(blur[mask].astype(int) - clip.frames[5][mask]).mean() > 2


def test_flow_mask_method_runs_and_is_in_region() -> None:
    clip = builtin_local_clip(n_frames=5, size=(96, 128), seed=1, speed=3.0)
    mask = motion_mask(
        clip.frames, MotionMaskParams(method="flow", flow_threshold=0.5, dilate_px=0)
    )
    truth = clip.coverage.any(axis=0)
    assert (mask & truth).sum() > 0.5 * truth.sum()


def test_bad_mask_params() -> None:
    with pytest.raises(ConfigError, match="method"):
        MotionMaskParams(method="magic")  # type: ignore[arg-type]
