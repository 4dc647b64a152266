"""One sample's blur-pattern row: kernel features (paired), flow curve, saturation, noise.

A row is plain data (a dict of numbers and strings) so it can be computed on any
executor and written as one CSV line. Columns computed from a single image by a blind
method are listed in the row's ``estimated`` field (``;``-separated), so a reader can
never take them for measurements.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lode_bench.analyze.kernel import estimate_kernel, kernel_features
from lode_bench.analyze.measures import (
    FLOW_THRESHOLDS,
    blind_extent,
    blurred_area_curve,
    flow_magnitude,
    noise_sigma,
    saturated_fraction,
)
from lode_bench.datasets.types import Sample
from lode_bench.errors import LodeBenchError
from lode_bench.io.images import read_image


def flow_column(t: float) -> str:
    """CSV column of the blurred-area fraction at flow threshold ``t`` px."""
    return f"blurred_frac_{t:g}px"


FEATURES = ("extent_px", "direction_deg", "anisotropy", "nonlinearity")
COLUMNS: tuple[str, ...] = (
    "dataset",
    "sample_id",
    "status",
    "error",
    "paired",
    "height",
    "width",
    "kernel_source",
    "n_patches",
    "n_patches_used",
    *FEATURES,
    "patch_extent_median_px",
    "patch_extent_p90_px",
    "residual_rms",
    "extent_blind_px",
    "blind_dip",
    "true_extent_px",
    "true_direction_deg",
    "saturated_frac",
    "noise_sigma",
    *[flow_column(t) for t in FLOW_THRESHOLDS],
    "estimated",
)


@dataclass(frozen=True)
class AnalyzeSettings:
    """Estimator settings (recorded with the results; a change invalidates resumed rows).

    Attributes:
        ksize: odd kernel side, px.
        patch: patch side, px (reduced to the image's short side when smaller).
        reg: Tikhonov weight relative to the spectral energy.
        floor: kernel values below ``floor · max`` are zeroed.
        blind: also compute the blind extent estimate on paired sets.
    """

    ksize: int = 31
    patch: int = 128
    reg: float = 3e-3
    floor: float = 0.05
    blind: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _empty_row(dataset: str, sample: Sample) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(COLUMNS, math.nan)
    row.update(
        dataset=dataset,
        sample_id=sample.id,
        status="ok",
        error="",
        paired=sample.sharp is not None,
        kernel_source="none",
        estimated="",
    )
    return row


def analyze_sample(dataset: str, sample: Sample, settings: AnalyzeSettings) -> dict[str, Any]:
    """The blur-pattern row of one sample (see :data:`COLUMNS`).

    Args:
        dataset: dataset label written in the row.
        sample: the sample (its sharp image is optional).
        settings: estimator settings.

    Returns:
        A dict with every column of :data:`COLUMNS`.

    Raises:
        LodeBenchError: unreadable images, or sharp and blurry sizes differ (named).
    """
    row = _empty_row(dataset, sample)
    blur = read_image(sample.blur, dtype="uint8")
    row["height"], row["width"] = int(blur.shape[0]), int(blur.shape[1])
    row["saturated_frac"] = saturated_fraction(blur)
    row["noise_sigma"] = noise_sigma(blur)
    estimated = ["noise_sigma"]
    if sample.sharp is None or settings.blind:
        row["extent_blind_px"], row["blind_dip"] = blind_extent(blur, max_len=settings.ksize + 9)
        estimated.append("extent_blind_px")
    if "kernel" in sample.arrays:
        try:
            truth = kernel_features(sample.array("kernel"))
            row["true_extent_px"], row["true_direction_deg"] = truth.extent_px, truth.direction_deg
        except LodeBenchError:
            pass
    if sample.sharp is not None:
        sharp = read_image(sample.sharp, dtype="uint8")
        if sharp.shape != blur.shape:
            raise LodeBenchError(
                f"{sample.sharp}: size {sharp.shape[1]}x{sharp.shape[0]} differs "
                f"from the blurry image {sample.blur} "
                f"({blur.shape[1]}x{blur.shape[0]})"
            )
        patch = min(settings.patch, min(blur.shape[:2]))
        if patch > 2 * settings.ksize:
            est = estimate_kernel(
                sharp,
                blur,
                ksize=settings.ksize,
                patch=patch,
                reg=settings.reg,
                floor=settings.floor,
            )
            row["n_patches"], row["n_patches_used"] = est.n_patches, len(est.patch_kernels)
            if len(est.patch_kernels):
                row["kernel_source"] = "paired-lsq"
                f = kernel_features(est.kernel)
                row.update({k: getattr(f, k) for k in FEATURES})
                per = np.array([kernel_features(k).extent_px for k in est.patch_kernels])
                per = per[np.isfinite(per)]
                if per.size:
                    row["patch_extent_median_px"] = float(np.median(per))
                    row["patch_extent_p90_px"] = float(np.percentile(per, 90))
                row["residual_rms"] = est.residual_rms
        curve = blurred_area_curve(flow_magnitude(sharp, blur))
        row.update({flow_column(t): v for t, v in zip(FLOW_THRESHOLDS, curve, strict=True)})
    row["estimated"] = ";".join(estimated)
    return row
