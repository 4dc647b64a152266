"""Calibrate an inverse camera response from bracketed exposures (Robertson et al. 2003).

REDS estimated its camera's inverse response this way (``cv2.createCalibrateRobertson``)
and released it as a 256×3 table; :func:`calibrate_inverse_crf` produces the same kind
of table from a static scene shot at several exposure times.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from lode_bench.errors import LodeBenchError, ShapeMismatchError
from lode_bench.io import read_image


class CalibrationError(LodeBenchError):
    """The exposures given to the calibration are unusable."""


def calibrate_inverse_crf(
    images: Sequence[np.ndarray],
    exposure_times: Sequence[float],
    *,
    max_iter: int = 30,
    threshold: float = 0.01,
    normalize: bool = True,
) -> np.ndarray:
    """Estimate a 256×3 inverse CRF with Robertson's method.

    Args:
        images: at least two H×W×3 uint8 RGB exposures of a static scene.
        exposure_times: exposure time of each image, in seconds (all > 0, distinct).
        max_iter: Robertson iterations.
        threshold: convergence threshold.
        normalize: divide by the value of code 128 averaged over channels, so tables
            from different calibrations are comparable (Robertson's scale is arbitrary).

    Returns:
        (256, 3) float64 inverse response, RGB order (code -> relative irradiance).
        Codes that no image contains are filled by linear interpolation.

    Raises:
        CalibrationError: too few images, bad times.
        ShapeMismatchError: images of different sizes.
    """
    if len(images) < 2:
        raise CalibrationError(f"need at least 2 exposures, got {len(images)}")
    if len(images) != len(exposure_times):
        raise CalibrationError(f"{len(images)} images but {len(exposure_times)} exposure times")
    times = np.asarray(exposure_times, dtype=np.float32)
    if not np.all(times > 0) or len(np.unique(times)) != len(times):
        raise CalibrationError(
            f"exposure times must be positive and distinct, got {list(exposure_times)}"
        )
    shape = images[0].shape
    bgr = []
    for i, img in enumerate(images):
        if img.shape != shape:
            raise ShapeMismatchError(f"exposure {i} has shape {img.shape}, exposure 0 has {shape}")
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise CalibrationError(f"exposure {i} must be H×W×3 uint8, got {img.dtype} {img.shape}")
        bgr.append(np.ascontiguousarray(img[..., ::-1]))
    calib = cv2.createCalibrateRobertson(max_iter, threshold)
    resp = calib.process(bgr, times)  # (256, 1, 3) float32, BGR
    table = np.asarray(resp, dtype=np.float64).reshape(256, 3)[:, ::-1].copy()
    codes = np.arange(256)
    for c in range(3):  # codes never observed come back NaN: interpolate between observed ones
        ok = np.isfinite(table[:, c])
        if ok.sum() < 16:
            raise CalibrationError(
                f"channel {'RGB'[c]}: only {int(ok.sum())} distinct codes observed; "
                "use a scene with more tonal range"
            )
        table[~ok, c] = np.interp(codes[~ok], codes[ok], table[ok, c])
    if normalize:
        ref = float(table[128].mean())
        if ref > 0:
            table /= ref
    return table


def calibrate_from_files(
    paths: Sequence[str | Path], exposure_times: Sequence[float], **kw: object
) -> np.ndarray:
    """Read exposures from files (any format :func:`read_image` accepts) and calibrate."""
    imgs = [read_image(p) for p in paths]
    for p, img in zip(paths, imgs, strict=True):
        if img.shape != imgs[0].shape:
            raise ShapeMismatchError(
                f"{p}: size {img.shape[:2]} differs from {paths[0]} {imgs[0].shape[:2]}"
            )
    return calibrate_inverse_crf(imgs, exposure_times, **kw)  # type: ignore[arg-type]
