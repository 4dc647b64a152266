"""Geometric registration of a captured pair: initialisation, coarse-to-fine ECC, masking.

The estimated warp maps template pixels (the blurry image) to input pixels (the sharp
image); see :mod:`lode_bench.align.transforms`. Steps, following the RealBlur
ground-truth pipeline (PROTOCOLS §7):

1. **Initialisation** by phase correlation (a translation; falls back to identity when
   the peak is weak or the shift implausible) or by feature matching (SIFT + RANSAC
   fit of the requested motion model).
2. **Refinement** by ECC (:func:`cv2.findTransformECCWithMask`) on a Gaussian pyramid,
   coarse to fine, so that large offsets converge.
3. **Fallback**: when ECC fails or gives an implausible warp, translation-only ECC is
   tried before the pair is given up.
4. **Masking** (local blur): :func:`align_masked` alternates between estimating the
   warp on static pixels and re-estimating which pixels move (residual outliers), so
   moving, locally blurred objects do not steer the alignment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

import cv2
import numpy as np

from lode_bench.align.errors import AlignmentError
from lode_bench.align.masks import residual_outliers
from lode_bench.align.transforms import (
    MOTION_MODELS,
    MotionModel,
    cv_motion_flag,
    for_motion,
    implausibility,
    rescale_warp,
    to_3x3,
    translation_warp,
    valid_region,
    warp_to_template,
)
from lode_bench.errors import ConfigError
from lode_bench.io.grey import grey_float

InitMethod = Literal["phase", "features", "identity"]


@dataclass(frozen=True)
class GeometricConfig:
    """Settings of the geometric registration.

    Attributes:
        motion: motion model estimated by ECC.
        init: ``"phase"`` (phase correlation), ``"features"`` (SIFT + RANSAC) or
            ``"identity"``.
        iterations: maximum ECC iterations per pyramid level (RealBlur uses up to 300).
        eps: ECC stops when the correlation improves by less than this.
        gauss_filt_size: Gaussian pre-filter size inside ECC (odd; OpenCV default 5).
        coarsest_size: pyramid levels are added while the shorter side of the next
            level stays at or above this many pixels.
        max_levels: upper bound on pyramid levels (1 = full resolution only).
        max_shift_frac: warps moving a corner by more than this fraction of the
            diagonal are implausible.
        min_phase_response: phase-correlation peaks weaker than this are ignored.
        fallback: try translation-only ECC when the requested model fails.
        work_size: mask-weighted registration alternates on the coarsest pyramid level
            whose shorter side is still at least this many pixels (full resolution
            when the image is smaller than twice this).
        refine_iterations: ECC iteration limit of each finer level after that
            alternation: it starts within a fraction of a pixel, where a few
            Gauss–Newton steps reach the optimum (without a cap, ECC can keep
            oscillating just above ``eps`` for hundreds of iterations on large images).
    """

    motion: MotionModel = "homography"
    init: InitMethod = "phase"
    iterations: int = 300
    eps: float = 1e-7
    gauss_filt_size: int = 5
    coarsest_size: int = 96
    max_levels: int = 5
    max_shift_frac: float = 0.25
    min_phase_response: float = 0.03
    fallback: bool = True
    work_size: int = 240
    refine_iterations: int = 10

    def __post_init__(self) -> None:
        if self.motion not in MOTION_MODELS:
            raise ConfigError(f"motion must be one of {MOTION_MODELS}, not {self.motion!r}")
        if self.init not in ("phase", "features", "identity"):
            raise ConfigError(f"init must be phase, features or identity, not {self.init!r}")
        if self.gauss_filt_size < 1 or self.gauss_filt_size % 2 == 0:
            raise ConfigError("gauss_filt_size must be a positive odd integer")
        if self.iterations < 1 or self.refine_iterations < 1:
            raise ConfigError("iterations and refine_iterations must be at least 1")


@dataclass
class GeometricResult:
    """Outcome of a registration.

    Attributes:
        warp: 3×3 float64 template→input warp.
        correlation: final ECC correlation coefficient (on the pixels used).
        motion: motion model actually used (may be ``"translation"`` after fallback).
        init: initialisation actually used.
        static_mask: H×W bool template pixels treated as static (all valid ones
            without masking).
        notes: human-readable remarks (fallbacks taken, weak initialisation, ...).
    """

    warp: np.ndarray
    correlation: float
    motion: str
    init: str
    static_mask: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)


def cv_error_text(exc: BaseException) -> str:
    """The human part of an OpenCV error ("Iterations do not converge: NaN encountered.")."""
    text = " ".join(str(exc).split())
    m = re.search(r"error: \(-?\d+:([^)]*)\)\s*(.*?)(?: in function .*)?$", text)
    if m:
        return f"{m.group(1).strip()}: {m.group(2).strip()}".rstrip(": ")
    return text or type(exc).__name__


def _n_levels(shape: tuple[int, ...], cfg: GeometricConfig) -> int:
    levels, side = 1, min(shape[:2])
    while levels < cfg.max_levels and side // 2 >= cfg.coarsest_size:
        side //= 2
        levels += 1
    return levels


def _pyramid(img: np.ndarray, levels: int) -> list[np.ndarray]:
    pyr = [img]
    for _ in range(levels - 1):
        pyr.append(cv2.pyrDown(pyr[-1]))
    return pyr


def _mask_pyramid(
    mask: np.ndarray | None, shapes: list[tuple[int, ...]]
) -> list[np.ndarray | None]:
    if mask is None:
        return [None] * len(shapes)
    out: list[np.ndarray | None] = []
    m = mask.astype(np.uint8)
    for lvl, shp in enumerate(shapes):
        step = 2**lvl
        if lvl:  # a coarse pixel is static only if its whole footprint is
            m_l = cv2.erode(m, np.ones((step + 1, step + 1), np.uint8))[::step, ::step]
        else:
            m_l = m
        out.append(np.ascontiguousarray(m_l[: shp[0], : shp[1]]) * 255)
    return out


def grey_pyramids(
    template: np.ndarray, moving: np.ndarray, cfg: GeometricConfig, *, levels: int | None = None
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Float32 grey Gaussian pyramids (finest first) of a pair, computed once per pair.

    Args:
        template, moving: RGB or grey images (uint8/uint16/float in [0, 1]).
        cfg: sets the automatic depth (``coarsest_size``, ``max_levels``).
        levels: depth instead of the automatic one.
    """
    t, m = grey_float(template), grey_float(moving)
    n = levels or _n_levels(t.shape, cfg)
    return _pyramid(t, n), _pyramid(m, n)


