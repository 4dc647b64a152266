"""Moving-region and local-blur masks from an aligned pair.

Two sources of evidence, usable alone or combined:

* **Background subtraction**: the per-pixel absolute difference between the blurry
  image and the photometrically matched, aligned sharp image (maximum over channels),
  smoothed by a Gaussian, then thresholded. The threshold is absolute, or automatic:
  ``median + k · 1.4826 · MAD`` of the smoothed difference over the frame (the static
  background dominates, so this measures the noise), never below ``min_diff``.
* **Flow magnitude**: dense optical flow (DIS, or DeepFlow as LODE used it; see
  :mod:`lode_bench.align.flow`) between the aligned images, thresholded in pixels
  (LODE marks flow magnitude > 0.25 px between video frames; between a blurry and a
  sharp image the flow is noisier, hence a larger default). The magnitude map can be
  kept (``save_flow``) and is written as a ``.npy`` next to the PNG mask.

The binary result is cleaned by morphology (opening removes specks, closing and
hole filling make objects solid) and components below a minimum area are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from lode_bench.align.flow import (
    FLOW_METHODS,
    FlowMethod,
    check_flow_method,
    flow_magnitude,
    flow_rule,
)
from lode_bench.errors import ConfigError, ShapeMismatchError

MaskMethod = Literal["diff", "flow", "union", "intersection"]

CLIP_LEVEL = 250 / 255  # a pixel this bright in any channel may be clipped


@dataclass(frozen=True)
class MaskConfig:
    """Settings of :func:`blur_mask`.

    Attributes:
        method: ``"diff"`` (background subtraction), ``"flow"``, or their ``"union"``
            / ``"intersection"``.
        diff_threshold: absolute threshold on the smoothed difference (image units in
            [0, 1]); ``None`` for the automatic noise-based threshold.
        noise_k: automatic threshold in robust noise standard deviations.
        min_diff: lower bound of the automatic threshold ([0, 1] units).
        hysteresis: ratio of the low to the high threshold; pixels above the low one
            are kept when connected to pixels above the high one (1 = no hysteresis).
        smooth_sigma: Gaussian sigma (px) applied to the difference before thresholding.
        tolerance_px: misalignment tolerance (px): a difference detection is kept only
            when its region also holds change that no shift of up to this many pixels
            explains (see :func:`difference_map`), so bright point sources and sharp
            edges left by sub-pixel misalignment raise no false detections (0 = off).
        support_fraction, support_pixels: a detection (8-connected, after opening) is
            kept when at least ``max(support_pixels, support_fraction · area)`` of its
            pixels show such unexplained change.
        flow_threshold: flow magnitude (px) above which a pixel moves.
        open_radius: radius (px) of the opening that removes isolated detections.
        close_radius: radius (px) of the closing that joins fragments of one object.
        fill_holes: fill enclosed holes of each region.
        min_area: regions smaller than this many pixels are dropped.
        dilate_px: extra dilation of the final mask (0 = none).
        flow_method: ``"dis"`` or ``"deepflow"`` (OpenCV contrib modules needed).
        hull_flow_fill: add the pixels inside each detected region's convex hull whose
            flow magnitude exceeds ``hull_flow_threshold``: the interior of a large
            smooth moving object differs little between the images (only its swept
            border does), while the flow there still moves.
        hull_flow_threshold: flow magnitude (px) of that fill.
        save_flow: keep the flow-magnitude map (LODE's kind of map; its blurred region
            is ``> 0.25`` px) to write it next to the mask.
    """

    method: MaskMethod = "diff"
    diff_threshold: float | None = None
    noise_k: float = 6.0
    min_diff: float = 0.04
    hysteresis: float = 0.85
    smooth_sigma: float = 2.0
    tolerance_px: int = 1
    support_fraction: float = 0.02
    support_pixels: int = 5
    flow_threshold: float = 1.0
    open_radius: int = 2
    close_radius: int = 9
    fill_holes: bool = True
    min_area: int = 200
    dilate_px: int = 0
    flow_method: FlowMethod = "dis"
    hull_flow_fill: bool = True
    hull_flow_threshold: float = 2.0
    save_flow: bool = False

    def __post_init__(self) -> None:
        if self.method not in ("diff", "flow", "union", "intersection"):
            raise ConfigError(
                f"mask method must be diff, flow, union or intersection, not {self.method!r}"
            )
        if self.min_area < 0 or self.open_radius < 0 or self.close_radius < 0 or self.dilate_px < 0:
            raise ConfigError("mask radii and min_area must be non-negative")
        if self.tolerance_px < 0 or self.support_pixels < 0 or not 0 <= self.support_fraction <= 1:
            raise ConfigError(
                "tolerance_px and support_pixels must be >= 0, support_fraction in [0, 1]"
            )
        if self.flow_method not in FLOW_METHODS:
            raise ConfigError(
                f"flow method must be one of {FLOW_METHODS}, not {self.flow_method!r}"
            )
        if self.uses_flow:
            check_flow_method(self.flow_method)

    @property
    def uses_flow(self) -> bool:
        """Whether the flow magnitude is computed (for the mask or to be saved)."""
        return self.method != "diff" or self.save_flow or self.hull_flow_fill

    def rule(self) -> str:
        """The detection rule in words (recorded in manifests), before morphology."""
        diff = (
            "smoothed |blur − sharp| > automatic noise threshold"
            if self.diff_threshold is None
            else f"smoothed |blur − sharp| > {self.diff_threshold:g}"
        )
        flow = flow_rule(self.flow_threshold, self.flow_method)
        rule = {
            "diff": diff,
            "flow": flow,
            "union": f"{diff} or {flow}",
            "intersection": f"{diff} and {flow}",
        }[self.method]
        if self.hull_flow_fill:
            rule += (
                f"; inside each region's convex hull also "
                f"{flow_rule(self.hull_flow_threshold, self.flow_method)}"
            )
        return rule


def disk(radius: int) -> np.ndarray:
    """Elliptical (disk) structuring element of ``2·radius + 1`` px: every mask's morphology."""
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _as_float(img: np.ndarray) -> np.ndarray:
    x = np.asarray(img)
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    if x.dtype == np.uint16:
        return x.astype(np.float32) / 65535.0
    return x.astype(np.float32)


