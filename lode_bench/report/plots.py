"""Report plots, drawn with matplotlib's object API on the Agg canvas (no pyplot state).

Each function returns PNG bytes (write them with :func:`lode_bench.io.atomic_write_bytes`),
so plotting stays thread-safe and never touches a display.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from lode_bench.io.figures import figure_png, mpl_text
from lode_bench.report.stats import pareto_front
from lode_bench.report.summary import SummaryTable


def _arrow(higher: bool) -> str:
    return "↑" if higher else "↓"


def unit_of(column: str) -> str:
    """The unit of a metric or timing column: ``dB`` for PSNR variants, ``s`` for runtimes."""
    c = column.lower()
    if "psnr" in c:
        return "dB"
    if c in ("runtime", "runtime_s") or c.endswith("_s"):
        return "s"
    return ""


def axis_label(column: str, higher: bool | None = None, *, prefix: str = "") -> str:
    """``"PSNR (dB) ↑"``: the column, its unit when it has one, and its direction."""
    unit = unit_of(column)
    text = f"{prefix}{column}" + (f" ({unit})" if unit else "")
    return mpl_text(text + (f" {_arrow(higher)}" if higher is not None else ""))


def _finite_or_nan(v: float) -> float:
    return v if math.isfinite(v) else math.nan


def metric_bars(table: SummaryTable, column: str) -> bytes:
    """Bar chart of one metric's means with their bootstrap intervals as error bars.

    Infinite means (identical images) are drawn as missing bars and labelled ``inf``.
    """
    models = [r.model for r in table.rows]
    ivs = [r.metrics[column] for r in table.rows]
    means = np.array([_finite_or_nan(iv.mean) for iv in ivs])
    low = np.array([_finite_or_nan(iv.low) for iv in ivs])
    high = np.array([_finite_or_nan(iv.high) for iv in ivs])
    err = np.vstack([np.nan_to_num(means - low), np.nan_to_num(high - means)])
    fig = Figure(figsize=(max(4.0, 0.8 * len(models) + 2), 3.4))
    ax = fig.add_subplot()
    x = np.arange(len(models))
    best = table.best(column)
    colours = ["#c0392b" if i in best else "#4a6fa5" for i in range(len(models))]
    ax.bar(
        x,
        np.nan_to_num(means),
        yerr=err,
        color=colours,
        capsize=4,
        edgecolor="#1d2330",
        linewidth=0.6,
    )
    finite = means[np.isfinite(means)]
    if finite.size:
        lo = np.nanmin(np.where(np.isfinite(low), low, means))
        hi = np.nanmax(np.where(np.isfinite(high), high, means))
        pad = max(1e-6, 0.15 * (hi - lo) if hi > lo else 0.05 * abs(hi) + 1e-3)
        ax.set_ylim(lo - pad, hi + pad)
    for i, iv in enumerate(ivs):
        if math.isinf(iv.mean):
            ax.annotate("inf", (i, ax.get_ylim()[1]), ha="center", va="top", fontsize=8)
    ax.set_xticks(x, [mpl_text(m) for m in models], rotation=30, ha="right")
    ax.set_ylabel(axis_label(column, table.directions[column]))
    ax.set_title(mpl_text(f"{table.title}: {column} (mean, 95% CI)"), fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return figure_png(fig)


def pareto_figure(table: SummaryTable, column: str) -> Figure:
    """Quality versus runtime per image, the Pareto front (no method both faster and better)
    drawn as a line through its members.

    Rows whose runtime is not an inference time (precomputed ``folder`` outputs) are left
    out; the identity baseline is drawn as a grey reference but is never on the front.
    Every point label is placed inside the axes.
    """
    higher = table.directions[column]
    fig = Figure(figsize=(5.6, 4.0))
    ax = fig.add_subplot()
    pts = []
    for r in table.rows:
        rt, q = r.runtime_s, r.metrics[column].mean
        if r.runtime_measured and math.isfinite(rt) and math.isfinite(q) and rt >= 0:
            pts.append((r, rt, q))
    ranked = [(rt, q) if r.runtime_ranked else (math.nan, math.nan) for r, rt, q in pts]
    front = pareto_front(ranked, higher_quality=higher)
    log_x = bool(pts) and all(rt > 0 for _, rt, _ in pts)
    for k, (r, rt, q) in enumerate(pts):
        ref = not r.runtime_ranked
        ax.scatter(
            [rt],
            [q],
            s=40,
            zorder=3,
            marker="x" if ref else "o",
            color="#8a93a6" if ref else ("#c0392b" if k in front else "#4a6fa5"),
        )
    if front:
        ax.plot(
            [pts[k][1] for k in front],
            [pts[k][2] for k in front],
            color="#c0392b",
            linewidth=1.6,
            marker="o",
            markerfacecolor="none",
            markersize=10,
            zorder=2,
            label="Pareto front (no method faster and better)",
        )
        ax.legend(fontsize=7, loc="lower right" if higher else "upper right")
    if log_x:
        ax.set_xscale("log")
    _fit_limits(ax, [rt for _, rt, _ in pts], [q for _, _, q in pts], log_x)
    for r, rt, q in pts:
        _label_inside(ax, r.model, rt, q, log_x)
    ax.set_xlabel(mpl_text("runtime per image (s) ↓"))
    ax.set_ylabel(axis_label(column, higher))
    title = f"{table.title}: quality vs runtime"
    left_out = [r.model for r in table.rows if not r.runtime_measured]
    if left_out:
        title += f"\n(not timed, precomputed: {', '.join(left_out)})"
    ax.set_title(mpl_text(title), fontsize=9)
    ax.grid(alpha=0.3)
    return fig


def _fit_limits(ax: Axes, xs: list[float], ys: list[float], log_x: bool) -> None:
    """Axis limits with room around the points (for their labels)."""
    if not xs:
        return
    if log_x:
        lo, hi = math.log10(min(xs)), math.log10(max(xs))
        pad = max(0.25, 0.15 * (hi - lo))
        ax.set_xlim(10 ** (lo - pad), 10 ** (hi + pad))
    else:
        lo, hi = min(xs), max(xs)
        pad = max(1e-3, 0.15 * (hi - lo), 0.1 * abs(hi))
        ax.set_xlim(lo - pad, hi + pad)
    lo, hi = min(ys), max(ys)
    pad = max(1e-3, 0.18 * (hi - lo), 0.02 * abs(hi))
    ax.set_ylim(lo - pad, hi + pad)


def _label_inside(ax: Axes, text: str, x: float, y: float, log_x: bool) -> None:
    """Annotate ``(x, y)`` on the side that keeps the label inside the axes."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    fx = (
        (math.log10(x) - math.log10(x0)) / (math.log10(x1) - math.log10(x0))
        if log_x
        else (x - x0) / (x1 - x0)
    )
    fy = (y - y0) / (y1 - y0)
    right = fx > 0.55
    below = fy > 0.8
    ax.annotate(
        mpl_text(text),
        (x, y),
        textcoords="offset points",
        xytext=(-6 if right else 6, -6 if below else 6),
        fontsize=8,
        ha="right" if right else "left",
        va="top" if below else "bottom",
        annotation_clip=True,
    )


