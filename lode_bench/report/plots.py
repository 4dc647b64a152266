"""Report plots, drawn with matplotlib's object API on the Agg canvas (no pyplot state).

Each function returns PNG bytes (write them with :func:`lode_bench.io.atomic_write_bytes`),
so plotting stays thread-safe and never touches a display.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from lode_bench.io.figures import figure_png, mpl_text
from lode_bench.report.stats import pareto_front
from lode_bench.report.summary import SummaryTable


def _arrow(higher: bool) -> str:
    return "↑" if higher else "↓"


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
    ax.bar(x, np.nan_to_num(means), yerr=err, color=colours, capsize=4, edgecolor="#1d2330",
           linewidth=0.6)
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
    ax.set_ylabel(mpl_text(f"{column} {_arrow(table.directions[column])}"))
    ax.set_title(mpl_text(f"{table.title}: {column} (mean, 95% CI)"), fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return figure_png(fig)


def pareto_plot(table: SummaryTable, column: str) -> bytes:
    """Quality versus runtime; the Pareto front (faster and better) is joined by a line."""
    pts = [(r.runtime_s, r.metrics[column].mean) for r in table.rows]
    fig = Figure(figsize=(5.2, 3.8))
    ax = fig.add_subplot()
    usable = [(i, rt, q) for i, (rt, q) in enumerate(pts) if math.isfinite(rt) and math.isfinite(q)]
    for i, rt, q in usable:
        ax.scatter([rt], [q], s=36, zorder=3)
        ax.annotate(mpl_text(table.rows[i].model), (rt, q), textcoords="offset points", xytext=(4, 4),
                    fontsize=8)
    front = pareto_front([(rt, q) if math.isfinite(rt) and math.isfinite(q) else
                          (math.nan, math.nan) for rt, q in pts],
                         higher_quality=table.directions[column])
    if len(front) > 1:
        ax.step([pts[i][0] for i in front], [pts[i][1] for i in front], where="post",
                color="#c0392b", alpha=0.6, label="Pareto front")
        ax.legend(fontsize=8)
    if usable and all(rt > 0 for _, rt, _ in usable):
        ax.set_xscale("log")
    ax.set_xlabel("runtime per image (s) ↓")
    ax.set_ylabel(mpl_text(f"{column} {_arrow(table.directions[column])}"))
    ax.set_title(mpl_text(f"{table.title}: quality vs runtime"), fontsize=9)
    ax.grid(alpha=0.3)
    return figure_png(fig)


def distribution_plot(results: pd.DataFrame, table: SummaryTable, column: str) -> bytes:
    """Per-image distribution of ``column`` per method: box plot plus the individual points."""
    sel = results[(results["dataset_hash"] == table.dataset_hash)
                  & (results["protocol"] == table.protocol)
                  & (results["protocol_version"] == table.protocol_version)
                  & (results["status"] == "ok")]
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
    ax.set_xticks(np.arange(1, len(models) + 1), [mpl_text(m) for m in models], rotation=30,
                  ha="right")
    ax.set_ylabel(mpl_text(f"{column} {_arrow(table.directions[column])}"))
    ax.set_title(mpl_text(f"{table.title}: per-image {column}"), fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return figure_png(fig)


def gain_vs_coverage_plot(gains: pd.DataFrame, metric: str, *, baseline: str = "identity",
                          title: str = "") -> bytes:
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
        ax.scatter(100 * sub["mask_coverage"].to_numpy(float), sub["gain"].to_numpy(float), s=18,
                   alpha=0.8, label=mpl_text(model))
    ax.axhline(0.0, color="#5b6478", linewidth=0.8)
    ax.set_xlabel("blur-mask coverage (% of pixels)")
    ax.set_ylabel(mpl_text(f"{metric} gain over {baseline}"))
    ax.set_title(mpl_text(title or f"{metric} gain versus mask coverage"), fontsize=9)
    if not g.empty:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return figure_png(fig)


def heatmap_plot(matrix: pd.DataFrame, *, metric: str, higher: bool = True,
                 in_domain: pd.DataFrame | None = None, title: str = "") -> bytes:
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
    fig.colorbar(im, ax=ax, label=mpl_text(metric))
    ax.set_xticks(np.arange(vals.shape[1]), [mpl_text(c) for c in matrix.columns], rotation=30,
                  ha="right")
    ax.set_yticks(np.arange(vals.shape[0]), [mpl_text(i) for i in matrix.index])
    for r in range(vals.shape[0]):
        for c in range(vals.shape[1]):
            v = vals[r, c]
            text = "–" if math.isnan(v) else ("inf" if math.isinf(v) else f"{v:.2f}")
            shade = (v - lo) / (hi - lo) if math.isfinite(v) and hi > lo else 0.0
            light = shade > 0.6 if higher else shade < 0.4
            ax.text(c, r, text, ha="center", va="center", fontsize=8,
                    color="black" if light else "white")
            if in_domain is not None and bool(in_domain.iloc[r, c]):
                ax.add_patch(_frame(c, r))
    ax.set_xlabel("test set")
    ax.set_ylabel("model [training set]")
    ax.set_title(mpl_text(title or f"cross-dataset {metric}"), fontsize=9)
    return figure_png(fig)


def _frame(c: int, r: int):  # noqa: ANN202 - matplotlib patch
    from matplotlib.patches import Rectangle

    return Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="#c0392b", linewidth=2)