def robust_threshold(values: np.ndarray, *, k: float, floor: float) -> float:
    """``max(floor, median + k · 1.4826 · MAD)`` of a 1-D sample."""
    if values.size == 0:
        return float(floor)
    med = float(np.median(values))
    mad = float(np.median(np.abs(values - med)))
    return max(float(floor), med + k * 1.4826 * mad)


def hysteresis_threshold(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Pixels above ``low`` that are 8-connected to at least one pixel above ``high``."""
    weak = values > min(low, high)
    if not weak.any():
        return weak
    n, labels = cv2.connectedComponents(weak.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(labels[values > high])] = True
    keep[0] = False
    return keep[labels]


def remove_small(mask: np.ndarray, min_area: int) -> np.ndarray:
    """Drop 8-connected components of ``mask`` smaller than ``min_area`` pixels."""
    if min_area <= 1 or not mask.any():
        return mask.astype(bool)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area
    return keep[labels]


def fill_mask_holes(mask: np.ndarray) -> np.ndarray:
    """Fill background regions not 4-connected to the image border (as ``binary_fill_holes``)."""
    m = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), np.uint8)
    m[1:-1, 1:-1] = mask.astype(bool)
    cv2.floodFill(m, None, (0, 0), 2, flags=4)  # the padded frame touches all outside background
    out: np.ndarray = m[1:-1, 1:-1] != 2
    return out


def clean_mask(
    mask: np.ndarray,
    *,
    open_radius: int,
    close_radius: int,
    fill_holes: bool,
    min_area: int,
    dilate_px: int = 0,
    pad_close: bool = True,
) -> np.ndarray:
    """Opening, closing, hole filling, small-component removal, optional dilation.

    The one mask clean-up of ``align`` (pair masks) and ``synth`` (window motion masks).

    Args:
        mask: H×W bool (or 0/1) mask.
        open_radius, close_radius, dilate_px: disk radii (px); 0 skips the step.
        fill_holes: fill regions not connected to the border.
        min_area: drop 8-connected components smaller than this (px).
        pad_close: close on a zero-padded copy, so that the image border does not
            hold regions open (``align``); ``False`` closes in place, OpenCV's border
            rule, as the ``synth`` motion masks were made.
    """
    m: np.ndarray = mask.astype(np.uint8)
    if open_radius:
        m = cv2.morphologyEx(m, cv2.MORPH_OPEN, disk(open_radius))
    if close_radius and not pad_close:
        m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, disk(close_radius))
    elif close_radius:
        pad = close_radius + 1  # closing near the border must not be clipped by it
        m = cv2.copyMakeBorder(m, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        m = cv2.morphologyEx(m, cv2.MORPH_CLOSE, disk(close_radius))[pad:-pad, pad:-pad]
    out = m.astype(bool)
    if fill_holes:
        out = fill_mask_holes(out)
    out = remove_small(out, min_area)
    if dilate_px:
        out = cv2.dilate(out.astype(np.uint8), disk(dilate_px)).astype(bool)
    return out


def difference_map(
    blur: np.ndarray, sharp: np.ndarray, *, smooth_sigma: float = 2.0, tolerance_px: int = 0
) -> np.ndarray:
    """Smoothed absolute difference (max over channels), H×W float32 in [0, 1] units.

    Args:
        blur, sharp: the aligned pair (uint8 or float [0, 1]).
        smooth_sigma: Gaussian sigma (px) applied to the difference.
        tolerance_px: a blurry value inside the [min, max] of the sharp image over a
            ``(2·tolerance_px + 1)``² neighbourhood counts as unchanged; the difference is
            the distance to that interval. Residual sub-pixel misalignment then leaves no
            trace at edges and point sources (0 = plain difference).
    """
    b, s = _as_float(blur), _as_float(sharp)
    if tolerance_px > 0:
        k = np.ones((2 * tolerance_px + 1,) * 2, np.uint8)
        hi, lo = cv2.dilate(s, k), cv2.erode(s, k)
        d = np.maximum(np.maximum(b - hi, lo - b), 0.0)
    else:
        d = np.abs(b - s)
    if d.ndim == 3:
        d = d.max(axis=2)
    if smooth_sigma > 0:
        d = cv2.GaussianBlur(d, (0, 0), smooth_sigma)
    return d


def blur_mask(
    blur: np.ndarray,
    sharp: np.ndarray,
    valid: np.ndarray | None = None,
    cfg: MaskConfig | None = None,
    *,
    flow: np.ndarray | None = None,
) -> np.ndarray:
    """Binary mask of the locally blurred (moving) region of an aligned pair.

    Args:
        blur: H×W×3 blurry image (uint8 or float [0, 1]).
        sharp: H×W×3 sharp image, already aligned and photometrically matched to ``blur``.
        valid: H×W bool; pixels outside it are never marked (default: all valid).
        cfg: thresholds and morphology.
        flow: the flow magnitude (px, H×W) if already computed by :func:`lode_bench.align.flow.flow_magnitude`.

    Returns:
        H×W bool mask (True = blurred/moving).
    """
    cfg = cfg or MaskConfig()
    if blur.shape[:2] != sharp.shape[:2]:
        raise ShapeMismatchError(f"blur {blur.shape} and sharp {sharp.shape} differ in size")
    valid = np.ones(blur.shape[:2], bool) if valid is None else valid.astype(bool)
    parts: list[np.ndarray] = []
    if cfg.method in ("diff", "union", "intersection"):
        d = difference_map(blur, sharp, smooth_sigma=cfg.smooth_sigma)
        thr = cfg.diff_threshold
        if thr is None:
            thr = robust_threshold(d[valid], k=cfg.noise_k, floor=cfg.min_diff)
        parts.append(hysteresis_threshold(d, thr * cfg.hysteresis, thr))
        if cfg.tolerance_px > 0:
            # change that a shift of up to tolerance_px cannot explain
            dt = difference_map(
                blur, sharp, smooth_sigma=cfg.smooth_sigma, tolerance_px=cfg.tolerance_px
            )
            # pixels near clipping in either image are no evidence: a star saturated in
            # one image and not the other differs whatever the alignment
            hot = (_as_float(blur).max(axis=-1) >= CLIP_LEVEL) | (
                _as_float(sharp).max(axis=-1) >= CLIP_LEVEL
            )
            hot = cv2.dilate(hot.astype(np.uint8), disk(2)).astype(bool)
            support = (dt > thr) & valid & ~hot
    if cfg.method in ("flow", "union", "intersection"):
        fm = flow if flow is not None else flow_magnitude(blur, sharp, cfg.flow_method)
        parts.append(fm > cfg.flow_threshold)
    raw = parts[0]
    for p in parts[1:]:
        raw = raw | p if cfg.method == "union" else raw & p
    raw &= valid
    if cfg.tolerance_px > 0 and cfg.method in ("diff", "union", "intersection"):
        # drop the detections (before closing merges them) that a shift of at most
        # tolerance_px explains: bright point sources and sharp edges after sub-pixel
        # misalignment or interpolation
        if cfg.open_radius:
            raw = cv2.morphologyEx(
                raw.astype(np.uint8), cv2.MORPH_OPEN, disk(cfg.open_radius)
            ).astype(bool)
        raw = keep_supported(
            raw, support, min_fraction=cfg.support_fraction, min_pixels=cfg.support_pixels
        )
    out = clean_mask(
        raw,
        open_radius=cfg.open_radius,
        close_radius=cfg.close_radius,
        fill_holes=cfg.fill_holes,
        min_area=cfg.min_area,
        dilate_px=0 if cfg.hull_flow_fill else cfg.dilate_px,
    )
    if cfg.hull_flow_fill and out.any():
        fm = flow if flow is not None else flow_magnitude(blur, sharp, cfg.flow_method)
        inner = convex_hulls(out) & (fm > cfg.hull_flow_threshold) & valid
        out = clean_mask(
            out | inner,
            open_radius=0,
            close_radius=cfg.close_radius,
            fill_holes=cfg.fill_holes,
            min_area=cfg.min_area,
            dilate_px=cfg.dilate_px,
        )
    return out & valid


def keep_supported(
    mask: np.ndarray, support: np.ndarray, *, min_fraction: float, min_pixels: int
) -> np.ndarray:
    """The 8-connected regions of ``mask`` holding at least ``max(min_pixels, min_fraction ·
    area)`` pixels of ``support`` (H×W bool each)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if n <= 1:
        return mask.astype(bool)
    counts = np.bincount(labels[support], minlength=n)
    need = np.maximum(min_pixels, min_fraction * stats[:, cv2.CC_STAT_AREA])
    keep = counts >= need
    keep[0] = False
    return keep[labels]


def convex_hulls(mask: np.ndarray) -> np.ndarray:
    """Union of the filled convex hulls of the 8-connected components of ``mask`` (H×W bool)."""
    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    out = np.zeros(mask.shape, np.uint8)
    for c in contours:
        cv2.fillConvexPoly(out, cv2.convexHull(c), 1)
    return out.astype(bool)


def residual_outliers(
    template: np.ndarray,
    warped: np.ndarray,
    static: np.ndarray,
    *,
    noise_k: float = 4.0,
    min_residual: float = 0.02,
    smooth_sigma: float = 1.5,
    dilate_px: int = 5,
    min_area: int = 16,
) -> np.ndarray:
    """Moving pixels for mask-weighted registration (H×W bool, generous by design).

    A grey-level gain/offset mapping ``warped`` onto ``template`` is fitted by least
    squares on the ``static`` pixels; the absolute residual is smoothed, thresholded
    at ``max(min_residual, median + noise_k · 1.4826 · MAD)`` of the static residuals,
    opened to remove specks, and dilated by ``dilate_px`` as a safety margin.

    Args:
        template: H×W float grey template in [0, 1].
        warped: H×W float grey input already warped into the template frame.
        static: H×W bool pixels currently believed static and valid.
    """
    s = static.astype(bool)
    if s.sum() < 16:
        return np.zeros(template.shape, bool)
    ts, ws = template[s].astype(np.float64), warped[s].astype(np.float64)
    wc = ws - ws.mean()
    # least squares by element-wise sums: BLAS calls (np.dot, lstsq) stall on busy machines
    var = float((wc * wc).sum())
    gain = float((wc * (ts - ts.mean())).sum()) / var if var > 1e-12 else 1.0
    offset = float(ts.mean()) - gain * float(ws.mean())
    r = np.abs(
        template.astype(np.float32)
        - (np.float32(gain) * warped.astype(np.float32) + np.float32(offset))
    )
    if smooth_sigma > 0:
        r = cv2.GaussianBlur(r, (0, 0), smooth_sigma)
    thr = robust_threshold(r[s], k=noise_k, floor=min_residual)
    out = clean_mask(
        r > thr,
        open_radius=1,
        close_radius=3,
        fill_holes=True,
        min_area=min_area,
        dilate_px=dilate_px,
    )
    return out
