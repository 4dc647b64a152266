"""Frame averaging against the GoPro formulas written out from their definition."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from lode_bench.capture.response import CameraResponse
from lode_bench.errors import ShapeMismatchError
from lode_bench.synth.averaging import (
    AveragingError,
    FrameAccumulator,
    average_frames,
    average_frames_linear,
)
from lode_bench.synth.builtin import render_global_clip


def gopro_blur_formula(frames: list[np.ndarray]) -> np.ndarray:
    """GoPro `blur`: plain mean of the sRGB codes, rounded half to even."""
    stack = np.stack([f.astype(np.float64) for f in frames])
    return np.rint(stack.sum(axis=0) / len(frames)).astype(np.uint8)


def gopro_blur_gamma_formula(frames: list[np.ndarray]) -> np.ndarray:
    """GoPro `blur_gamma`: (mean(S ** 2.2)) ** (1 / 2.2) on [0, 1], rounded."""
    s = np.zeros(frames[0].shape, np.float64)
    for f in frames:  # same summation order as any sequential implementation
        s = s + (f.astype(np.float64) / 255.0) ** 2.2
    return np.rint(np.clip((s / len(frames)) ** (1 / 2.2), 0, 1) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def pan_frames() -> list[np.ndarray]:
    clip = render_global_clip(
        np.random.default_rng(5), 13, (96, 128), CameraResponse("gamma", 2.2), photo="coffee"
    )
    return clip.frames


@pytest.mark.parametrize("n", [7, 9, 11, 13])
def test_blur_track_equals_formula_exactly(pan_frames: list[np.ndarray], n: int) -> None:
    frames = pan_frames[:n]
    got = average_frames(frames, CameraResponse("identity"))
    np.testing.assert_array_equal(got, gopro_blur_formula(frames))  # tolerance: exact


@pytest.mark.parametrize("n", [7, 9, 11, 13])
def test_blur_gamma_track_equals_formula_exactly(pan_frames: list[np.ndarray], n: int) -> None:
    frames = pan_frames[:n]
    got = average_frames(frames, CameraResponse("gamma", 2.2))
    np.testing.assert_array_equal(got, gopro_blur_gamma_formula(frames))  # tolerance: exact
    lin = average_frames_linear(frames, CameraResponse("gamma", 2.2))
    ref = np.mean([(f / 255.0) ** 2.2 for f in frames], axis=0)
    np.testing.assert_allclose(lin, ref, rtol=0, atol=1e-15)


def test_random_noise_frames_exact(rng: np.random.Generator) -> None:
    """Uniform random codes hit every value, including the 0.5 rounding ties of the plain mean."""
    frames = [
        rng.integers(0, 256, (40, 50, 3), dtype=np.uint8) for _ in range(8)
    ]  # even N: ties occur
    np.testing.assert_array_equal(
        average_frames(frames, CameraResponse("identity")), gopro_blur_formula(frames)
    )
    np.testing.assert_array_equal(
        average_frames(frames, CameraResponse("gamma", 2.2)), gopro_blur_gamma_formula(frames)
    )


@pytest.mark.parametrize(
    "response",
    [
        CameraResponse("identity"),
        CameraResponse("gamma", 2.2),
        CameraResponse("srgb"),
        CameraResponse("gamma", 1.8),
    ],
)
def test_static_sequence_gives_blur_equal_to_sharp(response: CameraResponse) -> None:
    sharp = data.chelsea()[:64, :80]
    np.testing.assert_array_equal(average_frames([sharp] * 11, response), sharp)


def test_srgb_average_matches_curve_definition() -> None:
    frames = [data.astronaut()[:32, :32], data.astronaut()[5:37, 7:39]]

    def to_lin(c: np.ndarray) -> np.ndarray:
        c = c / 255.0
        return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)

    m = (to_lin(frames[0]) + to_lin(frames[1])) / 2
    enc = np.where(m <= 0.0031308, 12.92 * m, 1.055 * m ** (1 / 2.4) - 0.055)
    ref = np.rint(np.clip(enc, 0, 1) * 255).astype(np.uint8)
    got = average_frames(frames, CameraResponse("srgb"))
    assert np.abs(got.astype(int) - ref).max() == 0


def test_rounding_not_truncation() -> None:
    a = np.full((2, 2, 3), 10, np.uint8)
    b = np.full((2, 2, 3), 13, np.uint8)
    c = np.full((2, 2, 3), 13, np.uint8)
    # mean 12.0 exactly; and (10 + 13) / 2 = 11.5 -> 12 (half to even), truncation would give 11
    assert average_frames([a, b, c], CameraResponse("identity"))[0, 0, 0] == 12
    assert average_frames([a, b], CameraResponse("identity"))[0, 0, 0] == 12
    d = np.full((2, 2, 3), 14, np.uint8)
    assert average_frames([a, d, d], CameraResponse("identity"))[0, 0, 0] == 13  # 12.67 -> 13


def test_accumulator_refuses_bad_frames() -> None:
    acc = FrameAccumulator(CameraResponse())
    with pytest.raises(AveragingError, match="uint8"):
        acc.add(np.zeros((4, 4, 3), np.float32))
    acc.add(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ShapeMismatchError, match="shape"):
        acc.add(np.zeros((4, 5, 3), np.uint8))
    with pytest.raises(AveragingError, match="no frames"):
        FrameAccumulator(CameraResponse()).mean_linear()
