"""Quality control of aligned pairs: per-pair record, thresholds, CSV table, overview image.

Statuses: ``ok`` (no flag), ``flagged`` (written, but a check failed: see ``flags``),
``failed`` (not written; ``reason`` says why). Failed pairs are listed in the QC table
and the manifest, never dropped silently.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from lode_bench.errors import ShapeMismatchError
from lode_bench.io import atomic_write_bytes, atomic_write_text, read_image, read_mask
from lode_bench.io.csvcells import safe_cell


@dataclass(frozen=True)
class QCThresholds:
    """Limits that flag (or fail) a pair.

    Attributes:
        fail_correlation: ECC correlation below this fails the pair (no real overlap).
        min_correlation: ECC correlation below this flags the pair.
        min_static_psnr: residual PSNR (dB) on the static region below this flags it
            (``None`` disables; globally blurred pairs have a low residual by nature).
        max_mask_coverage: local-blur masks covering more of the frame are flagged.
        min_crop_fraction: a common valid region smaller than this fraction of the
            frame is flagged.
        max_size_ratio: blur and sharp sizes differing by more than this fraction
            (in height or width) fail the pair.
    """

    fail_correlation: float = 0.5
    min_correlation: float = 0.8
    min_static_psnr: float | None = 25.0
    max_mask_coverage: float = 0.5
    min_crop_fraction: float = 0.7
    max_size_ratio: float = 0.05


@dataclass
class QCRecord:
    """Everything measured about one pair (one row of the QC table).

    Attributes:
        id, scene: sample id (``<scene>/<key>``) and scene name.
        blur_source, sharp_source: input files, relative to the input folder.
        status: ``ok``, ``flagged`` or ``failed``; ``flags`` say which checks failed
            and ``reason`` why a pair failed.
        motion, init: motion model and initialisation used.
        warp: final template→input warp (row-major 3×3; includes the centroid shift).
        correlation: ECC correlation (``cv2.computeECC``) between the grey blurry image
            and the aligned, photometrically matched sharp image over the static
            pixels of the crop.
        static_psnr: PSNR (dB, data range 1) of the same pair over the same pixels.
        mask_coverage: fraction of the crop marked as locally blurred (local mode).
        gain, offset: per-channel photometric map ([0, 1] units), in ``direction``.
        centroid_shift: (dx, dy) px applied by centroid alignment (empty when off).
        crop: ``[y0, y1, x0, x1]`` of the written region in the blurry frame.
        size: blurry image size ``[H, W]``; ``seconds``: processing time.
    """

    id: str
    scene: str
    blur_source: str
    sharp_source: str
    status: str = "ok"
    flags: list[str] = field(default_factory=list)
    reason: str = ""
    motion: str = ""
    init: str = ""
    warp: list[float] = field(default_factory=list)
    correlation: float = float("nan")
    static_psnr: float = float("nan")
    mask_coverage: float = float("nan")
    gain: list[float] = field(default_factory=list)
    offset: list[float] = field(default_factory=list)
    centroid_shift: list[float] = field(default_factory=list)
    crop: list[int] = field(default_factory=list)
    size: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = float("nan")

    def fail(self, flag: str, reason: str) -> QCRecord:
        """Mark as failed with a flag and a reason; returns self."""
        self.status = "failed"
        if flag not in self.flags:
            self.flags.append(flag)
        self.reason = reason
        return self

    def flag(self, flag: str) -> None:
        """Add a flag (status becomes ``flagged`` unless failed)."""
        if flag not in self.flags:
            self.flags.append(flag)
        if self.status == "ok":
            self.status = "flagged"

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (NaN becomes ``None``)."""
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, float) and not np.isfinite(v):
                out[k] = None
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> QCRecord:
        names = {f.name for f in fields(cls)}
        kw: dict[str, Any] = {
            k: (float("nan") if v is None and k in _FLOAT_FIELDS else v)
            for k, v in d.items()
            if k in names
        }
        return cls(**kw)


_FLOAT_FIELDS = {"correlation", "static_psnr", "mask_coverage", "seconds"}


