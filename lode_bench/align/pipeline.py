"""Aligning one captured pair.

Per pair (template = the blurry image, whose pixels are kept as captured):

1. size check; geometric registration (per pair, mask-weighted for local blur) or the
   scene's reference warp plus a phase-correlation refinement of the residual shift;
2. photometric matching on the static valid pixels (direction configurable);
3. centroid alignment (global blur): the sharp image is shifted so that the blur
   kernel between the pair is centred (folded into the warp: one resampling only);
4. local-blur mask (local blur);
5. crop to the valid region, QC measures and flags.

A folder of pairs is handled by :func:`lode_bench.align.dataset.align_dataset`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from lode_bench.align.centroid import estimate_kernel, kernel_centroid
from lode_bench.align.errors import AlignmentError
from lode_bench.align.flow import flow_magnitude
from lode_bench.align.geometric import (
    GeometricConfig,
    align_masked,
    estimate_warp,
)
from lode_bench.align.masks import MaskConfig, blur_mask
from lode_bench.align.photometric import (
    PhotometricConfig,
    PhotometricMap,
    fit_photometric,
    identity_map,
)
from lode_bench.align.qc import (
    QCRecord,
    QCThresholds,
    apply_thresholds,
    masked_psnr,
)
from lode_bench.align.transforms import (
    largest_valid_rect,
    to_3x3,
    translation_warp,
    valid_region,
    warp_to_template,
)
from lode_bench.errors import ConfigError, LodeBenchError
from lode_bench.io import to_uint8
from lode_bench.io.grey import grey_float

Mode = Literal["per-pair", "per-scene"]


@dataclass(frozen=True)
class AlignConfig:
    """Settings of the whole alignment.

    Attributes:
        geometric, photometric, mask, qc: settings of each stage.
        local: local-blur pairs (mask-weighted registration, blur masks, no centroid
            alignment by default) instead of globally blurred pairs.
        mode: ``"per-pair"`` (a registration per pair) or ``"per-scene"`` (one
            geometric and photometric transform per scene from its reference pair,
            as RealBlur does).
        reference: name key of each scene's reference pair (default: first by name).
        refine_shift: in per-scene mode, refine each pair's residual shift by phase
            correlation.
        max_residual_shift: larger residual shifts (px) are ignored (noted).
        centroid: apply centroid alignment (``None``: on for global, off for local).
        kernel_size: side (px, odd) of the kernel estimated for centroid alignment.
        mask_rounds: mask/warp alternations of the mask-weighted registration.
    """

    geometric: GeometricConfig = field(default_factory=GeometricConfig)
    photometric: PhotometricConfig = field(default_factory=PhotometricConfig)
    mask: MaskConfig = field(default_factory=MaskConfig)
    qc: QCThresholds = field(default_factory=QCThresholds)
    local: bool = False
    mode: Mode = "per-pair"
    reference: str | None = None
    refine_shift: bool = True
    max_residual_shift: float = 8.0
    centroid: bool | None = None
    kernel_size: int = 65
    mask_rounds: int = 3

    def __post_init__(self) -> None:
        if self.mode not in ("per-pair", "per-scene"):
            raise ConfigError(f"mode must be per-pair or per-scene, not {self.mode!r}")
        if self.kernel_size < 3 or self.kernel_size % 2 == 0:
            raise ConfigError("kernel_size must be an odd integer ≥ 3")

    @property
    def use_centroid(self) -> bool:
        return (not self.local) if self.centroid is None else self.centroid


@dataclass
class SceneTransform:
    """The transforms measured on a scene's reference pair."""

    reference: str
    warp: np.ndarray
    photometric: PhotometricMap
    motion: str
    init: str
    notes: list[str] = field(default_factory=list)


@dataclass
class AlignedPair:
    """An aligned, cropped pair (uint8 RGB) with its mask, QC record and optional flow map.

    ``flow`` (H×W float32, px) is the flow magnitude from the blurry to the aligned
    sharp image when ``cfg.mask.save_flow`` is set (local mode).
    """

    blur: np.ndarray
    sharp: np.ndarray
    mask: np.ndarray | None
    record: QCRecord
    flow: np.ndarray | None = None


