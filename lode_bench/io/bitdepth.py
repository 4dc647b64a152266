"""Bit depth of in-memory frames: the one rule every reader and writer shares."""

from __future__ import annotations

import numpy as np


def bit_depth_of(frame: np.ndarray) -> str:
    """``"8"`` (uint8), ``"16"`` (uint16) or ``"linear"`` (float linear light, e.g. RAW)."""
    return "8" if frame.dtype == np.uint8 else "16" if frame.dtype == np.uint16 else "linear"


def frame_peak(frame: np.ndarray) -> float:
    """Saturation value of a frame's type: 255, 65535, or 1.0 for float linear frames."""
    return 255.0 if frame.dtype == np.uint8 else 65535.0 if frame.dtype == np.uint16 else 1.0