def masked_psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PSNR (dB, float64, data range 1) of two [0, 1] images over the pixels of ``mask``.

    The MSE is averaged over masked pixels and all channels; identical images give
    ``inf``; an empty mask gives ``nan``.
    """
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise ShapeMismatchError(f"shapes differ: {x.shape} vs {y.shape}")
    d2 = (x - y) ** 2
    if d2.ndim == 3:
        d2 = d2.mean(axis=2)
    m = np.ones(d2.shape, bool) if mask is None else mask.astype(bool)
    if not m.any():
        return float("nan")
    mse = float(d2[m].mean())
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def apply_thresholds(rec: QCRecord, th: QCThresholds, *, local: bool) -> None:
    """Flag (or fail) a measured record according to ``th``."""
    if rec.status == "failed":
        return
    if np.isfinite(rec.correlation) and rec.correlation < th.fail_correlation:
        rec.fail(
            "no_overlap",
            f"ECC correlation {rec.correlation:.3f} < {th.fail_correlation} "
            "(images do not overlap or do not show the same scene)",
        )
        return
    if np.isfinite(rec.correlation) and rec.correlation < th.min_correlation:
        rec.flag("low_correlation")
    if local and th.min_static_psnr is not None and rec.static_psnr < th.min_static_psnr:
        rec.flag("low_static_psnr")
    if local and rec.mask_coverage > th.max_mask_coverage:
        rec.flag("large_mask")
    if rec.crop and rec.size:
        area = (rec.crop[1] - rec.crop[0]) * (rec.crop[3] - rec.crop[2])
        if area < th.min_crop_fraction * rec.size[0] * rec.size[1]:
            rec.flag("small_crop")


CSV_COLUMNS = [
    "id",
    "scene",
    "status",
    "flags",
    "reason",
    "correlation",
    "static_psnr",
    "mask_coverage",
    "motion",
    "init",
    "warp",
    "gain",
    "offset",
    "centroid_shift",
    "crop",
    "size",
    "seconds",
    "blur_source",
    "sharp_source",
    "notes",
]


def qc_table_csv(records: Sequence[QCRecord]) -> str:
    """The QC table as CSV text (one row per pair; lists as JSON, flags ``;``-joined)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in records:
        d = r.to_json()
        row: dict[str, Any] = {}
        for c in CSV_COLUMNS:
            v = d[c]
            if c == "flags":
                v = ";".join(v)
            elif c == "notes":
                v = " | ".join(v)
            elif isinstance(v, list):
                v = json.dumps([round(x, 8) if isinstance(x, float) else x for x in v])
            elif isinstance(v, float):
                v = f"{v:.6g}"
            elif v is None:
                v = ""
            row[c] = safe_cell(v)  # no spreadsheet formulas from pair names
        w.writerow(row)
    return buf.getvalue()


def write_qc_csv(path: str | Path, records: Sequence[QCRecord]) -> Path:
    """Write the QC table atomically."""
    return atomic_write_text(path, qc_table_csv(records))


def _thumb(img: np.ndarray, max_side: int = 360) -> np.ndarray:
    step = max(1, int(np.ceil(max(img.shape[:2]) / max_side)))
    return img[::step, ::step]


def render_overview(
    path: str | Path,
    records: Sequence[QCRecord],
    files: dict[str, dict[str, Path]],
    *,
    count: int = 6,
) -> Path:
    """PNG overview: the ``count`` worst written pairs (lowest static PSNR) and failures.

    Each row shows the blurry image, the aligned sharp image, the absolute difference
    (×4, clipped) and, when present, the mask. Failed pairs are listed with reasons.

    Args:
        path: output PNG.
        records: all QC records.
        files: pair id → {"blur": path, "sharp": path, "mask": path?} of written pairs.
        count: number of pairs to show.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    written = [r for r in records if r.status != "failed" and r.id in files]
    written.sort(key=lambda r: r.static_psnr if np.isfinite(r.static_psnr) else -np.inf)
    shown = written[:count]
    failed = [r for r in records if r.status == "failed"]
    rows = max(len(shown), 1) + (1 if failed else 0)
    fig = Figure(figsize=(13, 2.8 * rows))
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 4, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    if not shown:
        axes[0, 0].text(0, 0.5, "no written pairs", fontsize=11)
    for i, r in enumerate(shown):
        f = files[r.id]
        b = read_image(f["blur"], dtype="float32")
        s = read_image(f["sharp"], dtype="float32")
        diff = np.clip(np.abs(b - s).max(axis=2) * 4.0, 0, 1)
        axes[i, 0].imshow(_thumb(b))
        axes[i, 0].set_title(f"{r.id}  blur", fontsize=8)
        axes[i, 1].imshow(_thumb(s))
        axes[i, 1].set_title("aligned sharp", fontsize=8)
        axes[i, 2].imshow(_thumb(diff), cmap="inferno", vmin=0, vmax=1)
        axes[i, 2].set_title(
            f"|diff|×4  PSNR_static {r.static_psnr:.2f} dB  ρ {r.correlation:.4f}", fontsize=8
        )
        if "mask" in f:
            axes[i, 3].imshow(
                _thumb(read_mask(f["mask"]).astype(float)), cmap="gray", vmin=0, vmax=1
            )
            axes[i, 3].set_title(f"mask ({r.mask_coverage:.1%})", fontsize=8)
        axes[i, 3].text(
            0.0,
            -0.12,
            ", ".join(r.flags) or "ok",
            transform=axes[i, 3].transAxes,
            fontsize=8,
            color="crimson" if r.flags else "green",
        )
    if failed:
        lines = [
            f"{r.id}: {r.reason[:110]}{'…' if len(r.reason) > 110 else ''}" for r in failed[:20]
        ]
        if len(failed) > 20:
            lines.append(f"... and {len(failed) - 20} more (see qc.csv)")
        axes[-1, 0].text(
            0,
            1,
            f"FAILED ({len(failed)})\n" + "\n".join(lines),
            va="top",
            fontsize=8,
            family="monospace",
            transform=axes[-1, 0].transAxes,
        )
    fig.subplots_adjust(left=0.01, right=0.99, top=0.94, bottom=0.04, wspace=0.04, hspace=0.35)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    return atomic_write_bytes(path, buf.getvalue())
