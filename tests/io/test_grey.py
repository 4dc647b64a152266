"""The one RGB → grey home reproduces, bit for bit, the conversions datasets were made with."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from lode_bench.io.grey import grey_float, grey_u8

RNG = np.random.default_rng(5)
IMAGES = {
    "u8": RNG.integers(0, 256, (37, 41, 3), dtype=np.uint8),
    "u16": RNG.integers(0, 65536, (37, 41, 3), dtype=np.uint16),
    "float": RNG.random((37, 41, 3)).astype(np.float32),
}


def _reference_float(x: np.ndarray, dtype: type) -> np.ndarray:
    scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(x.dtype, 1.0)
    f = x.astype(dtype) / dtype(scale)
    return f[..., 0] * 0.299 + f[..., 1] * 0.587 + f[..., 2] * 0.114


@pytest.mark.parametrize("kind", IMAGES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_grey_float_exact(kind: str, dtype: type) -> None:
    out = grey_float(IMAGES[kind], dtype)
    assert out.dtype == dtype and out.flags.c_contiguous
    np.testing.assert_array_equal(out, _reference_float(IMAGES[kind], dtype))


def test_grey_u8_rules() -> None:
    x = IMAGES["u8"]
    f = x.astype(np.float32)
    ref = np.rint(np.clip(f[..., 0] * 0.299 + f[..., 1] * 0.587 + f[..., 2] * 0.114, 0, 255))
    np.testing.assert_array_equal(grey_u8(x), ref.astype(np.uint8))
    np.testing.assert_array_equal(grey_u8(x, "opencv"), cv2.cvtColor(x, cv2.COLOR_RGB2GRAY))
    fl = IMAGES["float"]
    np.testing.assert_array_equal(
        grey_u8(fl, "opencv"),
        cv2.cvtColor(np.rint(np.clip(fl, 0, 1) * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY),
    )
    g = x[..., 0]
    np.testing.assert_array_equal(grey_u8(g, "opencv"), g)
    np.testing.assert_array_equal(grey_u8(g), g)
    assert grey_u8(IMAGES["u16"]).dtype == np.uint8