def _unit(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255.0
    if img.dtype == np.uint16:
        return img.astype(np.float32) / 65535.0
    return img.astype(np.float32)


def residual_shift(
    blur: np.ndarray, warped_sharp: np.ndarray, valid: np.ndarray
) -> tuple[float, float, float]:
    """Residual translation (dx, dy) of a warped sharp image and the phase-correlation response.

    Measured on the largest valid rectangle with a Hann window; ``warped(p + d) ≈ blur(p)``.
    """
    rect = largest_valid_rect(valid)
    if rect is None:
        return 0.0, 0.0, 0.0
    y0, y1, x0, x1 = rect
    t = grey_float(blur)[y0:y1, x0:x1]
    m = grey_float(warped_sharp)[y0:y1, x0:x1]
    win = cv2.createHanningWindow((t.shape[1], t.shape[0]), cv2.CV_32F)
    (dx, dy), resp = cv2.phaseCorrelate(t, m, win)
    return float(dx), float(dy), float(resp)


def _photometric(
    blur_f: np.ndarray, sharp_w: np.ndarray, fit_mask: np.ndarray, cfg: PhotometricConfig
) -> PhotometricMap:
    if cfg.method == "none" and not cfg.curve:
        return identity_map()
    if cfg.direction == "sharp-to-blur":
        return fit_photometric(sharp_w, blur_f, fit_mask, cfg)
    return fit_photometric(blur_f, sharp_w, fit_mask, cfg)


def _apply_photometric(
    blur_f: np.ndarray, sharp_w: np.ndarray, pm: PhotometricMap, cfg: PhotometricConfig
) -> tuple[np.ndarray, np.ndarray]:
    if cfg.direction == "sharp-to-blur":
        return blur_f, pm.apply(sharp_w).astype(np.float32)
    return pm.apply(blur_f).astype(np.float32), sharp_w


def estimate_scene_transform(
    blur: np.ndarray, sharp: np.ndarray, cfg: AlignConfig, reference: str
) -> SceneTransform:
    """Geometric and photometric transforms of a scene, measured on its reference pair.

    Raises:
        AlignmentError: when the reference pair cannot be registered.
    """
    g = (
        align_masked(blur, sharp, cfg.geometric, rounds=cfg.mask_rounds)
        if cfg.local
        else estimate_warp(blur, sharp, cfg.geometric)
    )
    blur_f = _unit(blur)
    sharp_w = warp_to_template(_unit(sharp), g.warp, blur.shape)
    valid = valid_region(g.warp, sharp.shape, blur.shape, margin=2)
    fit_mask = valid if g.static_mask is None else valid & g.static_mask
    pm = _photometric(blur_f, sharp_w, fit_mask, cfg.photometric)
    return SceneTransform(
        reference=reference,
        warp=g.warp,
        photometric=pm,
        motion=g.motion,
        init=g.init,
        notes=list(g.notes),
    )


def align_pair(
    blur: np.ndarray,
    sharp: np.ndarray,
    cfg: AlignConfig | None = None,
    *,
    record: QCRecord | None = None,
    scene: SceneTransform | None = None,
) -> AlignedPair | None:
    """Align one pair; returns ``None`` (with ``record`` marked failed) when it cannot.

    Args:
        blur: H×W×3 blurry image (template; uint8/uint16/float [0, 1]).
        sharp: sharp image of (nearly) the same size.
        cfg: settings.
        record: QC record to fill (a fresh one is made when omitted).
        scene: per-scene mode: the scene's reference transforms.

    Returns:
        The cropped pair in uint8 with its mask (local) and filled record, or ``None``.
    """
    cfg = cfg or AlignConfig()
    rec = record or QCRecord(id="", scene="", blur_source="", sharp_source="")
    t_start = time.perf_counter()
    try:
        return _align_pair(blur, sharp, cfg, rec, scene)
    except AlignmentError as exc:
        rec.fail("alignment_failed", str(exc))
    except (LodeBenchError, ValueError, cv2.error) as exc:
        rec.fail("error", f"{type(exc).__name__}: {exc}")
    finally:
        rec.seconds = time.perf_counter() - t_start
    return None


def _align_pair(
    blur: np.ndarray,
    sharp: np.ndarray,
    cfg: AlignConfig,
    rec: QCRecord,
    scene: SceneTransform | None,
) -> AlignedPair | None:
    bh, bw = blur.shape[:2]
    sh, sw = sharp.shape[:2]
    rec.size = [bh, bw]
    lim = cfg.qc.max_size_ratio
    if abs(bh - sh) > lim * bh or abs(bw - sw) > lim * bw:
        rec.fail(
            "size_mismatch",
            f"blur is {bw}×{bh} but sharp is {sw}×{sh} (sizes may differ by at most {lim:.0%})",
        )
        return None
    blur_f, sharp_f = _unit(blur), _unit(sharp)
    static_hint: np.ndarray | None = None
    if scene is None:
        g = (
            align_masked(blur, sharp, cfg.geometric, rounds=cfg.mask_rounds)
            if cfg.local
            else estimate_warp(blur, sharp, cfg.geometric)
        )
        warp, static_hint = g.warp, g.static_mask
        rec.motion, rec.init, rec.notes = g.motion, g.init, list(g.notes)
    else:
        warp = scene.warp
        rec.motion, rec.init = scene.motion, f"scene reference {scene.reference}"
        rec.notes = list(scene.notes)
        if cfg.refine_shift:
            sharp_w = warp_to_template(sharp_f, warp, blur.shape, interpolation=cv2.INTER_LINEAR)
            dx, dy, resp = residual_shift(
                blur, sharp_w, valid_region(warp, sharp.shape, blur.shape)
            )
            if (
                np.hypot(dx, dy) <= cfg.max_residual_shift
                and resp >= cfg.geometric.min_phase_response
            ):
                warp = to_3x3(warp) @ translation_warp(dx, dy)
            else:
                rec.notes.append(
                    f"residual shift ({dx:.2f}, {dy:.2f}) rejected (response {resp:.3f})"
                )
    if any("fell back" in n for n in rec.notes):
        rec.flag("fallback_translation")

    valid = valid_region(warp, sharp.shape, blur.shape, margin=2)
    if valid.mean() < 0.05:
        rec.fail(
            "no_overlap", f"the warped sharp image covers only {valid.mean():.1%} of the frame"
        )
        return None
    sharp_w = warp_to_template(sharp_f, warp, blur.shape)
    fit_mask = valid if static_hint is None else valid & static_hint
    pm = (
        scene.photometric
        if scene is not None
        else _photometric(blur_f, sharp_w, fit_mask, cfg.photometric)
    )
    blur_a, sharp_a = _apply_photometric(blur_f, sharp_w, pm, cfg.photometric)

    if cfg.use_centroid:
        rect = largest_valid_rect(valid)
        if rect is not None:
            y0, y1, x0, x1 = rect
            try:
                k = estimate_kernel(
                    blur_a[y0:y1, x0:x1], sharp_a[y0:y1, x0:x1], size=cfg.kernel_size
                )
                dx, dy = kernel_centroid(k)
                rec.centroid_shift = [dx, dy]
                warp = to_3x3(warp) @ translation_warp(-dx, -dy)  # out(x) = sharp_w(x − c)
                valid = valid_region(warp, sharp.shape, blur.shape, margin=2)
                sharp_w = warp_to_template(sharp_f, warp, blur.shape)
                blur_a, sharp_a = _apply_photometric(blur_f, sharp_w, pm, cfg.photometric)
            except (LodeBenchError, ValueError) as exc:
                rec.notes.append(f"centroid alignment skipped: {exc}")
                rec.flag("centroid_failed")
    rec.warp = [float(v) for v in to_3x3(warp).ravel()]
    rec.gain = [float(v) for v in pm.gain]
    rec.offset = [float(v) for v in pm.offset]

    flow = (
        flow_magnitude(blur_a, sharp_a, cfg.mask.flow_method)
        if cfg.local and cfg.mask.uses_flow
        else None
    )
    mask = blur_mask(blur_a, sharp_a, valid, cfg.mask, flow=flow) if cfg.local else None
    rect = largest_valid_rect(valid)
    if rect is None or rect[1] - rect[0] < 16 or rect[3] - rect[2] < 16:
        rec.fail("no_overlap", "no usable common valid region after warping")
        return None
    y0, y1, x0, x1 = rect
    rec.crop = [y0, y1, x0, x1]
    static = valid.copy()
    if mask is not None:
        static &= ~cv2.dilate(mask.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    sc = static[y0:y1, x0:x1]
    t_grey = grey_float(blur_a[y0:y1, x0:x1])
    s_grey = grey_float(sharp_a[y0:y1, x0:x1])
    rec.correlation = (
        float(cv2.computeECC(t_grey, s_grey, sc.astype(np.uint8) * 255))
        if sc.any()
        else float("nan")
    )
    rec.static_psnr = masked_psnr(blur_a[y0:y1, x0:x1], sharp_a[y0:y1, x0:x1], sc)
    out_mask = None
    if mask is not None:
        out_mask = mask[y0:y1, x0:x1]
        rec.mask_coverage = float(out_mask.mean())
    apply_thresholds(rec, cfg.qc, local=cfg.local)
    if rec.status == "failed":
        return None
    out_flow = (
        np.ascontiguousarray(flow[y0:y1, x0:x1], dtype=np.float32)
        if flow is not None and cfg.mask.save_flow
        else None
    )
    return AlignedPair(
        blur=to_uint8(blur_a[y0:y1, x0:x1]),
        sharp=to_uint8(sharp_a[y0:y1, x0:x1]),
        mask=out_mask,
        record=rec,
        flow=out_flow,
    )
