"""Optical-flow frame interpolation (×k) to emulate dense temporal sampling.

REDS interpolated its 120 fps footage to a virtual 1920 fps before averaging, which
removes the ghost copies that plain averaging shows on fast motion. Here the flow is
OpenCV's DIS optical flow, computed both ways between consecutive frames; the
in-between frame at time ``t`` uses the linear-motion approximation of the
intermediate flows (as in Super SloMo):

    F_t0 = -(1-t) t F_01 + t^2 F_10,    F_t1 = (1-t)^2 F_01 - t (1-t) F_10

then backward-warps both neighbours and blends them ``(1-t) I_0(x+F_t0) + t I_1(x+F_t1)``.
Blending is done in the linear space of the caller's choice (pass float frames).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

import cv2
import numpy as np

from lode_bench.errors import ConfigError
from lode_bench.io.grey import grey_u8

Preset = Literal["ultrafast", "fast", "medium"]
_PRESETS = {
    "ultrafast": cv2.DISOpticalFlow_PRESET_ULTRAFAST,
    "fast": cv2.DISOpticalFlow_PRESET_FAST,
    "medium": cv2.DISOpticalFlow_PRESET_MEDIUM,
}


def dis_flow(a: np.ndarray, b: np.ndarray, *, preset: Preset = "medium") -> np.ndarray:
    """Dense flow from ``a`` to ``b`` (H×W×2 float32, pixels): ``a(x) ≈ b(x + F(x))``.

    Args:
        a, b: H×W×3 RGB frames (uint8, or float in [0, 1]).
        preset: DIS speed/quality preset.
    """
    if preset not in _PRESETS:
        raise ConfigError(f"interpolation.preset: unknown value {preset!r}; use {sorted(_PRESETS)}")
    dis = cv2.DISOpticalFlow.create(_PRESETS[preset])
    g0, g1 = grey_u8(a, "opencv"), grey_u8(b, "opencv")
    init = np.zeros(g0.shape + (2,), dtype=np.float32)  # ignored: initial flow is off by default
    return np.asarray(dis.calc(g0, g1, init), dtype=np.float32)


def _warp(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(
        img, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def iter_interpolated_pair(
    i0: np.ndarray,
    i1: np.ndarray,
    times: Sequence[float],
    *,
    preset: Preset = "medium",
    flows: tuple[np.ndarray, np.ndarray] | None = None,
) -> Iterator[np.ndarray]:
    """Frames at fractional ``times`` (each in (0, 1)) between ``i0`` and ``i1``, one at a time.

    Args:
        i0, i1: H×W×3 float32/float64 frames (any linear or encoded space) or uint8.
        times: fractional times.
        preset: DIS preset.
        flows: precomputed (F_01, F_10) to skip the flow computation.

    Yields:
        One float32 H×W×3 frame per time, in the value space of the inputs.
    """
    f01, f10 = (
        flows
        if flows is not None
        else (dis_flow(i0, i1, preset=preset), dis_flow(i1, i0, preset=preset))
    )
    a = np.asarray(i0, dtype=np.float32)
    b = np.asarray(i1, dtype=np.float32)
    for t in times:
        ft0 = -(1 - t) * t * f01 + t * t * f10
        ft1 = (1 - t) ** 2 * f01 - t * (1 - t) * f10
        yield (1 - t) * _warp(a, ft0) + t * _warp(b, ft1)


def iter_interpolated(
    frames: Sequence[np.ndarray],
    factor: int,
    *,
    preset: Preset = "medium",
    flow_frames: Sequence[np.ndarray] | None = None,
) -> Iterator[np.ndarray]:
    """Yield the frames with ``factor - 1`` interpolated frames between each pair.

    Only two in-between frames are alive at a time, so averaging 65 virtual 720p frames
    does not hold 65 frames in memory.

    Args:
        frames: N frames (float linear values recommended; uint8 accepted).
        factor: temporal up-sampling factor k (1 yields the frames unchanged as float32).
        preset: DIS preset.
        flow_frames: frames to compute the flow on (e.g. the uint8 originals when
            ``frames`` are linear values); default ``frames``.

    Yields:
        ``(N - 1) * factor + 1`` float32 frames; originals sit at multiples of ``factor``.
    """
    if factor < 1:
        raise ConfigError(f"interpolation.factor must be >= 1, got {factor}")
    fl = flow_frames if flow_frames is not None else frames
    yield np.asarray(frames[0], dtype=np.float32)
    times = [j / factor for j in range(1, factor)]
    for i in range(len(frames) - 1):
        if factor > 1:
            flows = (
                dis_flow(fl[i], fl[i + 1], preset=preset),
                dis_flow(fl[i + 1], fl[i], preset=preset),
            )
            yield from iter_interpolated_pair(frames[i], frames[i + 1], times, flows=flows)
        yield np.asarray(frames[i + 1], dtype=np.float32)


def interpolate_sequence(
    frames: Sequence[np.ndarray],
    factor: int,
    *,
    preset: Preset = "medium",
    flow_frames: Sequence[np.ndarray] | None = None,
) -> list[np.ndarray]:
    """List form of :func:`iter_interpolated` (``(N - 1) * factor + 1`` float32 frames)."""
    return list(iter_interpolated(frames, factor, preset=preset, flow_frames=flow_frames))
