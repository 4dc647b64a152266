"""Figures of ``lode-bench analyze``: per-dataset histograms and the cross-dataset comparison.

Drawn with matplotlib's object API on the Agg canvas (no pyplot state); each function
returns PNG bytes. Values from a blind estimate are labelled ``(estimated)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from lode_bench.analyze.measures import FLOW_THRESHOLDS
from lode_bench.analyze.sample import flow_column
from lode_bench.io.figures import figure_png as _png
from lode_bench.io.figures import mpl_text

if TYPE_CHECKING:
    from lode_bench.analyze.dataset import DatasetAnalysis


def _values(rows: Sequence[dict[str, Any]], column: str) -> np.ndarray:
    v = np.array([float(r[column]) for r in rows if r.get(column) is not None], dtype=float)
    return v[np.isfinite(v)]


def _extent(rows: Sequence[dict[str, Any]]) -> tuple[np.ndarray, bool]:
    """Kernel extents (paired LSQ) or, when there are none, blind extents (estimated)."""
    v = _values(rows, "extent_px")
    if v.size:
        return v, False
    return _values(rows, "extent_blind_px"), True


def _hist(
    ax: Any, v: np.ndarray, *, bins: Any, xlabel: str, title: str, empty: str = "no values"
) -> None:
    if v.size:
        ax.hist(v, bins=bins, color="#4a6fa5", edgecolor="#1d2330", linewidth=0.5)
    else:
        ax.text(
            0.5,
            0.5,
            empty,
            ha="center",
            va="center",
            transform=ax.transAxes,
            fontsize=8,
            color="#5b6478",
        )
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel("samples", fontsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)


def histogram_figure(a: DatasetAnalysis) -> bytes:
    """2×3 histograms: extent, direction, anisotropy, non-linearity, saturation, noise."""
    rows = a.ok_rows
    div = a.summary()["diversity"]
    paired_only = "no kernel: needs a sharp image (paired set)"
    fig = Figure(figsize=(10.5, 5.8))
    axes = fig.subplots(2, 3)
    ext, est = _extent(rows)
    top = max(8.0, float(np.ceil(ext.max() / 2) * 2)) if ext.size else 8.0
    _hist(
        axes[0, 0],
        ext,
        bins=np.arange(0, top + 2, 2),
        xlabel="blur extent (px)",
        title="extent" + (" (estimated, blind)" if est else " (paired least squares)"),
    )
    aniso = _values(rows, "anisotropy")
    direc = np.array(
        [
            float(r["direction_deg"])
            for r in rows
            if np.isfinite(float(r.get("direction_deg", math.nan)))
            and float(r.get("anisotropy", 0.0)) >= 0.3
        ]
    )
    _hist(
        axes[0, 1],
        direc,
        bins=np.arange(0, 181, 15),
        xlabel="direction (deg, CCW from +x)",
        title="direction (anisotropy ≥ 0.3)",
        empty=paired_only if est else "no values",
    )
    _hist(
        axes[0, 2],
        aniso,
        bins=np.linspace(0, 1, 11),
        xlabel="anisotropy 1 − λ₂/λ₁",
        title="anisotropy",
        empty=paired_only,
    )
    _hist(
        axes[1, 0],
        _values(rows, "nonlinearity"),
        bins=12,
        xlabel="non-linearity (curve RMS / extent)",
        title="trajectory non-linearity",
        empty=paired_only,
    )
    sat = 100 * _values(rows, "saturated_frac")
    _hist(
        axes[1, 1],
        sat,
        bins=np.linspace(0, max(1.0, float(sat.max()) if sat.size else 1.0), 11),
        xlabel="saturated pixels (%)",
        title="saturation (max channel ≥ 250)",
    )
    _hist(
        axes[1, 2],
        _values(rows, "noise_sigma"),
        bins=12,
        xlabel="noise σ (8-bit levels)",
        title="noise level (estimated)",
    )
    bits = div["diversity_bits"]
    fig.suptitle(
        mpl_text(
            f"{a.label}: {len(rows)} samples · diversity "
            f"{'n/a' if bits is None or not math.isfinite(bits) else f'{bits:.2f}'} bits"
            f" ({div['features']}{', estimated' if div['estimated'] else ''})"
        ),
        fontsize=10,
    )
    fig.tight_layout()
    return _png(fig)


def comparison_figure(analyses: Sequence[DatasetAnalysis]) -> bytes:
    """One figure across datasets: flow curve, extent distribution, diversity, noise."""
    fig = Figure(figsize=(11.0, 7.6))
    axes = fig.subplots(2, 2)
    ax = axes[0, 0]
    drawn = False
    for a in analyses:
        rows = a.ok_rows
        curve = []
        for t in FLOW_THRESHOLDS:
            v = _values(rows, flow_column(t))
            curve.append(float(v.mean()) if v.size else math.nan)
        if np.isfinite(curve).any():
            ax.plot(
                FLOW_THRESHOLDS,
                100 * np.array(curve),
                marker="o",
                markersize=3,
                label=mpl_text(a.label),
            )
            drawn = True
    ax.set_xlabel("flow-magnitude threshold (px)")
    ax.set_ylabel("blurred area (% of pixels above threshold)")
    ax.set_title("blurred-area ratio vs threshold (DIS flow, paired sets)", fontsize=9)
    ax.set_ylim(0, 102)
    ax.grid(alpha=0.3)
    if drawn:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no paired set", ha="center", va="center", transform=ax.transAxes)
    labels, data = [], []
    for a in analyses:
        v, est = _extent(a.ok_rows)
        labels.append(mpl_text(a.label + (" (est.)" if est else "")))
        data.append(v if v.size else np.array([np.nan]))
    ax = axes[0, 1]
    ax.boxplot(data, showfliers=True)
    ax.set_xticks(np.arange(1, len(labels) + 1), labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("blur extent (px)")
    ax.set_title("kernel extent per sample (second moment, √(12 λ₁))", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    ax = axes[1, 0]
    divs = [a.summary()["diversity"] for a in analyses]
    vals = [
        d["diversity_bits"]
        if d["diversity_bits"] is not None and math.isfinite(d["diversity_bits"])
        else 0.0
        for d in divs
    ]
    x = np.arange(len(analyses))
    bars = ax.bar(
        x,
        vals,
        color=["#c98a2b" if d["estimated"] else "#4a6fa5" for d in divs],
        edgecolor="#1d2330",
        linewidth=0.6,
    )
    for b, d in zip(bars, divs, strict=True):
        ax.annotate(
            f"n={d['n']}",
            (b.get_x() + b.get_width() / 2, b.get_height()),
            ha="center",
            va="bottom",
            fontsize=7,
        )
    ax.set_xticks(x, [mpl_text(a.label) for a in analyses], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("diversity (bits)")
    ax.set_title(
        "entropy of binned extent × direction × anisotropy (orange: blind extent only)", fontsize=8
    )
    ax.set_ylim(0, max(vals + [1.0]) * 1.2)
    ax.grid(axis="y", alpha=0.3)
    ax = axes[1, 1]
    ax.boxplot(
        [
            v if (v := _values(a.ok_rows, "noise_sigma")).size else np.array([np.nan])
            for a in analyses
        ],
        showfliers=True,
    )
    ax.set_xticks(
        np.arange(1, len(analyses) + 1),
        [mpl_text(a.label) for a in analyses],
        rotation=20,
        ha="right",
        fontsize=8,
    )
    ax.set_ylabel("noise σ (8-bit levels, estimated)")
    ax.set_title("noise level per sample (Immerkær)", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return _png(fig)