def phase_correlation_init(
    template: np.ndarray, moving: np.ndarray, cfg: GeometricConfig | None = None
) -> tuple[np.ndarray, float, str | None]:
    """Translation warp from phase correlation (Hann-windowed, on a ≤512 px level).

    Returns:
        ``(warp, response, note)``: identity with a note when the peak is weaker than
        ``cfg.min_phase_response`` or the shift is implausible.
    """
    cfg = cfg or GeometricConfig()
    t, m = grey_float(template), grey_float(moving)
    h = min(t.shape[0], m.shape[0])
    w = min(t.shape[1], m.shape[1])
    t, m = t[:h, :w], m[:h, :w]
    f = 1.0
    while max(t.shape) > 512:
        t, m, f = cv2.pyrDown(t), cv2.pyrDown(m), f * 2.0
    window = cv2.createHanningWindow((t.shape[1], t.shape[0]), cv2.CV_32F)
    (dx, dy), response = cv2.phaseCorrelate(t, m, window)
    dx, dy = dx * f, dy * f
    if not np.isfinite(response) or response < cfg.min_phase_response:
        return (
            np.eye(3),
            float(response),
            f"phase correlation peak too weak ({response:.3f}); identity start",
        )
    if np.hypot(dx, dy) > cfg.max_shift_frac * np.hypot(h, w):
        return (
            np.eye(3),
            float(response),
            f"phase-correlation shift ({dx:.1f}, {dy:.1f}) implausible; identity start",
        )
    return translation_warp(dx, dy), float(response), None


