"""Colour conversions and PSNR against independent references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio

from lode_bench.errors import LodeBenchError, ShapeMismatchError
from lode_bench.metrics.colour import (
    MATLAB_GREY_WEIGHTS,
    rgb_to_grey_matlab,
    rgb_to_y_bt601,
)
from lode_bench.metrics.psnr import psnr
from tests.metrics.metrics_data import METHODS, real_pair, tid_pair


def test_matlab_grey_weights_are_first_row_of_inverse_ntsc_matrix() -> None:
    # MATLAB rgb2gray: coef = T(1,:) with T = inv([1 .956 .621; 1 -.272 -.647; 1 -1.106 1.703])
    t = np.linalg.inv(np.array([[1.0, 0.956, 0.621], [1.0, -0.272, -0.647], [1.0, -1.106, 1.703]]))
    np.testing.assert_allclose(MATLAB_GREY_WEIGHTS, t[0], rtol=0, atol=1e-15)


def test_rgb_to_grey_matlab_hand_values() -> None:
    img = np.array(
        [[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [10, 20, 30]]], np.uint8
    )
    exact = rgb_to_grey_matlab(img, round_=False)[0]
    # hand-derived: weight * 255, and 10*.298936 + 20*.587043 + 30*.114021 = 18.150849
    np.testing.assert_allclose(
        exact, [76.2286854, 149.6959840, 29.0753306, 255.0, 18.1508488], rtol=0, atol=1e-6
    )
    assert rgb_to_grey_matlab(img)[0].tolist() == [76.0, 150.0, 29.0, 255.0, 18.0]


def test_rgb_to_grey_matlab_rounds_half_away_from_zero() -> None:
    # A grey value of exactly k + 0.5 cannot come from uint8 RGB with these weights, so test
    # the rounding rule on the float path: MATLAB rounds 0.5 up (numpy's rint would give 0).
    img = np.zeros((1, 1, 3))
    img[0, 0, 0] = 0.5 / MATLAB_GREY_WEIGHTS[0]
    assert rgb_to_grey_matlab(img)[0, 0] == 1.0


def test_rgb_to_y_bt601_equals_skimage_rgb2ycbcr(rng: np.random.Generator) -> None:
    img = rng.integers(0, 256, (17, 23, 3)).astype(np.uint8)
    ref = rgb2ycbcr(img.astype(np.float64) / 255.0)[..., 0]  # skimage: 16..235 for [0,1] input
    np.testing.assert_allclose(rgb_to_y_bt601(img), ref, rtol=0, atol=1e-10)
    assert rgb_to_y_bt601(np.zeros((1, 1, 3)))[0, 0] == pytest.approx(16.0, abs=1e-12)
    assert rgb_to_y_bt601(np.full((1, 1, 3), 255.0))[0, 0] == pytest.approx(235.0, abs=1e-12)


@pytest.mark.parametrize("dataset", ["gopro", "realblur"])
@pytest.mark.parametrize("method", METHODS)
def test_psnr_matches_skimage_on_real_crops(dataset: str, method: str) -> None:
    out, gt = real_pair(dataset, method)
    ref = peak_signal_noise_ratio(gt, out, data_range=255)
    assert psnr(out, gt) == pytest.approx(ref, abs=1e-10)


KNOWN_CROP_PSNR = {
    ("gopro", "blur"): 20.8356,
    ("gopro", "hi-diff"): 27.6604,
    ("gopro", "restormer"): 25.3899,
    ("gopro", "stripformer"): 25.8506,
    ("realblur", "blur"): 22.4572,
    ("realblur", "hi-diff"): 23.8206,
    ("realblur", "restormer"): 23.3064,
    ("realblur", "stripformer"): 21.8257,
}


@pytest.mark.parametrize(("dataset", "method"), sorted(KNOWN_CROP_PSNR))
def test_psnr_known_crop_values(dataset: str, method: str) -> None:
    out, gt = real_pair(dataset, method)
    assert round(psnr(out, gt), 4) == KNOWN_CROP_PSNR[(dataset, method)]


@pytest.mark.parametrize(
    ("name", "official"),
    [("I03", 21.11), ("I04", 20.99), ("I06", 27.01), ("I08", 23.30), ("I19", 21.62)],
)
def test_psnr_tid2013_official_values(name: str, official: float) -> None:
    dist, ref = tid_pair(name)
    assert round(psnr(dist, ref), 2) == official


def test_psnr_hand_derived() -> None:
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 255  # MSE = 255² / 48  ->  PSNR = 10 log10(48)
    assert psnr(b, a) == pytest.approx(10 * math.log10(48), abs=1e-12)


def test_psnr_identical_is_inf() -> None:
    a = np.full((8, 8, 3), 7, np.uint8)
    assert psnr(a, a) == math.inf


def test_psnr_float_unit_range_equals_uint8(noisy_pair: tuple[np.ndarray, np.ndarray]) -> None:
    p, t = noisy_pair
    assert psnr(p / 255.0, t / 255.0, data_range=1.0) == pytest.approx(psnr(p, t), abs=1e-9)


def test_psnr_y_and_crop_border_against_hand_computation(
    noisy_pair: tuple[np.ndarray, np.ndarray],
) -> None:
    p, t = noisy_pair
    yp = rgb2ycbcr(p / 255.0)[..., 0][4:-4, 4:-4]
    yt = rgb2ycbcr(t / 255.0)[..., 0][4:-4, 4:-4]
    expected = 10 * math.log10(255.0**2 / np.mean((yp - yt) ** 2))
    assert psnr(p, t, colour="y", crop_border=4) == pytest.approx(expected, abs=1e-9)


def test_psnr_grey_uses_rounded_matlab_grey(noisy_pair: tuple[np.ndarray, np.ndarray]) -> None:
    p, t = noisy_pair
    gp, gt = rgb_to_grey_matlab(p), rgb_to_grey_matlab(t)
    assert np.all(gp == np.round(gp))
    expected = peak_signal_noise_ratio(gt, gp, data_range=255)
    assert psnr(p, t, colour="grey") == pytest.approx(expected, abs=1e-10)


def test_psnr_bad_inputs() -> None:
    a = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ShapeMismatchError, match=r"\(8, 9, 3\)"):
        psnr(a, np.zeros((8, 9, 3), np.uint8))
    nan = np.zeros((8, 8, 3))
    nan[1, 1, 1] = np.nan
    with pytest.raises(LodeBenchError, match="NaN"):
        psnr(nan, a)
    with pytest.raises(LodeBenchError, match="NaN or infinite"):
        psnr(a, np.full((8, 8, 3), np.inf))
    with pytest.raises(LodeBenchError, match="shape"):
        psnr(np.zeros((8, 8, 4)), np.zeros((8, 8, 4)))
    with pytest.raises(LodeBenchError, match="colour"):
        psnr(a, a, colour="lab")
    with pytest.raises(LodeBenchError, match="crop_border"):
        psnr(a, a, crop_border=4)
    with pytest.raises(LodeBenchError, match="data_range"):
        psnr(a, a, data_range=0)


def test_psnr_uint8_fast_path_equals_float_path(noisy_pair: tuple[np.ndarray, np.ndarray]) -> None:
    p, t = noisy_pair
    for crop in (0, 5):
        sl = (slice(crop, -crop), slice(crop, -crop)) if crop else (slice(None), slice(None))
        ref = peak_signal_noise_ratio(t[sl], p[sl], data_range=255)
        assert psnr(p, t, crop_border=crop) == pytest.approx(ref, abs=1e-10)
        assert psnr(p.astype(np.float64), t.astype(np.float64), crop_border=crop) == pytest.approx(
            ref, abs=1e-10
        )
