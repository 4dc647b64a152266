"""Warp utilities against OpenCV and hand-derived cases."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lode_bench.align.transforms import (
    apply_warp,
    corner_errors,
    implausibility,
    largest_valid_rect,
    rescale_warp,
    translation_warp,
    valid_region,
    warp_to_template,
)


def test_rescale_warp_matches_pyrdown_coordinates() -> None:
    # pyrDown keeps fine pixel 2i as coarse pixel i: a translation of 6 px becomes 3 px
    w = translation_warp(6.0, -4.0)
    np.testing.assert_allclose(rescale_warp(w, 0.5), translation_warp(3.0, -2.0), atol=1e-12)
    h = np.array([[1.01, 0.02, 5.0], [-0.01, 0.99, 3.0], [1e-5, -2e-5, 1.0]])
    # mapping a coarse point through the coarse warp equals mapping 2p through h, halved
    p = np.array([[10.0, 20.0], [100.0, 7.0]])
    np.testing.assert_allclose(
        apply_warp(rescale_warp(h, 0.5), p), apply_warp(h, 2 * p) / 2, rtol=1e-12
    )
    np.testing.assert_allclose(rescale_warp(rescale_warp(h, 0.5), 2.0), h, atol=1e-12)


def test_warp_to_template_inverts_opencv_forward_warp(photo: np.ndarray) -> None:
    # forward-warp with H (dst(Hp) = src(p)); bringing it back with H as template→input
    h = np.array([[1.0, 0.01, 4.5], [0.005, 1.0, -3.25], [1e-5, 0.0, 1.0]])
    img = cv2.GaussianBlur(photo, (0, 0), 1.5).astype(np.float32)
    fwd = cv2.warpPerspective(img, h, (512, 512), flags=cv2.INTER_CUBIC)
    back = warp_to_template(fwd, h, img.shape)
    inner = (slice(40, -40), slice(40, -40))
    assert np.abs(back[inner] - img[inner]).mean() < 0.5  # grey levels, interpolation only


def test_corner_errors_hand_case() -> None:
    e = corner_errors(translation_warp(0.3, 0.4), np.eye(3), (100, 200))
    np.testing.assert_allclose(e, [0.5] * 4)


def test_valid_region_matches_warped_ones() -> None:
    w = np.array([[1.02, 0.01, 7.3], [-0.02, 0.98, -5.1], [0.0, 0.0, 1.0]])
    v = valid_region(w, (120, 160), (120, 160), margin=0)
    ones = cv2.warpAffine(
        np.ones((120, 160), np.float32),
        w[:2],
        (160, 120),
        flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    # agree except on the one-pixel boundary where rounding differs
    assert np.mean(v != ones.astype(bool)) < 0.01


def test_largest_valid_rect_is_all_valid_and_tight() -> None:
    v = np.zeros((50, 60), bool)
    v[5:40, 10:55] = True
    assert largest_valid_rect(v) == (5, 40, 10, 55)
    v[5, 10] = False  # a notch in a corner costs one line
    y0, y1, x0, x1 = largest_valid_rect(v)  # type: ignore[misc]
    assert v[y0:y1, x0:x1].all()
    assert (y1 - y0) * (x1 - x0) >= 34 * 45
    assert largest_valid_rect(np.zeros((4, 4), bool)) is None
    w = np.array([[1.0, 0.03, 6.0], [0.02, 1.0, -4.0], [0.0, 0.0, 1.0]])
    vr = valid_region(w, (200, 300), (200, 300))
    y0, y1, x0, x1 = largest_valid_rect(vr)  # type: ignore[misc]
    assert vr[y0:y1, x0:x1].all() and (y1 - y0) * (x1 - x0) > 0.8 * vr.sum()


@pytest.mark.parametrize(
    ("warp", "frac", "why"),
    [
        (translation_warp(1.0, 2.0), 0.25, None),
        (translation_warp(300.0, 0.0), 0.25, "corner moves"),
        (translation_warp(199.0, 0.0) @ np.diag([-1.0, 1.0, 1.0]), 10.0, "convex or is mirrored"),
        (np.diag([0.5, 0.5, 1.0]), 0.6, "area ratio"),
        (np.array([[np.nan, 0, 0], [0, 1, 0], [0, 0, 1]]), 0.25, "non-finite"),
    ],
)
def test_implausibility(warp: np.ndarray, frac: float, why: str | None) -> None:
    got = implausibility(warp, (100, 200), max_shift_frac=frac)
    if why is None:
        assert got is None
    else:
        assert got is not None and why in got
