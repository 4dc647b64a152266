"""Warp matrices: motion models, warping, valid regions, corner errors, plausibility.

Convention used throughout :mod:`lode_bench.align`: a warp ``W`` (3×3, float64) maps a
pixel ``p = (x, y, 1)`` of the *template* (the reference frame, normally the blurry
image) to the matching point ``W p`` of the *input* image (normally the sharp image).
This is the matrix :func:`cv2.findTransformECC` estimates, and the input is brought
into the template frame with ``WARP_INVERSE_MAP``. Pixel centres sit at integer
coordinates.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from lode_bench.errors import ConfigError, ShapeMismatchError

MotionModel = Literal["translation", "euclidean", "affine", "homography"]
MOTION_MODELS: tuple[str, ...] = ("translation", "euclidean", "affine", "homography")

_CV_MOTION = {
    "translation": cv2.MOTION_TRANSLATION,
    "euclidean": cv2.MOTION_EUCLIDEAN,
    "affine": cv2.MOTION_AFFINE,
    "homography": cv2.MOTION_HOMOGRAPHY,
}


def cv_motion_flag(motion: str) -> int:
    """OpenCV ``MOTION_*`` constant for a motion model name."""
    try:
        return int(_CV_MOTION[motion])
    except KeyError:
        raise ConfigError(f"motion must be one of {MOTION_MODELS}, not {motion!r}") from None


def to_3x3(warp: np.ndarray) -> np.ndarray:
    """A 2×3 or 3×3 warp as a 3×3 float64 matrix (last row ``0 0 1`` for 2×3)."""
    w = np.asarray(warp, dtype=np.float64)
    if w.shape == (3, 3):
        return w / w[2, 2] if w[2, 2] != 0 else w.copy()
    if w.shape == (2, 3):
        return np.vstack([w, [0.0, 0.0, 1.0]])
    raise ShapeMismatchError(f"warp must be 2×3 or 3×3, got shape {w.shape}")


def for_motion(warp: np.ndarray, motion: str) -> np.ndarray:
    """The float32 matrix OpenCV's ECC expects for ``motion`` (3×3 homography, else 2×3)."""
    w = to_3x3(warp)
    return (w if motion == "homography" else w[:2]).astype(np.float32)


def translation_warp(dx: float, dy: float) -> np.ndarray:
    """3×3 warp of a pure translation (template ``p`` → input ``p + (dx, dy)``)."""
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def rescale_warp(warp: np.ndarray, factor: float) -> np.ndarray:
    """Express a warp in coordinates scaled by ``factor`` (e.g. 0.5 for one ``pyrDown`` level).

    ``cv2.pyrDown`` keeps pixel ``2i`` of the finer level as pixel ``i`` of the coarser
    one, so coordinates scale by a plain factor: ``W' = S W S⁻¹`` with ``S = diag(f, f, 1)``.
    """
    s = np.diag([factor, factor, 1.0])
    si = np.diag([1.0 / factor, 1.0 / factor, 1.0])
    return s @ to_3x3(warp) @ si


