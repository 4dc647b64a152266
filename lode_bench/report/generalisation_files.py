"""Files of the generalisation section: wide tables, rank tables and plots, drop heatmaps.

Written under ``<report>/generalisation/``::

    table.{md,tex,csv,html}     methods × (dataset, metric) means; best bold; ↑/↓ arrows
    ranks.csv                   mean rank per method per dataset and overall, bootstrap CI
    metric_ranks.csv            rank of every method on every (dataset, metric)
    drop.{md,csv}               in-domain vs out-of-domain drop (positive = worse)
    ranks_per_dataset.png       dot plot: mean rank per dataset (GLOWDeblur's first plot)
    rank_overall.png            bar plot: mean rank across datasets (its second plot)
    drop_<metric>-<protocol>.png  heatmap of the drop per model and test set
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from lode_bench.io.atomic import atomic_write_bytes, atomic_write_text
from lode_bench.io.paths import slugify
from lode_bench.report import plots
from lode_bench.report.generalisation import Column, GeneralisationResult
from lode_bench.report.html import esc, figure, page, sort_key
from lode_bench.report.plots import mpl_text
from lode_bench.report.stats import best_indices
from lode_bench.report.submission import encode_number
from lode_bench.report.tables import _md_escape, digits_for, fmt, latex_escape


def _arrow(c: Column) -> str:
    return "↑" if c.higher_is_better else "↓"


def _best(g: GeneralisationResult, c: Column) -> set[int]:
    vals = [g.mean(m, c) for m in g.methods]
    found = best_indices(vals, c.higher_is_better)
    return set() if len(g.methods) > 1 and len(found) == len(g.methods) else found


def to_markdown(g: GeneralisationResult) -> str:
    """Methods × (dataset, metric) means; best in bold; a header cell per dataset/metric."""
    head = [
        "Method",
        *[f"{_md_escape(c.dataset)}: {_md_escape(c.label)} {_arrow(c)}" for c in g.columns],
    ]
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join([":---"] + ["---:"] * len(g.columns)) + "|",
    ]
    best = [_best(g, c) for c in g.columns]
    for i, m in enumerate(g.methods):
        cells = [_md_escape(m)]
        for c, b in zip(g.columns, best, strict=True):
            t = fmt(g.mean(m, c), digits_for(c.metric))
            cells.append(f"**{t}**" if i in b else t)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_latex(g: GeneralisationResult) -> str:
    """Booktabs table with one multicolumn header per dataset."""
    groups = [(d, g.columns_of(d)) for d in g.datasets if g.columns_of(d)]
    spec = "l" + "".join("r" * len(cs) for _, cs in groups)
    top = ["Method", *[rf"\multicolumn{{{len(cs)}}}{{c}}{{{latex_escape(d)}}}" for d, cs in groups]]
    sub = [
        "",
        *[
            latex_escape(c.label) + (r" $\uparrow$" if c.higher_is_better else r" $\downarrow$")
            for _, cs in groups
            for c in cs
        ],
    ]
    cols = [c for _, cs in groups for c in cs]
    best = [_best(g, c) for c in cols]
    body = []
    for i, m in enumerate(g.methods):
        cells = [latex_escape(m)]
        for c, b in zip(cols, best, strict=True):
            t = fmt(g.mean(m, c), digits_for(c.metric)).replace("–", "--")
            cells.append(rf"\textbf{{{t}}}" if i in b else t)
        body.append(" & ".join(cells) + r" \\")
    return "\n".join(
        [
            r"\begin{table}[t]",
            r"\centering",
            r"\small",
            r"\caption{Cross-dataset results: mean over images; best in bold.}",
            r"\label{tab:generalisation}",
            rf"\begin{{tabular}}{{{spec}}}",
            r"\toprule",
            " & ".join(top) + r" \\",
            " & ".join(sub) + r" \\",
            r"\midrule",
            *body,
            r"\bottomrule",
            r"\end{tabular}",
            r"\end{table}",
            "",
        ]
    )


def to_csv(g: GeneralisationResult) -> str:
    """Long CSV: one row per method × dataset × metric, full precision, best flag."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        [
            "model",
            "train_set",
            "dataset",
            "metric",
            "protocol",
            "protocol_version",
            "mean",
            "best",
            "higher_is_better",
            "direction_source",
            "legacy",
        ]
    )
    for c in g.columns:
        b = _best(g, c)
        for i, m in enumerate(g.methods):
            w.writerow(
                [
                    m,
                    g.train_sets.get(m) or "",
                    c.dataset,
                    c.label,
                    c.protocol,
                    c.protocol_version,
                    repr(g.mean(m, c)),
                    int(i in b),
                    int(c.higher_is_better),
                    c.direction_source,
                    int(c.legacy),
                ]
            )
    return buf.getvalue()