def feature_init(
    template: np.ndarray,
    moving: np.ndarray,
    motion: str = "homography",
    *,
    template_mask: np.ndarray | None = None,
    max_side: int = 1024,
    min_inliers: int = 12,
) -> np.ndarray:
    """Warp of the requested motion model from SIFT matches (ratio test, RANSAC).

    Raises:
        AlignmentError: when too few consistent matches are found.
    """
    t8 = np.rint(grey_float(template) * 255).astype(np.uint8)
    m8 = np.rint(grey_float(moving) * 255).astype(np.uint8)
    f = 1.0
    while max(t8.shape) > max_side:
        t8, m8, f = cv2.pyrDown(t8), cv2.pyrDown(m8), f * 2.0
    mask8 = None
    if template_mask is not None:
        mask8 = cv2.resize(
            template_mask.astype(np.uint8) * 255,
            (t8.shape[1], t8.shape[0]),
            interpolation=cv2.INTER_NEAREST,
        )
    sift = cv2.SIFT_create(nfeatures=4000)  # type: ignore[attr-defined]
    kt, dt = sift.detectAndCompute(t8, mask8)
    km, dm = sift.detectAndCompute(m8, None)
    if dt is None or dm is None or len(kt) < min_inliers or len(km) < min_inliers:
        raise AlignmentError("feature matching: too few keypoints")
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(dt, dm, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.75 * p[1].distance]
    if len(good) < min_inliers:
        raise AlignmentError(f"feature matching: only {len(good)} distinctive matches")
    src = np.array([kt[g.queryIdx].pt for g in good], dtype=np.float32) * np.float32(f)
    dst = np.array([km[g.trainIdx].pt for g in good], dtype=np.float32) * np.float32(f)
    if motion == "translation":
        d = np.median(dst - src, axis=0)
        inl = np.linalg.norm(dst - src - d, axis=1) < 3.0 * f
        n_in, warp = int(inl.sum()), translation_warp(float(d[0]), float(d[1]))
    elif motion in ("euclidean", "affine"):
        est = cv2.estimateAffinePartial2D if motion == "euclidean" else cv2.estimateAffine2D
        a, inl = est(src, dst, method=cv2.RANSAC, ransacReprojThreshold=3.0 * f)
        if a is None:
            raise AlignmentError("feature matching: RANSAC found no consistent transform")
        if motion == "euclidean":  # drop the scale estimateAffinePartial2D allows
            a = np.asarray(a, dtype=np.float64)
            a[:, :2] = a[:, :2] / np.sqrt(abs(np.linalg.det(a[:, :2])))
        n_in, warp = int(inl.sum()), to_3x3(a)
    else:
        hm, inl = cv2.findHomography(src, dst, cv2.RANSAC, 3.0 * f)
        if hm is None:
            raise AlignmentError("feature matching: RANSAC found no consistent homography")
        n_in, warp = int(inl.sum()), to_3x3(hm)
    if n_in < min_inliers:
        raise AlignmentError(f"feature matching: only {n_in} RANSAC inliers")
    return warp


def ecc_refine(
    template: np.ndarray,
    moving: np.ndarray,
    warp: np.ndarray,
    cfg: GeometricConfig,
    *,
    motion: str | None = None,
    template_mask: np.ndarray | None = None,
    levels: int | None = None,
    finest: int = 0,
    pyramids: tuple[list[np.ndarray], list[np.ndarray]] | None = None,
    mask_level: int = 0,
) -> tuple[np.ndarray, float]:
    """Coarse-to-fine ECC refinement of ``warp``.

    Args:
        template: template image (RGB or grey, any dtype).
        moving: input image (same size or close to it).
        warp: starting template→input warp (2×3 or 3×3).
        cfg: iterations, tolerances, pyramid depth.
        motion: motion model (defaults to ``cfg.motion``).
        template_mask: H×W bool, pixels of the template allowed to contribute.
        levels: pyramid levels to use (defaults to the automatic depth).
        finest: stop at this pyramid level (0 = full resolution; 1 = half, a cheap
            intermediate estimate). The warp is always returned in full-resolution
            coordinates.
        pyramids: ``(template levels, input levels)`` of float32 grey images from
            :func:`grey_pyramids`, shared between calls on the same pair (the images
            are then not converted again); at least ``levels`` levels each.
        mask_level: pyramid level whose resolution ``template_mask`` has (0 = full);
            coarser levels derive their masks from it, ``finest`` must not be finer.

    Returns:
        ``(warp 3×3 float64, correlation)``.

    Raises:
        AlignmentError: when ECC fails at the finest level used.
    """
    motion = motion or cfg.motion
    flag = cv_motion_flag(motion)
    if pyramids is None:
        pyramids = grey_pyramids(template, moving, cfg, levels=levels)
    tp, mp = pyramids
    n = min(levels or _n_levels(tp[0].shape, cfg), len(tp), len(mp))
    finest = min(max(finest, 0), n - 1)
    tp, mp = tp[:n], mp[:n]
    if template_mask is not None and finest < mask_level:
        raise ConfigError(
            f"template_mask is given at level {mask_level}, finer level {finest} requested"
        )
    tm = [None] * mask_level + _mask_pyramid(template_mask, [x.shape for x in tp[mask_level:]])
    criteria = (
        cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS,
        int(cfg.iterations),
        float(cfg.eps),
    )
    w = to_3x3(warp)
    rho = float("nan")
    for lvl in range(n - 1, finest - 1, -1):
        f = 0.5**lvl
        w_l = for_motion(rescale_warp(w, f), motion)
        tm_l = tm[lvl]
        t_mask = tm_l if tm_l is not None else np.full(tp[lvl].shape, 255, np.uint8)
        m_mask = np.full(mp[lvl].shape, 255, np.uint8)
        try:
            rho, w_l = cv2.findTransformECCWithMask(
                tp[lvl], mp[lvl], t_mask, m_mask, w_l, flag, criteria, cfg.gauss_filt_size
            )
        except cv2.error as exc:
            if lvl == finest:
                raise AlignmentError(
                    f"ECC did not converge ({motion}): {cv_error_text(exc)}"
                ) from exc
            continue  # keep the previous estimate and try the finer level
        if not np.all(np.isfinite(w_l)) or not np.isfinite(rho):
            if lvl == finest:
                raise AlignmentError(f"ECC diverged ({motion}): non-finite warp")
            continue
        w = rescale_warp(to_3x3(w_l), 1.0 / f)
    return w, float(rho)


