"""Photometric matching against hand-computed fits, scipy's isotonic regression and known maps."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import isotonic_regression

from lode_bench.align.errors import AlignmentError
from lode_bench.align.photometric import (
    PhotometricConfig,
    fit_photometric,
    isotonic_increasing,
)
from lode_bench.errors import ConfigError, ShapeMismatchError


def test_lstsq_recovers_exact_gain_offset(photo: np.ndarray) -> None:
    src = photo.astype(np.float64) / 255
    gain, offset = np.array([0.8, 1.1, 0.95]), np.array([0.02, -0.03, 0.05])
    tgt = src * gain + offset  # no clipping needed for the check: fit is on raw values
    pm = fit_photometric(src, tgt, None, PhotometricConfig("lstsq"))
    np.testing.assert_allclose(pm.gain, gain, atol=1e-9)
    np.testing.assert_allclose(pm.offset, offset, atol=1e-9)


def test_meanstd_matches_realblur_formula(photo: np.ndarray, rng: np.random.Generator) -> None:
    src = photo[:200, :200]
    tgt = np.clip(photo[:200, :200] * 0.7 + rng.normal(0, 5, (200, 200, 3)), 0, 255) / 255
    mask = np.zeros((200, 200), bool)
    mask[20:180, 30:150] = True
    pm = fit_photometric(src, tgt, mask, PhotometricConfig("meanstd"))
    s = src[mask].astype(np.float64) / 255
    t = tgt[mask]
    alpha = t.std(axis=0) / s.std(axis=0)  # alpha = std_blur / std_sharp
    beta = t.mean(axis=0) - alpha * s.mean(axis=0)
    np.testing.assert_allclose(pm.gain, alpha, rtol=1e-10)
    np.testing.assert_allclose(pm.offset, beta, atol=1e-12)


def test_curve_fits_gamma_within_one_grey_level(photo: np.ndarray) -> None:
    src = photo
    tgt = 255 * (0.92 * (src / 255.0) ** 0.8 + 0.01)
    for curve, limit in ((False, None), (True, 1.0)):
        pm = fit_photometric(src, tgt / 255, None, PhotometricConfig("lstsq", curve=curve))
        err = np.abs(pm.apply(src) * 255 - tgt)
        if limit is None:
            assert err.mean() > 2.0  # an affine map cannot follow the gamma change
        else:
            assert err.mean() < limit and np.percentile(err, 99) < 2 * limit


def test_isotonic_matches_scipy(rng: np.random.Generator) -> None:
    y = np.cumsum(rng.normal(0.1, 1.0, 200))
    w = rng.uniform(0.1, 3.0, 200)
    ref = isotonic_regression(y, weights=w, increasing=True).x
    np.testing.assert_allclose(isotonic_increasing(y, w), ref, atol=1e-10)


def test_none_is_identity_and_bad_input_refused(photo: np.ndarray) -> None:
    pm = fit_photometric(photo, photo, None, PhotometricConfig("none"))
    np.testing.assert_array_equal(pm.apply(photo), photo / 255.0)
    with pytest.raises(ShapeMismatchError, match="H×W×3"):
        fit_photometric(photo, photo[:10], None)
    with pytest.raises(AlignmentError, match="16 pixels"):
        fit_photometric(photo, photo, np.zeros(photo.shape[:2], bool))
    with pytest.raises(ConfigError, match="direction"):
        PhotometricConfig(direction="up")  # type: ignore[arg-type]


def test_lstsq_ignores_pixels_clipped_at_full_scale(
    photo: np.ndarray, rng: np.random.Generator
) -> None:
    """True blue gain 1.156 with ~3 % of the target clipped at 255: recovered within 0.3 %."""
    src = photo.astype(np.float64)
    gain, offset = np.array([1.05, 1.10, 1.156]), np.array([2.0, 1.0, 3.0])
    lift = np.percentile(src[..., 2] * gain[2] + offset[2], 97.2) - 255.0  # ~2.8 % above 255
    tgt = src * gain + offset - np.array([0.0, 0.0, min(lift, 0.0)])
    to8 = lambda x: np.rint(np.clip(x + rng.normal(0, 1.0, x.shape), 0, 255)).astype(np.uint8)  # noqa: E731
    s8, t8 = to8(src), to8(tgt)
    assert 0.01 < (t8[..., 2] == 255).mean() < 0.06
    for trim_k in (4.0, 0.0):  # the clipped-pixel exclusion alone suffices
        pm = fit_photometric(s8, t8, None, PhotometricConfig("lstsq", trim_k=trim_k))
        np.testing.assert_allclose(pm.gain, gain, rtol=3e-3)
    plain = fit_photometric(
        s8, t8, None, PhotometricConfig("lstsq", exclude_clipped=False, trim_k=0)
    )
    assert plain.gain[2] < gain[2] * 0.99  # what clipped pixels do to a plain fit


def test_lstsq_trims_outliers_missed_by_the_mask(
    photo: np.ndarray, rng: np.random.Generator
) -> None:
    """An unmasked 6 % patch of other content leaves the gain within 0.3 % of the truth."""
    src = photo.astype(np.float64)
    tgt = src * 0.8 + 10.0
    tgt[100:160, 200:260] = src[300:360, 40:100]  # a moving object's content, not masked
    to8 = lambda x: np.rint(np.clip(x + rng.normal(0, 1.0, x.shape), 0, 255)).astype(np.uint8)  # noqa: E731
    pm = fit_photometric(to8(src), to8(tgt), None, PhotometricConfig("lstsq"))
    np.testing.assert_allclose(pm.gain, [0.8] * 3, rtol=3e-3)
    np.testing.assert_allclose(pm.offset * 255, [10.0] * 3, atol=0.5)
    plain = fit_photometric(to8(src), to8(tgt), None, PhotometricConfig("lstsq", trim_k=0))
    assert np.abs(plain.gain / 0.8 - 1).max() > 0.01