def to_html(g: GeneralisationResult) -> str:
    """Sortable ``<table>``, one header row (dataset above metric, so every header sorts
    its own column); all text escaped."""
    cols = [c for d in g.datasets for c in g.columns_of(d)]
    head = (
        '<tr><th class="method">Method</th>'
        + "".join(
            f'<th title="{esc(c.dataset)}: {"higher" if c.higher_is_better else "lower"} is better">'
            f'<span class="ci">{esc(c.dataset)}</span><br>{esc(c.label)} {_arrow(c)}</th>'
            for c in cols
        )
        + "</tr>"
    )
    best = [_best(g, c) for c in cols]
    trs = []
    for i, m in enumerate(g.methods):
        tds = [f'<td class="method" data-sort="{esc(m.lower())}">{esc(m)}</td>']
        for c, b in zip(cols, best, strict=True):
            v = g.mean(m, c)
            cls = ' class="best"' if i in b else ""
            tds.append(
                f'<td{cls} data-sort="{sort_key(v)}">{esc(fmt(v, digits_for(c.metric)))}</td>'
            )
        trs.append(f'<tr data-model="{esc(m)}">' + "".join(tds) + "</tr>")
    return (
        f'<table class="sortable" id="generalisation"><thead>{head}</thead>'
        f"<tbody>{''.join(trs)}</tbody></table>"
    )


def ranks_frame(g: GeneralisationResult) -> pd.DataFrame:
    """``model, scope, mean_rank, ci_low, ci_high, p_best, n_metrics`` (scope = dataset or ``overall``)."""
    r = g.ranks
    rows: list[dict[str, Any]] = []
    if r is None:
        return pd.DataFrame(
            columns=["model", "scope", "mean_rank", "ci_low", "ci_high", "p_best", "n_metrics"]
        )
    for i in r.order():
        m = r.methods[i]
        for k, d in enumerate(r.datasets):
            rows.append(
                {
                    "model": m,
                    "scope": d,
                    "mean_rank": r.dataset_rank[k, i],
                    "ci_low": r.dataset_ci[k, i, 0],
                    "ci_high": r.dataset_ci[k, i, 1],
                    "p_best": math.nan,
                    "n_metrics": len(r.metrics.get(d, [])),
                }
            )
        rows.append(
            {
                "model": m,
                "scope": "overall",
                "mean_rank": r.overall_rank[i],
                "ci_low": r.overall_ci[i, 0],
                "ci_high": r.overall_ci[i, 1],
                "p_best": r.p_best[i],
                "n_metrics": sum(len(v) for v in r.metrics.values()),
            }
        )
    return pd.DataFrame(rows)


def metric_ranks_frame(g: GeneralisationResult) -> pd.DataFrame:
    """``dataset, metric, model, rank`` for every ranked cell."""
    r = g.ranks
    rows = []
    if r is not None:
        for d in r.datasets:
            for k, metric in enumerate(r.metrics[d]):
                for i, m in enumerate(r.methods):
                    rows.append(
                        {
                            "dataset": d,
                            "metric": metric,
                            "model": m,
                            "rank": r.metric_ranks[d][k, i],
                        }
                    )
    return pd.DataFrame(rows, columns=["dataset", "metric", "model", "rank"])