def _initial_warp(
    template: np.ndarray, moving: np.ndarray, cfg: GeometricConfig, template_mask: np.ndarray | None
) -> tuple[np.ndarray, str, list[str]]:
    notes: list[str] = []
    if cfg.init == "features":
        try:
            return (
                feature_init(template, moving, cfg.motion, template_mask=template_mask),
                "features",
                notes,
            )
        except AlignmentError as exc:
            notes.append(f"{exc}; phase correlation start")
    if cfg.init in ("phase", "features"):
        w, _, note = phase_correlation_init(template, moving, cfg)
        if note:
            notes.append(note)
            return w, "identity", notes
        return w, "phase", notes
    return np.eye(3), "identity", notes


def estimate_warp(
    template: np.ndarray,
    moving: np.ndarray,
    cfg: GeometricConfig | None = None,
    *,
    template_mask: np.ndarray | None = None,
    finest: int = 0,
    pyramids: tuple[list[np.ndarray], list[np.ndarray]] | None = None,
) -> GeometricResult:
    """Register ``moving`` onto ``template``: initialise, refine coarse to fine, fall back.

    Args:
        template: reference image (H×W×3 RGB or H×W grey; uint8 or float in [0, 1]).
        moving: image to align (same size, or within a few pixels of it).
        cfg: registration settings.
        template_mask: H×W bool; template pixels allowed to steer the alignment.
        finest: finest pyramid level refined (see :func:`ecc_refine`).
        pyramids: shared grey pyramids of the pair (see :func:`ecc_refine`).

    Returns:
        The registration result; ``notes`` list any fallback taken.

    Raises:
        AlignmentError: when neither the requested model nor the fallback succeeds.
    """
    cfg = cfg or GeometricConfig()
    if pyramids is None:
        pyramids = grey_pyramids(template, moving, cfg)
    w0, init_used, notes = _initial_warp(template, moving, cfg, template_mask)
    motions = [cfg.motion]
    if cfg.fallback and cfg.motion != "translation":
        motions.append("translation")
    errors: list[str] = []
    for motion in motions:
        try:
            w, rho = ecc_refine(
                template,
                moving,
                w0,
                cfg,
                motion=motion,
                template_mask=template_mask,
                finest=finest,
                pyramids=pyramids,
            )
        except AlignmentError as exc:
            errors.append(str(exc))
            continue
        why = implausibility(w, template.shape, max_shift_frac=cfg.max_shift_frac)
        if why:
            errors.append(f"{motion} warp implausible: {why}")
            continue
        if motion != cfg.motion:
            notes.append(f"fell back to translation ({'; '.join(errors)})")
        return GeometricResult(warp=w, correlation=rho, motion=motion, init=init_used, notes=notes)
    raise AlignmentError("; ".join(errors))