def apply_warp(warp: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map N×2 points of the template through ``warp``; returns N×2 float64."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    h = np.hstack([pts, np.ones((len(pts), 1))]) @ to_3x3(warp).T
    return h[:, :2] / h[:, 2:3]


def image_corners(shape: tuple[int, ...]) -> np.ndarray:
    """The four corner pixel centres (x, y) of an image of shape (H, W, ...)."""
    h, w = shape[:2]
    return np.array([[0.0, 0.0], [w - 1.0, 0.0], [w - 1.0, h - 1.0], [0.0, h - 1.0]])


def corner_errors(estimated: np.ndarray, truth: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Distances (px, in the input frame) between the corners mapped by two warps; shape (4,)."""
    c = image_corners(shape)
    return np.linalg.norm(apply_warp(estimated, c) - apply_warp(truth, c), axis=1)


def warp_to_template(
    img: np.ndarray,
    warp: np.ndarray,
    out_shape: tuple[int, ...],
    *,
    interpolation: int = cv2.INTER_CUBIC,
    border: int = cv2.BORDER_REFLECT,
) -> np.ndarray:
    """Resample the input image into the template frame (H×W or H×W×C, any float/uint dtype).

    Args:
        img: input image (the one ``warp`` points into).
        warp: 2×3 or 3×3 template→input warp.
        out_shape: template shape; only (H, W) is used.
        interpolation: OpenCV interpolation flag.
        border: OpenCV border mode for pixels mapped outside the input.
    """
    h, w = out_shape[:2]
    m = to_3x3(warp)
    flags = interpolation | cv2.WARP_INVERSE_MAP
    src = np.ascontiguousarray(img)
    if src.dtype == np.float64 and interpolation == cv2.INTER_CUBIC:
        # OpenCV 5.0's INTER_CUBIC is wrong on CV_64F input (an identity warp moves values
        # by up to 1.0 on [0, 1] data); float32 is exact to ~1e-7 relative.
        src = src.astype(np.float32)
    if np.allclose(m[2], [0.0, 0.0, 1.0]):
        out = cv2.warpAffine(src, m[:2], (w, h), flags=flags, borderMode=border)
    else:
        out = cv2.warpPerspective(src, m, (w, h), flags=flags, borderMode=border)
    if img.ndim == 3 and out.ndim == 2:
        out = out[..., None]
    return out.astype(img.dtype, copy=False)


def valid_region(
    warp: np.ndarray, input_shape: tuple[int, ...], out_shape: tuple[int, ...], *, margin: int = 1
) -> np.ndarray:
    """Template pixels whose warped position falls inside the input image (H×W bool).

    ``margin`` erodes the region by that many pixels so that interpolation never reads
    the border extension.
    """
    h, w = out_shape[:2]
    ih, iw = input_shape[:2]
    m = to_3x3(warp)
    xs = np.arange(w, dtype=np.float64)[None, :]
    ys = np.arange(h, dtype=np.float64)[:, None]
    # separable: each row of W p is a (column term) + (row term) outer sum, no N×3 matrix
    den = (m[2, 0] * xs + m[2, 2]) + m[2, 1] * ys
    mx = ((m[0, 0] * xs + m[0, 2]) + m[0, 1] * ys) / den
    my = ((m[1, 0] * xs + m[1, 2]) + m[1, 1] * ys) / den
    ok: np.ndarray = (
        (mx >= margin) & (mx <= iw - 1 - margin) & (my >= margin) & (my <= ih - 1 - margin)
    )
    return ok


def largest_valid_rect(valid: np.ndarray) -> tuple[int, int, int, int] | None:
    """An axis-aligned rectangle of all-valid pixels, found by peeling the worst border line.

    Starts from the bounding box of ``valid`` and repeatedly removes the border row or
    column with the largest fraction of invalid pixels until none is left. For the
    convex regions that warps produce this gives the full-width/height inscribed
    rectangle up to a line or two.

    Returns:
        ``(y0, y1, x0, x1)`` (end-exclusive), or ``None`` when no valid pixel exists.
    """
    v = np.asarray(valid, dtype=bool)
    rows, cols = np.flatnonzero(v.any(axis=1)), np.flatnonzero(v.any(axis=0))
    if rows.size == 0:
        return None
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    while y1 > y0 and x1 > x0:
        sub = v[y0:y1, x0:x1]
        bad = {
            "top": 1.0 - sub[0].mean(),
            "bottom": 1.0 - sub[-1].mean(),
            "left": 1.0 - sub[:, 0].mean(),
            "right": 1.0 - sub[:, -1].mean(),
        }
        side = max(bad, key=lambda k: bad[k])
        if bad[side] == 0.0:
            return y0, y1, x0, x1
        if side == "top":
            y0 += 1
        elif side == "bottom":
            y1 -= 1
        elif side == "left":
            x0 += 1
        else:
            x1 -= 1
    return None


def implausibility(
    warp: np.ndarray, shape: tuple[int, ...], *, max_shift_frac: float = 0.25
) -> str | None:
    """Why a template→input warp is implausible for a captured pair, or ``None``.

    Checks: finite entries, corners moved by less than ``max_shift_frac`` of the
    image diagonal, a convex non-flipped warped quadrilateral, and an area ratio in
    [0.5, 2].
    """
    w = to_3x3(warp)
    if not np.all(np.isfinite(w)):
        return "warp has non-finite entries"
    h_, w_ = shape[:2]
    c = image_corners(shape)
    m = apply_warp(w, c)
    if not np.all(np.isfinite(m)):
        return "warp maps a corner to infinity"
    diag = float(np.hypot(h_, w_))
    shift = float(np.max(np.linalg.norm(m - c, axis=1)))
    if shift > max_shift_frac * diag:
        return f"corner moves {shift:.1f} px (> {max_shift_frac:g} of the diagonal)"
    edges = np.roll(m, -1, axis=0) - m
    cross = (
        edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1]
        - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
    )
    if not np.all(cross > 0):  # corners TL, TR, BR, BL turn the same way as the image frame
        return "warped frame is not convex or is mirrored"
    area = 0.5 * abs(float(np.sum(m[:, 0] * np.roll(m[:, 1], -1) - np.roll(m[:, 0], -1) * m[:, 1])))
    ratio = area / max((w_ - 1.0) * (h_ - 1.0), 1.0)
    if not 0.5 <= ratio <= 2.0:
        return f"warped area ratio {ratio:.2f} outside [0.5, 2]"
    return None
