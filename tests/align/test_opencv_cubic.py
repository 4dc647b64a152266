"""Regression: OpenCV 5.0's INTER_CUBIC warp is wrong on float64 input; our warp avoids it."""

from __future__ import annotations

import numpy as np

from lode_bench.align.transforms import warp_to_template


def test_identity_cubic_warp_keeps_float64_images():
    x = np.random.default_rng(0).random((48, 64, 3))
    out = warp_to_template(x, np.eye(3), x.shape)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, x, atol=1e-6)  # float32 resampling: ~1e-7 relative


def test_integer_shift_is_exact_translation():
    x = np.random.default_rng(1).random((40, 50))
    m = np.array([[1.0, 0, 3.0], [0, 1.0, 2.0], [0, 0, 1.0]])  # template -> input
    out = warp_to_template(x, m, x.shape)
    np.testing.assert_allclose(out[:-2, :-3], x[2:, 3:], atol=1e-6)