def align_masked(
    template: np.ndarray,
    moving: np.ndarray,
    cfg: GeometricConfig | None = None,
    *,
    rounds: int = 3,
    noise_k: float = 4.0,
    min_residual: float = 0.02,
    dilate_px: int = 5,
    min_area: int = 16,
) -> GeometricResult:
    """Mask-weighted registration that alternates warp and moving-region estimates.

    Round 0 registers with every pixel. Each further round warps ``moving`` with the
    current estimate, fits a grey-level gain/offset on the current static pixels,
    marks pixels whose smoothed residual is an outlier (robust noise threshold, see
    :func:`lode_bench.align.masks.residual_outliers`) as moving, and re-runs ECC from
    the current warp with those pixels excluded. Stops early when the moving mask is
    stable. The alternation (residuals and masks included) runs on the coarsest pyramid
    level whose shorter side is at least ``cfg.work_size`` pixels (full resolution for
    small images); the warp is then refined level by level to full resolution with the
    upsampled mask, ``cfg.refine_iterations`` ECC iterations at most per level. The
    grey pyramids are built once per pair and shared by every ECC pass.

    Args:
        template, moving, cfg: as in :func:`estimate_warp`.
        rounds: mask/warp alternations after the first registration.
        noise_k: outlier threshold in robust noise standard deviations.
        min_residual: lower bound on the threshold (grey level in [0, 1]).
        dilate_px: safety margin added around moving regions.
        min_area: moving components smaller than this (pixels) are ignored.

    Returns:
        The result; ``static_mask`` holds the final static template pixels.
    """
    cfg = cfg or GeometricConfig()
    pyr = grey_pyramids(template, moving, cfg)
    t, m = pyr[0][0], pyr[1][0]
    n = len(pyr[0])
    # alternate on a coarse level (the warp converges there; the moving region is found
    # on 4^work times fewer pixels), then refine level by level to full resolution
    work = 0
    while work + 1 < n and min(pyr[0][work + 1].shape) >= cfg.work_size:
        work += 1
    res = estimate_warp(template, moving, cfg, finest=work, pyramids=pyr)
    t_w, m_w = pyr[0][work], pyr[1][work]
    f = 0.5**work  # sizes given in full-resolution pixels are scaled by f
    moving_mask = np.zeros(t_w.shape, bool)
    fine_cfg = replace(cfg, fallback=False)
    for _ in range(rounds):
        w_w = rescale_warp(res.warp, f)
        valid = valid_region(w_w, m_w.shape, t_w.shape)
        warped = warp_to_template(m_w, w_w, t_w.shape, interpolation=cv2.INTER_LINEAR)
        new_moving = residual_outliers(
            t_w,
            warped,
            valid & ~moving_mask,
            noise_k=noise_k,
            min_residual=min_residual,
            smooth_sigma=1.5 * f,
            dilate_px=int(np.ceil(dilate_px * f)),
            min_area=max(1, int(round(min_area * f * f))),
        )
        changed = np.count_nonzero(new_moving ^ moving_mask)
        moving_mask = new_moving
        static = valid & ~moving_mask
        if static.mean() < 0.05:
            res.notes.append("masking left under 5 % static pixels; unmasked estimate kept")
            moving_mask[:] = False
            break
        try:
            w, rho = ecc_refine(
                template,
                moving,
                res.warp,
                fine_cfg,
                motion=res.motion,
                template_mask=static,
                levels=work + 1,
                finest=work,
                pyramids=pyr,
                mask_level=work,
            )
        except AlignmentError as exc:
            res.notes.append(f"masked refinement failed, previous estimate kept ({exc})")
            break
        if implausibility(w, t.shape, max_shift_frac=cfg.max_shift_frac) is None:
            res.warp, res.correlation = w, rho
        if changed <= 0.001 * t_w.size:
            break
    moving_full = moving_mask
    if work:
        up = cv2.resize(
            moving_mask.astype(np.uint8), (t.shape[1], t.shape[0]), interpolation=cv2.INTER_NEAREST
        )
        moving_full = cv2.dilate(up, np.ones((3, 3), np.uint8)).astype(bool)  # resampling margin
        last_cfg = replace(fine_cfg, iterations=cfg.refine_iterations)
        try:
            w, rho = ecc_refine(
                template,
                moving,
                res.warp,
                last_cfg,
                motion=res.motion,
                template_mask=~moving_full if moving_full.any() else None,
                levels=work,
                finest=0,
                pyramids=pyr,
            )
        except AlignmentError as exc:
            raise AlignmentError(f"full-resolution refinement failed: {exc}") from exc
        why = implausibility(w, t.shape, max_shift_frac=cfg.max_shift_frac)
        if why:
            raise AlignmentError(f"{res.motion} warp implausible: {why}")
        res.warp, res.correlation = w, rho
    res.static_mask = valid_region(res.warp, m.shape, t.shape) & ~moving_full
    return res
