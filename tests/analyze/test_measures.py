"""Flow-based blurred area, saturation, noise level and the blind extent, on inputs whose
answers are known by construction."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from lode_bench.analyze.kernel import kernel_features
from lode_bench.analyze.measures import (
    FLOW_THRESHOLDS,
    blind_extent,
    blurred_area_curve,
    flow_magnitude,
    noise_sigma,
    saturated_fraction,
)
from lode_bench.synth.builtin import builtin_photo, fit_photo
from lode_bench.synth.kernels import convolve


def test_thresholds_and_curve_by_hand() -> None:
    assert FLOW_THRESHOLDS == (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0)
    mag = np.array([0.0, 0.2, 0.7, 1.0, 3.0, 6.0])
    # > 0: five of six; > 0.5: 0.7, 1.0, 3.0, 6.0; > 1: 3.0, 6.0; > 5: 6.0
    curve = blurred_area_curve(mag, (0.0, 0.5, 1.0, 5.0))
    assert curve == pytest.approx([5 / 6, 4 / 6, 2 / 6, 1 / 6])


def test_flow_of_a_known_translation() -> None:
    img = fit_photo(builtin_photo("astronaut"), (256, 320))
    shifted = np.roll(img, 3, axis=1)  # content moves 3 px to the right
    mag = flow_magnitude(img, shifted)[16:-16, 16:-16]
    assert np.median(mag) == pytest.approx(3.0, abs=0.25)
    curve = dict(zip(FLOW_THRESHOLDS, blurred_area_curve(mag), strict=True))
    assert curve[2.5] > 0.85 and curve[3.5] < 0.15
    assert np.median(flow_magnitude(img, img)) < 0.05


def test_saturated_fraction_by_hand() -> None:
    img = np.zeros((10, 10, 3), np.uint8)
    img[0, :5, 0] = 255  # 5 pixels with a clipped red channel
    img[1, :2] = 250  # 2 grey pixels exactly at the level
    img[2, :3] = 249  # below the level
    assert saturated_fraction(img) == pytest.approx(7 / 100)


@pytest.mark.parametrize("sigma", [2.0, 5.0, 10.0])
def test_noise_level_recovers_added_gaussian_noise(sigma: float) -> None:
    # a smooth (blurred) photograph plus i.i.d. Gaussian noise of known σ per channel;
    # the clean image alone reads 0.3 levels, so tolerance 0.1σ + 0.4 levels
    rng = np.random.default_rng(1)
    clean = cv2.GaussianBlur(fit_photo(builtin_photo("coffee"), (240, 320)), (0, 0), 2.0)
    noisy = np.clip(np.round(clean + rng.normal(0, sigma, clean.shape)), 0, 255).astype(np.uint8)
    assert noise_sigma(noisy) == pytest.approx(sigma, abs=0.1 * sigma + 0.4)
    assert noise_sigma(clean) < 0.5


def _box_blur(img: np.ndarray, length: int, angle_deg: float) -> tuple[np.ndarray, np.ndarray]:
    k = np.zeros((length + 2, length + 2))
    c = (length + 1) / 2
    for t in np.linspace(-(length - 1) / 2, (length - 1) / 2, 4 * length):
        x = c + t * math.cos(math.radians(angle_deg))
        y = c - t * math.sin(math.radians(angle_deg))
        k[int(round(y)), int(round(x))] += 1
    k = np.pad(k, 1) if k.shape[0] % 2 == 0 else k
    k /= k.sum()
    lin = convolve((img / 255.0) ** 2.2, k)
    return np.round(np.clip(lin, 0, 1) ** (1 / 2.2) * 255).astype(np.uint8), k


@pytest.mark.parametrize(
    ("photo", "length", "angle"),
    [("astronaut", 9, 0.0), ("coffee", 15, 90.0), ("chelsea", 21, 30.0)],
)
def test_blind_extent_of_straight_motion(photo: str, length: int, angle: float) -> None:
    # estimated, blind: tolerance 3 px (measured errors 2.1, 0.6 and 1.7 px on these three)
    img = fit_photo(builtin_photo(photo), (300, 400))
    blur, k = _box_blur(img, length, angle)
    ext, dip = blind_extent(blur)
    true = kernel_features(k).extent_px
    assert ext == pytest.approx(true, abs=3.0), (ext, true, dip)
    assert dip <= -0.1


def test_blind_extent_refuses_tiny_images() -> None:
    ext, dip = blind_extent(np.zeros((8, 8, 3), np.uint8))
    assert math.isnan(ext) and math.isnan(dip)


def test_flow_magnitude_is_aligns_flow_on_opencv_grey() -> None:
    """One flow implementation: analyze's is align's DIS flow on OpenCV's 8-bit grey."""
    import cv2

    rng = np.random.default_rng(1)
    a = cv2.GaussianBlur(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8), (0, 0), 2)
    b = np.roll(a, 2, axis=1)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    f = dis.calc(cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.cvtColor(b, cv2.COLOR_RGB2GRAY), None)
    np.testing.assert_array_equal(flow_magnitude(a, b), np.hypot(f[..., 0], f[..., 1]))
