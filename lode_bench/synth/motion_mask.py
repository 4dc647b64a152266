"""Local blur from real static-camera footage: motion mask from the frames, feathered blend.

The mask of moving pixels comes from the frames of the window themselves:

* ``diff``: the largest absolute difference (over frames and channels, after a small
  Gaussian pre-blur against sensor noise) to the middle frame, above ``diff_threshold``
  (in 8-bit code units);
* ``flow``: optical-flow magnitude from the middle frame to the first and the last
  frame above ``flow_threshold`` pixels (LODE's rule: > 0.25 px), with DIS or, as LODE,
  DeepFlow (``flow_method``; see :mod:`lode_bench.align.flow`, shared with ``align``);
* ``both`` (default): the union. Differences alone miss slow, low-contrast motion
  (a frame-to-middle difference under the threshold can still leave the window
  average tens of levels away from the middle frame).

It is cleaned by a morphological opening (removes specks), a closing (fills holes) and
a dilation, then feathered with a Gaussian of ``feather_sigma`` px. Inside the feathered
weight ``w`` the blurry image is ``w * average + (1 - w) * middle`` in linear space;
where ``w == 0`` it *is* the middle frame, bit for bit. The saved mask is ``w > 0``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from lode_bench.align.flow import FlowMethod, check_flow_method, flow_rule, window_flow_magnitude
from lode_bench.align.masks import clean_mask
from lode_bench.capture.response import CameraResponse
from lode_bench.errors import ConfigError
from lode_bench.synth.averaging import FrameAccumulator, quantize

MaskMethod = Literal["diff", "flow", "both"]
FEATHER_CUTOFF = 1e-3  # feather weights below this are set to 0 (finite support)


@dataclass(frozen=True)
class MotionMaskParams:
    """Settings of :func:`motion_mask` (all sizes in pixels)."""

    method: MaskMethod = "both"
    diff_threshold: float = 12.0
    flow_threshold: float = 0.25
    flow_method: FlowMethod = "dis"
    preblur_sigma: float = 1.0
    open_px: int = 2
    close_px: int = 5
    dilate_px: int = 3
    feather_sigma: float = 3.0

    def __post_init__(self) -> None:
        if self.method not in ("diff", "flow", "both"):
            raise ConfigError(f"mask.method: unknown value {self.method!r} (diff, flow, both)")
        if self.method != "diff":
            try:
                check_flow_method(self.flow_method)
            except ConfigError as exc:
                raise type(exc)(f"mask.flow_method: {exc}") from None
        for key in ("open_px", "close_px", "dilate_px"):
            if getattr(self, key) < 0:
                raise ConfigError(f"mask.{key}: must be >= 0")


def mask_rule(params: MotionMaskParams) -> str:
    """The motion rule of ``params`` in words (recorded in manifests), before morphology."""
    diff = f"max |frame − middle| > {params.diff_threshold:g} (8-bit, σ {params.preblur_sigma:g} pre-blur)"
    flow = flow_rule(params.flow_threshold, params.flow_method) + ", middle → first/last frame"
    return {"diff": diff, "flow": flow, "both": f"{flow} or {diff}"}[params.method]


def motion_mask(
    frames: Sequence[np.ndarray], params: MotionMaskParams, *, middle: int | None = None
) -> np.ndarray:
    """Binary H×W mask of pixels that move during the window.

    Args:
        frames: H×W×3 uint8 RGB frames of one window.
        params: thresholds and morphology.
        middle: index of the reference frame (default: the middle one).
    """
    mid = len(frames) // 2 if middle is None else middle
    ref = frames[mid]
    h, w = ref.shape[:2]
    mask = np.zeros((h, w), dtype=bool)
    if params.method in ("diff", "both"):

        def pre(f: np.ndarray) -> np.ndarray:
            x: np.ndarray = f.astype(np.float32)
            if params.preblur_sigma > 0:
                x = cv2.GaussianBlur(x, (0, 0), params.preblur_sigma)
            return x

        r = pre(ref)
        diff = np.zeros((h, w), dtype=np.float32)
        for i, f in enumerate(frames):
            if i != mid:
                diff = np.maximum(diff, np.abs(pre(f) - r).max(axis=2))
        mask |= diff > params.diff_threshold
    if params.method in ("flow", "both"):
        mask |= (
            window_flow_magnitude(frames, middle=mid, method=params.flow_method)
            > params.flow_threshold
        )
    return clean_mask(
        mask,
        open_radius=params.open_px,
        close_radius=params.close_px,
        fill_holes=False,
        min_area=0,
        dilate_px=params.dilate_px,
        pad_close=False,
    )


def feather(mask: np.ndarray, sigma: float) -> np.ndarray:
    """Soft weight in [0, 1]: 1 inside ``mask``, Gaussian fall-off outside, exactly 0 far away."""
    m = mask.astype(np.float64)
    if sigma <= 0:
        return m
    w = cv2.GaussianBlur(m, (0, 0), sigma)
    w = np.maximum(w, m)
    w[w < FEATHER_CUTOFF] = 0.0
    return w


def blend_local_blur(
    frames: Sequence[np.ndarray],
    weight: np.ndarray,
    response: CameraResponse,
    *,
    middle: int | None = None,
    average_linear: np.ndarray | None = None,
) -> np.ndarray:
    """Blur only where ``weight > 0``; elsewhere return the middle frame unchanged.

    Args:
        frames: H×W×3 uint8 window.
        weight: H×W soft mask in [0, 1].
        response: linear space of the averaging.
        middle: reference frame index (default middle).
        average_linear: precomputed linear average (e.g. from interpolated frames).

    Returns:
        H×W×3 uint8 blurry image.
    """
    mid = len(frames) // 2 if middle is None else middle
    sharp = frames[mid]
    if average_linear is None:
        acc = FrameAccumulator(response)
        for f in frames:
            acc.add(f)
        average_linear = acc.mean_linear()
    w = weight[..., None]
    lin = w * average_linear + (1.0 - w) * response.to_linear(sharp)
    out = quantize(response.from_linear(lin))
    inside = weight > 0
    result = sharp.copy()
    result[inside] = out[inside]
    return result