def rank_dot_plot(g: GeneralisationResult) -> bytes:
    """Mean rank of every method on every dataset (dots, bootstrap CI bars; 1 = best, on top)."""
    r = g.ranks
    assert r is not None
    nd, nm = len(r.datasets), len(r.methods)
    fig = Figure(figsize=(max(5.0, 1.3 * nd + 2.5), 4.0))
    ax = fig.add_subplot()
    width = 0.7
    for j, i in enumerate(r.order()):
        x = np.arange(nd) + (j - (nm - 1) / 2) * (width / max(nm, 1))
        y = r.dataset_rank[:, i]
        lo, hi = r.dataset_ci[:, i, 0], r.dataset_ci[:, i, 1]
        err = np.vstack([np.nan_to_num(y - lo), np.nan_to_num(hi - y)])
        ax.errorbar(x, y, yerr=err, fmt="o", capsize=3, markersize=6, label=mpl_text(r.methods[i]))
    ax.set_xticks(np.arange(nd), [mpl_text(d) for d in r.datasets], rotation=20, ha="right")
    ax.set_ylim(nm + 0.5, 0.5)
    ax.set_ylabel("mean rank over metrics (1 = best)")
    ax.set_xlabel("test set")
    ax.set_title(f"Rank per dataset ({r.confidence:.0%} bootstrap CI over images)", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="best", ncol=max(1, nm // 6))
    return plots.figure_png(fig)


def rank_bar_plot(g: GeneralisationResult) -> bytes:
    """Mean rank across datasets per method (bars, bootstrap CI; best at the top)."""
    r = g.ranks
    assert r is not None
    order = r.order()
    fig = Figure(figsize=(5.6, 0.45 * len(order) + 1.6))
    ax = fig.add_subplot()
    y = np.arange(len(order))
    vals = np.array([r.overall_rank[i] for i in order])
    lo = np.array([r.overall_ci[i, 0] for i in order])
    hi = np.array([r.overall_ci[i, 1] for i in order])
    err = np.vstack([np.nan_to_num(vals - lo), np.nan_to_num(hi - vals)])
    ax.barh(
        y,
        np.nan_to_num(vals),
        xerr=err,
        color="#4a6fa5",
        edgecolor="#1d2330",
        linewidth=0.6,
        capsize=3,
    )
    for k, i in enumerate(order):
        if math.isfinite(r.p_best[i]):
            ax.annotate(
                f"P(best) {r.p_best[i]:.2f}", (0.05, k), va="center", fontsize=7, color="white"
            )
    ax.set_yticks(y, [mpl_text(r.methods[i]) for i in order])
    ax.set_ylim(len(order) - 0.5, -0.5)
    ax.set_xlim(0, len(order) + 0.5)
    ax.set_xlabel(f"mean rank over {len(r.datasets)} datasets (1 = best) ↓")
    ax.set_title(f"Overall rank ({r.confidence:.0%} bootstrap CI over images)", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    return plots.figure_png(fig)


def drop_matrix(g: GeneralisationResult, metric: str, protocol: str) -> pd.DataFrame:
    """Rows ``model [train: T]`` × out-of-domain datasets: the drop of ``metric`` (protocol)."""
    d = g.drop[(g.drop["metric"] == metric) & (g.drop["protocol"] == protocol)]
    if d.empty:
        return pd.DataFrame()
    d = d.assign(row=[f"{m} [train: {t}]" for m, t in zip(d["model"], d["train_set"], strict=True)])
    cols = [x for x in g.datasets if x in set(d["dataset"])]
    return d.pivot_table(index="row", columns="dataset", values="drop", aggfunc="first")[cols]


def write_generalisation(
    g: GeneralisationResult, out: Path
) -> tuple[list[Path], str, dict[str, Any]]:
    """Write the section's files under ``out/generalisation``.

    Returns:
        ``(files, html_section, summary)`` where ``summary`` is JSON-ready.
    """
    base = out / "generalisation"
    files = [
        atomic_write_text(base / "table.md", to_markdown(g)),
        atomic_write_text(base / "table.tex", to_latex(g)),
        atomic_write_text(base / "table.csv", to_csv(g)),
        atomic_write_text(base / "table.html", page("Generalisation", to_html(g))),
    ]
    ranks = ranks_frame(g)
    files.append(atomic_write_text(base / "ranks.csv", ranks.to_csv(index=False)))
    files.append(
        atomic_write_text(base / "metric_ranks.csv", metric_ranks_frame(g).to_csv(index=False))
    )
    files.append(atomic_write_text(base / "drop.csv", g.drop.to_csv(index=False)))
    files.append(atomic_write_text(base / "drop.md", _drop_markdown(g)))
    figs: list[tuple[Path, str]] = []
    r = g.ranks
    if r is not None and r.methods:
        figs.append(
            (
                atomic_write_bytes(base / "ranks_per_dataset.png", rank_dot_plot(g)),
                "mean rank over each dataset's metrics (1 = best), bootstrap interval over images",
            )
        )
        figs.append(
            (
                atomic_write_bytes(base / "rank_overall.png", rank_bar_plot(g)),
                "mean of the per-dataset ranks; P(best) = share of bootstrap resamples "
                "in which the method ranks first",
            )
        )
    for metric, proto in dict.fromkeys(zip(g.drop["metric"], g.drop["protocol"], strict=True)):
        mat = drop_matrix(g, metric, proto)
        if mat.empty:
            continue
        unit = " (dB)" if "psnr" in metric.lower() else ""
        figs.append(
            (
                atomic_write_bytes(
                    base / f"drop_{slugify(f'{metric}-{proto}')}.png",
                    plots.heatmap_plot(
                        mat,
                        metric=f"{metric} drop{unit}",
                        higher=False,
                        title=f"{metric} ({proto}): in-domain "
                        "minus out-of-domain "
                        "(positive = worse)",
                    ),
                ),
                f"{metric} ({proto}) drop from the in-domain test set to each other test set",
            )
        )
    files += [p for p, _ in figs]
    rank_note = (
        f"Ranks: per dataset, each method is ranked on every metric (ties share the "
        f"mean rank; missing values rule: {r.missing if r else '-'}); the ranks are "
        "averaged per dataset, then over datasets. Intervals: paired bootstrap over "
        f"images ({r.n_resamples if r else 0} resamples). The baseline is not ranked."
    )
    html = (
        "<section><h2>Generalisation across datasets</h2>"
        f'<p class="note">{esc(rank_note)} Downloads: '
        '<a href="generalisation/table.csv">table.csv</a> · '
        '<a href="generalisation/ranks.csv">ranks.csv</a> · '
        '<a href="generalisation/drop.csv">drop.csv</a></p>'
        + to_html(g)
        + "<h3>Rank aggregation</h3>"
        + _ranks_html(ranks)
        + "<h3>In-domain vs out-of-domain drop</h3>"
        + _drop_html(g)
        + "".join(figure(p.relative_to(out).as_posix(), cap) for p, cap in figs)
        + "</section>"
    )
    summary = {
        "datasets": g.datasets,
        "methods": g.methods,
        "train_sets": g.train_sets,
        "ranked_methods": g.ranked_methods,
        "missing_rule": r.missing if r else None,
        "ranks": [
            {k: encode_number(v) if isinstance(v, float) else v for k, v in row.items()}
            for row in ranks.to_dict("records")
        ],
        "drop": [
            {k: encode_number(v) if isinstance(v, float) else v for k, v in row.items()}
            for row in g.drop.to_dict("records")
        ],
        "notes": g.notes,
    }
    return files, html, summary


def _ranks_html(ranks: pd.DataFrame) -> str:
    if ranks.empty:
        return '<p class="note">nothing to rank</p>'
    trs = "".join(
        f"<tr><td>{esc(r.model)}</td><td>{esc(r.scope)}</td>"
        f'<td data-sort="{sort_key(r.mean_rank)}">{esc(fmt(r.mean_rank, 2))}</td>'
        f"<td>{esc(fmt(r.ci_low, 2))}–{esc(fmt(r.ci_high, 2))}</td>"
        f"<td>{esc(fmt(r.p_best, 2))}</td></tr>"
        for r in ranks.itertuples()
    )
    return (
        '<table class="sortable"><thead><tr><th>Method</th><th>Dataset</th>'
        "<th>Mean rank ↓</th><th>CI</th><th>P(best)</th></tr></thead>"
        f"<tbody>{trs}</tbody></table>"
    )


def _drop_markdown(g: GeneralisationResult) -> str:
    lines = [
        "| Model | Train set | In-domain | Test set | Metric | Protocol | In | Out | Drop | "
        "Drop % |",
        "|:---|:---|:---|:---|:---|:---|---:|---:|---:|---:|",
    ]
    for r in g.drop.itertuples():
        d = digits_for(r.metric)
        lines.append(
            "| "
            + " | ".join(
                [
                    _md_escape(r.model),
                    _md_escape(r.train_set),
                    _md_escape(r.in_domain),
                    _md_escape(r.dataset),
                    _md_escape(r.metric),
                    _md_escape(r.protocol),
                    fmt(r.in_value, d),
                    fmt(r.out_value, d),
                    fmt(r.drop, d),
                    fmt(r.drop_pct, 1),
                ]
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def _drop_html(g: GeneralisationResult) -> str:
    if g.drop.empty:
        return (
            '<p class="note">no model has a declared training set among the test sets '
            "(declare it in the model card, the run, or with --train-set MODEL=SET)</p>"
        )
    trs = "".join(
        "<tr>"
        + "".join(
            f"<td>{esc(x)}</td>"
            for x in (r.model, r.train_set, r.in_domain, r.dataset, r.metric, r.protocol)
        )
        + "".join(
            f'<td data-sort="{sort_key(v)}">{esc(fmt(v, k))}</td>'
            for v, k in (
                (r.in_value, digits_for(r.metric)),
                (r.out_value, digits_for(r.metric)),
                (r.drop, digits_for(r.metric)),
                (r.drop_pct, 1),
            )
        )
        + "</tr>"
        for r in g.drop.itertuples()
    )
    return (
        '<table class="sortable"><thead><tr><th>Model</th><th>Train set</th>'
        "<th>In-domain</th><th>Test set</th><th>Metric</th><th>Protocol</th><th>In</th>"
        "<th>Out</th>"
        "<th>Drop (positive = worse)</th><th>Drop %</th></tr></thead>"
        f"<tbody>{trs}</tbody></table>"
    )