def pareto_plot(table: SummaryTable, column: str) -> bytes:
    """:func:`pareto_figure` as PNG bytes."""
    return figure_png(pareto_figure(table, column))


def distribution_plot(results: pd.DataFrame, table: SummaryTable, column: str) -> bytes:
    """Per-image distribution of ``column`` per method: box plot plus the individual points."""
    sel = results[
        (results["dataset_hash"] == table.dataset_hash)
        & (results["protocol"] == table.protocol)
        & (results["protocol_version"] == table.protocol_version)
        & (results["status"] == "ok")
    ]
    models = [r.model for r in table.rows]
    data = []
    for m in models:
        v = pd.to_numeric(sel.loc[sel["model"] == m, column], errors="coerce").to_numpy(float)
        data.append(v[np.isfinite(v)])
    fig = Figure(figsize=(max(4.0, 0.8 * len(models) + 2), 3.6))
    ax = fig.add_subplot()
    ax.boxplot([d if d.size else np.array([np.nan]) for d in data], showfliers=False)
    rng = np.random.default_rng(0)
    for i, d in enumerate(data):
        ax.scatter(i + 1 + rng.uniform(-0.15, 0.15, d.size), d, s=8, alpha=0.6, color="#1d2330")
    ax.set_xticks(
        np.arange(1, len(models) + 1), [mpl_text(m) for m in models], rotation=30, ha="right"
    )
    ax.set_ylabel(axis_label(column, table.directions[column]))
    ax.set_title(mpl_text(f"{table.title}: per-image {column}"), fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return figure_png(fig)


def gain_vs_coverage_plot(
    gains: pd.DataFrame, metric: str, *, baseline: str = "identity", title: str = ""
) -> bytes:
    """Per-image gain over the baseline against blur-mask coverage (local blur).

    Args:
        gains: output of :func:`lode_bench.report.summary.per_image_gain`.
        metric: the metric the gains are of.
        baseline: name of the baseline model (for the axis label).
        title: plot title.
    """
    fig = Figure(figsize=(5.6, 3.8))
    ax = fig.add_subplot()
    g = gains.dropna(subset=["mask_coverage"])
    for model, sub in g.groupby("model", sort=True):
        ax.scatter(
            100 * sub["mask_coverage"].to_numpy(float),
            sub["gain"].to_numpy(float),
            s=18,
            alpha=0.8,
            label=mpl_text(model),
        )
    ax.axhline(0.0, color="#5b6478", linewidth=0.8)
    ax.set_xlabel("blur-mask coverage (% of pixels)")
    unit = unit_of(metric)
    ax.set_ylabel(mpl_text(f"{metric} gain over {baseline}" + (f" ({unit})" if unit else "")))
    ax.set_title(mpl_text(title or f"{metric} gain versus mask coverage"), fontsize=9)
    if not g.empty:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return figure_png(fig)


def heatmap_plot(
    matrix: pd.DataFrame,
    *,
    metric: str,
    higher: bool = True,
    in_domain: pd.DataFrame | None = None,
    title: str = "",
) -> bytes:
    """Annotated heatmap of a (rows × test sets) matrix; in-domain cells get a frame.

    Args:
        matrix: values, index = row labels (e.g. ``model [train: set]``), columns = test sets.
        metric: what the values are.
        higher: whether larger values are better (sets the colour direction).
        in_domain: boolean frame of the same shape marking train set == test set.
        title: plot title.
    """
    vals = matrix.to_numpy(dtype=float)
    fig = Figure(figsize=(1.4 * vals.shape[1] + 3.0, 0.55 * vals.shape[0] + 1.8))
    ax = fig.add_subplot()
    finite = np.where(np.isfinite(vals), vals, np.nan)
    lo = float(np.nanmin(finite)) if np.isfinite(finite).any() else 0.0
    hi = float(np.nanmax(finite)) if np.isfinite(finite).any() else 0.0
    im = ax.imshow(finite, cmap="viridis" if higher else "viridis_r", aspect="auto")
    fig.colorbar(im, ax=ax, label=axis_label(metric))
    ax.set_xticks(
        np.arange(vals.shape[1]), [mpl_text(c) for c in matrix.columns], rotation=30, ha="right"
    )
    ax.set_yticks(np.arange(vals.shape[0]), [mpl_text(i) for i in matrix.index])
    for r in range(vals.shape[0]):
        for c in range(vals.shape[1]):
            v = vals[r, c]
            text = "–" if math.isnan(v) else ("inf" if math.isinf(v) else f"{v:.2f}")
            shade = (v - lo) / (hi - lo) if math.isfinite(v) and hi > lo else 0.0
            light = shade > 0.6 if higher else shade < 0.4
            ax.text(
                c,
                r,
                text,
                ha="center",
                va="center",
                fontsize=8,
                color="black" if light else "white",
            )
            if in_domain is not None and bool(in_domain.iloc[r, c]):
                ax.add_patch(_frame(c, r))
    ax.set_xlabel("test set")
    ax.set_ylabel("model [training set]")
    ax.set_title(mpl_text(title or f"cross-dataset {metric}"), fontsize=9)
    return figure_png(fig)


def _frame(c: int, r: int):  # noqa: ANN202 - matplotlib patch
    from matplotlib.patches import Rectangle

    return Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="#c0392b", linewidth=2)
