"""Centroid alignment: a known kernel offset is recovered and removed."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lode_bench.align.centroid import (
    centroid_align,
    estimate_kernel,
    kernel_centroid,
    shift_image,
)
from lode_bench.align.errors import AlignmentError
from lode_bench.errors import ConfigError


def _line_kernel(size: int, start: tuple[float, float], end: tuple[float, float]) -> np.ndarray:
    """A motion kernel drawn from ``start`` to ``end`` (offsets from the centre), bilinear splats."""
    k = np.zeros((size, size))
    r = size // 2
    for t in np.linspace(0, 1, 400):
        x = r + start[0] + t * (end[0] - start[0])
        y = r + start[1] + t * (end[1] - start[1])
        x0, y0 = int(np.floor(x)), int(np.floor(y))
        fx, fy = x - x0, y - y0
        k[y0, x0] += (1 - fx) * (1 - fy)
        k[y0, x0 + 1] += fx * (1 - fy)
        k[y0 + 1, x0] += (1 - fx) * fy
        k[y0 + 1, x0 + 1] += fx * fy
    return k / k.sum()


def _blur(img: np.ndarray, k: np.ndarray) -> np.ndarray:
    # B(x) = Σ_u K(u) S(x − u): filter2D correlates, so flip the kernel
    return cv2.filter2D(img, -1, np.ascontiguousarray(k[::-1, ::-1]), borderType=cv2.BORDER_REFLECT)


def test_kernel_centroid_hand_case() -> None:
    k = np.zeros((5, 5))
    k[2, 4] = 1.0  # two px right of the centre
    k[0, 2] = 1.0  # two px above
    assert kernel_centroid(k) == pytest.approx((1.0, -1.0))


def test_shift_image_integer_shift_equals_roll(photo: np.ndarray) -> None:
    img = photo.astype(np.float32)
    out = shift_image(img, 3.0, -2.0)
    ref = np.roll(np.roll(img, 3, axis=1), -2, axis=0)
    np.testing.assert_allclose(out[10:-10, 10:-10], ref[10:-10, 10:-10], atol=1e-3)


@pytest.mark.parametrize(
    ("start", "end"), [((0.0, 0.0), (10.0, 4.0)), ((-3.0, 2.0), (-15.0, -6.0))]
)
def test_recovers_known_kernel_offset(photo: np.ndarray, start, end) -> None:  # type: ignore[no-untyped-def]
    img = photo[:384, :448].astype(np.float64) / 255
    k = _line_kernel(41, start, end)
    true_c = kernel_centroid(k)
    rng = np.random.default_rng(0)
    blur = np.clip(_blur(img, k) + rng.normal(0, 1.0 / 255, img.shape), 0, 1)
    blur8 = np.rint(blur * 255).astype(np.uint8)
    sharp8 = np.rint(img * 255).astype(np.uint8)
    est = estimate_kernel(blur8, sharp8, size=65)
    assert est.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(kernel_centroid(est), true_c, atol=0.1)
    shifted, (dx, dy), _ = centroid_align(blur8, sharp8, size=65)
    np.testing.assert_allclose((dx, dy), true_c, atol=0.1)
    # after the shift the kernel relating the pair is centred
    np.testing.assert_allclose(
        kernel_centroid(estimate_kernel(blur8, shifted, size=65)), (0, 0), atol=0.1
    )


def test_kernel_estimation_refuses_bad_input(photo: np.ndarray) -> None:
    with pytest.raises(ConfigError, match="odd"):
        estimate_kernel(photo, photo, size=64)
    with pytest.raises(AlignmentError, match="too small"):
        estimate_kernel(photo[:50, :50], photo[:50, :50], size=65)
