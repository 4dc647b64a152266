"""Frame averaging in a camera's linear space (the core of every global-blur recipe).

``B = f( mean_i( f^-1(S_i) ) )`` where ``f^-1`` maps 8-bit codes to linear signal
(:class:`~lode_bench.capture.response.CameraResponse`). With the ``identity`` response
this is GoPro's ``blur`` track, with ``gamma`` 2.2 its ``blur_gamma`` track:
``B = (mean_i(S_i ** 2.2)) ** (1/2.2)`` on [0, 1] images. Results are rounded to 8
bits (round half to even), never truncated.

Speed: codes are mapped through a 256-entry float64 table (``cv2.LUT``) and summed in
float64 in frame order, so the sum is bit-identical to evaluating the formula
elementwise in float64, at a fraction of the cost of ``x ** 2.2`` per pixel. The
``identity`` response sums integers exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from lode_bench.capture.response import CameraResponse
from lode_bench.errors import LodeBenchError, ShapeMismatchError


class AveragingError(LodeBenchError):
    """Frames given to the averager are unusable (none, wrong type)."""


class FrameAccumulator:
    """Running sum of frames in linear space.

    Args:
        response: camera response used to linearise codes.

    Example:
        >>> acc = FrameAccumulator(CameraResponse("gamma", 2.2))
        >>> for f in frames:  # doctest: +SKIP
        ...     acc.add(f)
        >>> blur = acc.mean_encoded_uint8()  # doctest: +SKIP
    """

    def __init__(self, response: CameraResponse) -> None:
        self.response = response
        self._lut = np.ascontiguousarray(response.lut().reshape(256, 1, 3))
        self._identity = response.kind == "identity"
        self._sum: np.ndarray | None = None
        self.count = 0

    def add(self, frame: np.ndarray) -> None:
        """Add one H×W×3 uint8 RGB frame.

        Raises:
            AveragingError: not uint8 RGB.
            ShapeMismatchError: size differs from the first frame added.
        """
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
            raise AveragingError(f"frames must be H×W×3 uint8, got {frame.dtype} {frame.shape}")
        if self._sum is None:
            self._sum = np.zeros(frame.shape, dtype=np.uint32 if self._identity else np.float64)
        elif frame.shape != self._sum.shape:
            raise ShapeMismatchError(
                f"frame {self.count} has shape {frame.shape}, the first frame {self._sum.shape}"
            )
        if self._identity:
            np.add(self._sum, frame, out=self._sum, casting="unsafe")
        else:
            f = np.ascontiguousarray(frame)
            cv2.add(self._sum, cv2.LUT(f, self._lut), dst=self._sum)
        self.count += 1

    def mean_linear(self) -> np.ndarray:
        """Mean in linear space, H×W×3 float64 (identity: codes / 255)."""
        if self._sum is None or self.count == 0:
            raise AveragingError("no frames were added")
        if self._identity:
            return self._sum.astype(np.float64) / (255.0 * self.count)
        return self._sum / self.count

    def mean_encoded_uint8(self) -> np.ndarray:
        """Mean mapped back through the response and rounded to uint8."""
        if self._identity:
            if self._sum is None or self.count == 0:
                raise AveragingError("no frames were added")
            return np.rint(self._sum / float(self.count)).astype(np.uint8)
        return quantize(self.response.from_linear(self.mean_linear()))


def quantize(encoded: np.ndarray) -> np.ndarray:
    """[0, 1] float image to uint8: clip, scale by 255, round half to even (never truncate)."""
    return np.rint(np.clip(encoded, 0.0, 1.0) * 255.0).astype(np.uint8)


def average_frames(frames: Iterable[np.ndarray], response: CameraResponse) -> np.ndarray:
    """Average frames in ``response``'s linear space and return the uint8 blurry image.

    Args:
        frames: H×W×3 uint8 RGB frames (at least one, all the same size).
        response: camera response (``identity`` = plain sRGB average).

    Returns:
        H×W×3 uint8 RGB.
    """
    acc = FrameAccumulator(response)
    for f in frames:
        acc.add(f)
    return acc.mean_encoded_uint8()


def average_frames_linear(frames: Sequence[np.ndarray], response: CameraResponse) -> np.ndarray:
    """Mean of ``frames`` in linear space (H×W×3 float64), before encoding."""
    acc = FrameAccumulator(response)
    for f in frames:
        acc.add(f)
    return acc.mean_linear()


def average_frames_reference(frames: Sequence[np.ndarray], gamma: float | None) -> np.ndarray:
    """Straightforward float64 implementation of the GoPro formulas (slow; for checks).

    ``gamma=None``: plain average of codes; else ``(mean(S ** g)) ** (1/g)`` on [0, 1].
    """
    if gamma is None:
        s = np.zeros(frames[0].shape, np.float64)
        for f in frames:
            s = s + f.astype(np.float64)
        return np.rint(s / len(frames)).astype(np.uint8)
    s = np.zeros(frames[0].shape, np.float64)
    for f in frames:
        s = s + (f.astype(np.float64) / 255.0) ** gamma
    return np.rint(np.clip((s / len(frames)) ** (1.0 / gamma), 0, 1) * 255.0).astype(np.uint8)
