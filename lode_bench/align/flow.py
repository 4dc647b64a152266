"""Dense optical flow and LODE-style flow-magnitude masks, shared by ``align`` and ``synth``.

LODE marked a pixel as locally blurred where the optical-flow magnitude between the
frames of its exposure exceeds 0.25 px, computed with DeepFlow. Two flow methods:

* ``"dis"`` (default): OpenCV's DIS optical flow (:func:`cv2.DISOpticalFlow_create`),
  part of every OpenCV build;
* ``"deepflow"``: DeepFlow as LODE used it (``cv2.optflow.createOptFlow_DeepFlow``),
  from OpenCV's contrib modules: the ``opencv-contrib-python-headless`` package, which
  replaces ``opencv-python-headless`` (both install the ``cv2`` module). A clear
  :class:`FlowUnavailableError` names it when it is missing.

Flows run on 8-bit grey (BT.601) versions of the images.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import cv2
import numpy as np

from lode_bench.errors import ConfigError, ShapeMismatchError
from lode_bench.io.grey import GreyRule, grey_u8

FlowMethod = Literal["dis", "deepflow"]
FLOW_METHODS: tuple[str, ...] = ("dis", "deepflow")
LODE_FLOW_THRESHOLD = 0.25  # px; LODE's "optical mask" rule: flow magnitude > 0.25 px
CONTRIB_PACKAGE = "opencv-contrib-python-headless"


class FlowUnavailableError(ConfigError):
    """The requested optical-flow method needs an OpenCV build that is not installed."""


def deepflow_available() -> bool:
    """Whether ``cv2.optflow.createOptFlow_DeepFlow`` exists in the installed OpenCV."""
    return hasattr(getattr(cv2, "optflow", None), "createOptFlow_DeepFlow")


def check_flow_method(method: str) -> None:
    """Raise a one-line error for an unknown method or a missing DeepFlow."""
    if method not in FLOW_METHODS:
        raise ConfigError(f"flow method must be one of {', '.join(FLOW_METHODS)}, not {method!r}")
    if method == "deepflow" and not deepflow_available():
        raise FlowUnavailableError(
            f"flow method 'deepflow' needs OpenCV's contrib modules (cv2.optflow): "
            f"pip install {CONTRIB_PACKAGE} in place of opencv-python-headless, or use 'dis'"
        )


def optical_flow(
    a: np.ndarray, b: np.ndarray, method: FlowMethod = "dis", *, grey: GreyRule = "rint"
) -> np.ndarray:
    """Dense flow from ``a`` to ``b``, H×W×2 float32 (px): ``a(x) ≈ b(x + F(x))``.

    Args:
        a, b: images of the same size (RGB or grey; uint8, uint16 or float in [0, 1]).
        method: ``"dis"`` (DIS, medium preset) or ``"deepflow"``.
        grey: the 8-bit grey the flow is computed on (:func:`lode_bench.io.grey.grey_u8`).

    Raises:
        FlowUnavailableError: ``"deepflow"`` without OpenCV's contrib modules.
        ShapeMismatchError: when the sizes differ.
    """
    check_flow_method(method)
    if a.shape[:2] != b.shape[:2]:
        raise ShapeMismatchError(
            f"optical flow: images differ in size ({a.shape[:2]} vs {b.shape[:2]})"
        )
    g0, g1 = grey_u8(a, grey), grey_u8(b, grey)
    if method == "deepflow":
        engine = cv2.optflow.createOptFlow_DeepFlow()  # type: ignore[attr-defined]
    else:
        engine = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)  # type: ignore[attr-defined]
    return np.asarray(engine.calc(g0, g1, None), dtype=np.float32)


def flow_magnitude(
    a: np.ndarray, b: np.ndarray, method: FlowMethod = "dis", *, grey: GreyRule = "rint"
) -> np.ndarray:
    """Magnitude (px) of :func:`optical_flow` from ``a`` to ``b``, H×W float32."""
    f = optical_flow(a, b, method, grey=grey)
    return np.hypot(f[..., 0], f[..., 1]).astype(np.float32)


def window_flow_magnitude(
    frames: Sequence[np.ndarray], *, middle: int | None = None, method: FlowMethod = "dis"
) -> np.ndarray:
    """Largest flow magnitude (px) from the middle frame to the first and to the last frame.

    The motion of an exposure window seen from its reference frame, LODE's kind of
    "optical mask" map (its blurred region is ``> 0.25``), H×W float32.
    """
    mid = len(frames) // 2 if middle is None else middle
    out = np.zeros(frames[mid].shape[:2], dtype=np.float32)
    for j in sorted({0, len(frames) - 1} - {mid}):
        out = np.maximum(out, flow_magnitude(frames[mid], frames[j], method))
    return out


def flow_rule(threshold: float, method: str) -> str:
    """The mask rule in words, for manifests: ``"flow magnitude > 0.25 px (dis)"``."""
    return f"flow magnitude > {threshold:g} px ({method})"
