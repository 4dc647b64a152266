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

High bit depth (the frame type decides, and every frame of a window must share it):

* **uint8** codes: the path above, unchanged.
* **uint16** codes (16-bit PNG/TIFF): linearised at full precision through a
  65536-entry table per channel (``v / 65535`` fed to the response; a ``table``
  response is interpolated linearly between its 256 rows at ``v / 257``), summed in
  float64 (``identity``: exact integer sum). Nothing is cut to 8 bits before averaging.
* **float** frames with ``linear_input=True``: already linear light in [0, 1] (e.g.
  RAW frames from :func:`lode_bench.io.raw.read_raw`); summed as they are, and encoded
  for output with the sRGB curve (``encoding``), since no camera response is involved.

Outputs are 8-bit (:meth:`FrameAccumulator.mean_encoded_uint8`) or 16-bit
(:meth:`FrameAccumulator.mean_encoded_uint16`), both rounded, never truncated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

import cv2
import numpy as np

from lode_bench.capture.response import CameraResponse
from lode_bench.errors import LodeBenchError, ShapeMismatchError


class AveragingError(LodeBenchError):
    """Frames given to the averager are unusable (none, wrong type)."""


class FrameAccumulator:
    """Running sum of frames in linear space.

    Args:
        response: camera response used to linearise codes (uint8 / uint16 frames).
        linear_input: accept float frames that are already linear (RAW); they are not
            passed through ``response``.
        encoding: curve used to encode the linear mean of ``linear_input`` frames for
            output (default sRGB); code frames are encoded back through ``response``.

    Example:
        A black and a white frame average to half the light, which a 2.2 gamma encodes
        as 186, not 128:

        >>> import numpy as np
        >>> acc = FrameAccumulator(CameraResponse("gamma", 2.2))
        >>> for level in (0, 255):
        ...     acc.add(np.full((2, 2, 3), level, np.uint8))
        >>> acc.mean_linear()[0, 0].tolist(), acc.mean_encoded_uint8()[0, 0].tolist()
        ([0.5, 0.5, 0.5], [186, 186, 186])
    """

    def __init__(
        self,
        response: CameraResponse,
        *,
        linear_input: bool = False,
        encoding: CameraResponse | None = None,
    ) -> None:
        self.response = response
        self.linear_input = linear_input
        self.encoding = encoding or (CameraResponse("srgb") if linear_input else response)
        self._lut = np.ascontiguousarray(response.lut().reshape(256, 1, 3))
        self._identity = response.kind == "identity"
        self._sum: np.ndarray | None = None
        self._dtype: np.dtype | None = None
        self.count = 0

    def _check(self, frame: np.ndarray) -> None:
        ok_type = frame.dtype in (np.uint8, np.uint16) or (
            self.linear_input and frame.dtype in (np.float32, np.float64)
        )
        if not ok_type or frame.ndim != 3 or frame.shape[2] != 3:
            allowed = "uint8 or uint16" + (" or float (linear)" if self.linear_input else "")
            raise AveragingError(f"frames must be H×W×3 {allowed}, got {frame.dtype} {frame.shape}")
        if self._dtype is not None and frame.dtype != self._dtype:
            raise AveragingError(
                f"frame {self.count} is {frame.dtype}, the first frame {self._dtype}: "
                "a window must not mix bit depths"
            )

    def add(self, frame: np.ndarray) -> None:
        """Add one H×W×3 RGB frame (uint8, uint16, or float linear with ``linear_input``).

        Raises:
            AveragingError: an unsupported type, or a type differing from the first frame.
            ShapeMismatchError: size differs from the first frame added.
        """
        self._check(frame)
        if self._sum is None:
            self._dtype = frame.dtype
            acc_type: type[np.generic]
            if frame.dtype == np.uint8:
                acc_type = np.uint32 if self._identity else np.float64
            elif frame.dtype == np.uint16:
                acc_type = np.uint64 if self._identity else np.float64
            else:
                acc_type = np.float64
            self._sum = np.zeros(frame.shape, dtype=acc_type)
        elif frame.shape != self._sum.shape:
            raise ShapeMismatchError(
                f"frame {self.count} has shape {frame.shape}, the first frame {self._sum.shape}"
            )
        if frame.dtype == np.uint8:
            if self._identity:
                np.add(self._sum, frame, out=self._sum, casting="unsafe")
            else:
                f = np.ascontiguousarray(frame)
                cv2.add(self._sum, cv2.LUT(f, self._lut), dst=self._sum)
        elif frame.dtype == np.uint16:
            if self._identity:
                np.add(self._sum, frame, out=self._sum, casting="unsafe")
            else:
                lut = lut16(self.response)
                if self.response.kind != "table":  # one curve for all channels: one gather
                    np.add(self._sum, lut[0][frame], out=self._sum)
                else:
                    for c in range(3):
                        self._sum[..., c] += lut[c][frame[..., c]]
        else:
            np.add(self._sum, frame, out=self._sum, casting="unsafe")
        self.count += 1

    @property
    def peak(self) -> float:
        """Largest code of the frames added (255, 65535, or 1.0 for linear frames)."""
        return {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(
            np.dtype(self._dtype or np.uint8), 1.0
        )

    def mean_linear(self) -> np.ndarray:
        """Mean in linear space, H×W×3 float64 (identity: codes / peak)."""
        if self._sum is None or self.count == 0:
            raise AveragingError("no frames were added")
        if self._identity and self._dtype in (np.uint8, np.uint16):
            return self._sum.astype(np.float64) / (self.peak * self.count)
        return self._sum / self.count

    def mean_encoded_uint8(self) -> np.ndarray:
        """Mean mapped back through the response (or ``encoding``) and rounded to uint8."""
        if self._identity and self._dtype == np.uint8:
            if self._sum is None or self.count == 0:
                raise AveragingError("no frames were added")
            return np.rint(self._sum / float(self.count)).astype(np.uint8)
        return quantize(self.encoding.from_linear(self.mean_linear()))

    def mean_encoded_uint16(self) -> np.ndarray:
        """Mean mapped back through the response (or ``encoding``) and rounded to uint16."""
        return quantize16(self.encoding.from_linear(self.mean_linear()))

    def mean_encoded(self, bits: int = 8) -> np.ndarray:
        """:meth:`mean_encoded_uint8` (``bits=8``) or :meth:`mean_encoded_uint16` (16)."""
        return self.mean_encoded_uint16() if bits == 16 else self.mean_encoded_uint8()


@lru_cache(maxsize=8)
def _lut16_cached(response: CameraResponse, digest: str) -> tuple[np.ndarray, ...]:
    del digest  # part of the key: table responses compare equal regardless of their table
    v = np.arange(65536, dtype=np.float64)
    if response.kind == "table":
        assert response.table is not None
        rows = np.arange(256, dtype=np.float64)
        return tuple(np.interp(v / 257.0, rows, response.table[:, c]) for c in range(3))
    lin = response.to_linear(np.repeat((v / 65535.0)[:, None], 3, axis=1))
    return tuple(np.ascontiguousarray(lin[:, c]) for c in range(3))


def lut16(response: CameraResponse) -> tuple[np.ndarray, ...]:
    """Per-channel (65536,) float64 tables: linear value of each 16-bit code."""
    return _lut16_cached(response, response.digest())


def frame_to_linear(frame: np.ndarray, response: CameraResponse) -> np.ndarray:
    """One H×W×3 frame to float64 linear signal, whatever its type.

    uint8 and uint16 codes go through ``response`` (16-bit at full precision, as in
    :class:`FrameAccumulator`); float frames are taken as already linear.
    """
    if frame.dtype == np.uint8:
        return response.to_linear(frame)
    if frame.dtype == np.uint16:
        lut = lut16(response)
        return np.stack([np.take(lut[c], frame[..., c]) for c in range(3)], axis=-1)
    return np.asarray(frame, dtype=np.float64)


def frame_to_output(
    frame: np.ndarray, bits: int = 8, *, encoding: CameraResponse | None = None
) -> np.ndarray:
    """A source frame as an output image of ``bits`` (8 or 16) per channel.

    uint8 frames are returned unchanged for 8 bits (``v * 257`` for 16); uint16 frames
    unchanged for 16 bits (``round(v / 257)`` for 8, the rule of
    :func:`lode_bench.io.read_image`); float linear frames are encoded with
    ``encoding`` (default sRGB) and rounded.
    """
    if frame.dtype == np.uint8:
        return frame if bits == 8 else frame.astype(np.uint16) * np.uint16(257)
    if frame.dtype == np.uint16:
        return frame if bits == 16 else np.rint(frame / 257.0).astype(np.uint8)
    enc = (encoding or CameraResponse("srgb")).from_linear(np.asarray(frame, np.float64))
    return quantize16(enc) if bits == 16 else quantize(enc)


def frame_to_uint8(frame: np.ndarray) -> np.ndarray:
    """8-bit view of any source frame (for masks, flow and previews)."""
    return frame_to_output(frame, 8)


def quantize(encoded: np.ndarray) -> np.ndarray:
    """[0, 1] float image to uint8: clip, scale by 255, round half to even (never truncate)."""
    return np.rint(np.clip(encoded, 0.0, 1.0) * 255.0).astype(np.uint8)


def quantize16(encoded: np.ndarray) -> np.ndarray:
    """[0, 1] float image to uint16: clip, scale by 65535, round half to even."""
    return np.rint(np.clip(encoded, 0.0, 1.0) * 65535.0).astype(np.uint16)


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
