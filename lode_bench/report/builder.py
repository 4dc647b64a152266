"""``lode-bench report``: tables, plots and visual comparisons from a results store.

Output folder::

    index.html                 every table (sortable), plots and comparisons on one page
    tables.md / tables.tex     all tables, paper/README ready
    summary.json               the numbers behind every table (full precision)
    tables/<key>.{md,tex,csv,html}
    plots/<key>__{bars,dist,pareto}_<metric>.png, <key>__gain_coverage_<metric>.png,
    plots/generalisation_<metric>.png
    generalisation/            cross-dataset table, ranks, domain drop (two or more datasets;
                               see :mod:`lode_bench.report.generalisation_files`)
    analysis/                  figures of ``lode-bench analyze`` folders (``analysis=``)
    visuals/<key>__crop.png, visuals/<key>__best_worst_<model>.png

Every file is written atomically. The report reads only the store (and, for pictures,
the dataset folders and saved outputs the runs name; see :mod:`lode_bench.report.sources`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from lode_bench.io.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from lode_bench.io.paths import slugify
from lode_bench.report import plots, tables
from lode_bench.report.html import esc, figure, figures, page
from lode_bench.report.sources import find_source
from lode_bench.report.summary import (
    SummaryTable,
    generalisation_matrix,
    per_image_gain,
    summarize,
)
from lode_bench.report.visuals import best_worst_grid, choose_crop, choose_zoom, comparison_grid


@dataclass
class ReportResult:
    """What :func:`build_report` wrote."""

    out_dir: Path
    tables: list[SummaryTable]
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def index(self) -> Path:
        return self.out_dir / "index.html"


def summary_dict(table: SummaryTable) -> dict[str, Any]:
    """JSON-ready numbers of one table (infinite values as strings)."""
    from lode_bench.report.submission import encode_number

    return {
        "dataset": table.dataset,
        "dataset_hash": table.dataset_hash,
        "protocol": table.protocol,
        "protocol_version": table.protocol_version,
        "key": table.key,
        "columns": table.columns,
        "higher_is_better": table.directions,
        "n_images": table.n_images,
        "rows": [
            {
                "model": r.model,
                "n_ok": r.n_ok,
                "n_error": r.n_error,
                "runtime_s": encode_number(r.runtime_s) if r.runtime_measured else None,
                "params": r.params,
                "flops": r.flops,
                "train_set": r.train_set,
                "metrics": {
                    c: {
                        "mean": encode_number(iv.mean),
                        "ci_low": encode_number(iv.low),
                        "ci_high": encode_number(iv.high),
                        "n": iv.n,
                    }
                    for c, iv in r.metrics.items()
                },
            }
            for r in table.rows
        ],
    }


def write_table_files(table: SummaryTable, out_dir: Path) -> list[Path]:
    """``tables/<key>.{md,tex,csv,html}`` for one table."""
    base = out_dir / "tables" / table.key
    files = [
        atomic_write_text(base.with_suffix(".md"), tables.to_markdown(table)),
        atomic_write_text(base.with_suffix(".tex"), tables.to_latex(table)),
        atomic_write_text(base.with_suffix(".csv"), tables.to_csv(table)),
        atomic_write_text(
            base.with_suffix(".html"),
            page(table.title, f"<h1>{esc(table.title)}</h1>" + tables.to_html(table)),
        ),
    ]
    return files


def write_table_plots(
    results: pd.DataFrame, table: SummaryTable, out_dir: Path, *, baseline: str = "identity"
) -> list[tuple[Path, str]]:
    """Bar, distribution and Pareto plots per metric, plus gain-vs-coverage for local blur.

    Returns:
        ``(path, caption)`` per plot written.
    """
    made: list[tuple[Path, str]] = []
    pdir = out_dir / "plots"
    for c in table.columns:
        slug = slugify(c)
        made.append(
            (
                atomic_write_bytes(
                    pdir / f"{table.key}__bars_{slug}.png", plots.metric_bars(table, c)
                ),
                f"{table.title}: mean {c} with 95% bootstrap interval",
            )
        )
        made.append(
            (
                atomic_write_bytes(
                    pdir / f"{table.key}__dist_{slug}.png",
                    plots.distribution_plot(results, table, c),
                ),
                f"{table.title}: per-image {c}",
            )
        )
    if table.columns:
        c = table.columns[0]
        made.append(
            (
                atomic_write_bytes(
                    pdir / f"{table.key}__pareto_{slugify(c)}.png", plots.pareto_plot(table, c)
                ),
                f"{table.title}: {c} versus runtime (Pareto front)",
            )
        )
    for c in ("PSNR", "PSNR_w"):
        if c not in table.columns:
            continue
        gains = per_image_gain(
            results,
            dataset_hash=table.dataset_hash,
            protocol=table.protocol,
            protocol_version=table.protocol_version,
            metric=c,
            baseline=baseline,
        )
        if gains.empty or gains["mask_coverage"].isna().all():
            continue
        made.append(
            (
                atomic_write_bytes(
                    pdir / f"{table.key}__gain_coverage_{slugify(c)}.png",
                    plots.gain_vs_coverage_plot(
                        gains,
                        c,
                        baseline=baseline,
                        title=f"{table.title}: {c} gain vs mask coverage",
                    ),
                ),
                f"{table.title}: {c} gain over {baseline} versus blur-mask coverage",
            )
        )
    return made


def write_visuals(
    results: pd.DataFrame,
    runs: pd.DataFrame,
    table: SummaryTable,
    out_dir: Path,
    *,
    baseline: str = "identity",
    datasets: Mapping[str, str | Path] | None = None,
    outputs: Mapping[str, str | Path] | None = None,
    n_best: int = 2,
    crop_size: int = 128,
) -> tuple[list[tuple[Path, str]], list[str]]:
    """Crop comparison across methods and best/worst images by gain; returns (files, notes)."""
    notes: list[str] = []
    src = find_source(
        runs,
        dataset=table.dataset,
        dataset_hash=table.dataset_hash,
        datasets=datasets,
        outputs=outputs,
    )
    if src is None:
        return [], [
            f"{table.title}: no visual comparison (dataset folder not found; pass "
            f"--dataset-root {table.dataset}=DIR)"
        ]
    metric = next(
        (c for c in ("PSNR_w", "PSNR") if c in table.columns),
        table.columns[0] if table.columns else None,
    )
    if metric is None:
        return [], notes
    models = [r.model for r in table.rows if src.has_output(r.model)]
    missing = [r.model for r in table.rows if not src.has_output(r.model)]
    if missing:
        notes.append(
            f"{table.title}: no saved outputs for {', '.join(missing)} "
            "(run with --save-outputs and pass --outputs [DATASET/]MODEL=DIR to "
            "include them in pictures)"
        )
    gains = per_image_gain(
        results,
        dataset_hash=table.dataset_hash,
        protocol=table.protocol,
        protocol_version=table.protocol_version,
        metric=metric,
        baseline=baseline,
    )
    made: list[tuple[Path, str]] = []
    ids = sorted(results.loc[results["dataset_hash"] == table.dataset_hash, "image_id"].unique())
    focus = ids[0] if ids else None
    if not gains.empty:
        mean_gain = gains.groupby("image_id")["gain"].mean().sort_values()
        focus = str(mean_gain.index[-1])
    if focus is not None:
        blur, sharp = src.blur(focus), src.sharp(focus)
        if blur is not None and sharp is not None:
            crop = choose_crop(blur, sharp, size=crop_size, mask=src.mask(focus))
            zoom = choose_zoom(blur, sharp, crop)
            panels = [("blurry input", blur)]
            for m in models:
                out = src.output(m, focus)
                if out is not None and out.shape == sharp.shape and m != "identity":
                    panels.append((m, out))
            panels.append(("ground truth", sharp))
            path = atomic_write_bytes(
                out_dir / "visuals" / f"{table.key}__crop.png",
                comparison_grid(panels, crop, zoom, title=f"{focus}"),
            )
            made.append(
                (
                    path,
                    f"{table.title}: image {focus}, same crop for every method "
                    "(inset: magnified region)",
                )
            )
    for model in models:
        g = gains[gains["model"] == model].sort_values("gain")
        if model == baseline or g.empty:
            continue
        best = list(g.tail(n_best).iloc[::-1].itertuples())
        worst = list(g.head(n_best).itertuples())
        picks = [(f"best {k + 1}", p) for k, p in enumerate(best)] + [
            (f"worst {k + 1}", p) for k, p in enumerate(worst)
        ]
        seen: set[str] = set()
        items = []
        labels = []
        for label, p in picks:
            if p.image_id in seen:
                continue
            seen.add(p.image_id)
            blur, sharp, out = (
                src.blur(p.image_id),
                src.sharp(p.image_id),
                src.output(model, p.image_id),
            )
            if blur is None or sharp is None or out is None or out.shape != sharp.shape:
                continue
            crop = choose_crop(blur, sharp, size=crop_size, mask=src.mask(p.image_id))
            items.append(
                (
                    str(p.image_id),
                    float(p.gain),
                    [("blurry input", blur), (model, out), ("ground truth", sharp)],
                    crop,
                )
            )
            labels.append(label)
        if items:
            path = atomic_write_bytes(
                out_dir / "visuals" / f"{table.key}__best_worst_{slugify(model)}.png",
                best_worst_grid(
                    items,
                    metric=metric,
                    labels=labels,
                    title=f"{model}: best and worst by {metric} gain",
                ),
            )
            made.append(
                (
                    path,
                    f"{table.title}: {model}, best and worst images by {metric} gain "
                    f"over {baseline}",
                )
            )
    notes += [f"{table.title}: {p}" for p in src.problems]
    return made, notes


def build_report(
    store: str | Path,
    out_dir: str | Path,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    baseline: str = "identity",
    visuals: bool = True,
    datasets: Mapping[str, str | Path] | None = None,
    outputs: Mapping[str, str | Path] | None = None,
    progress: bool = True,
    generalisation: bool | None = None,
    train_sets: Mapping[str, str] | None = None,
    rank_missing: str = "last",
    analysis: Sequence[str | Path] = (),
) -> ReportResult:
    """Write the full report of a results store into ``out_dir``.

    Args:
        store: path of the SQLite results store.
        out_dir: output folder (created).
        confidence: bootstrap interval coverage.
        n_resamples: bootstrap resamples.
        seed: bootstrap seed.
        baseline: model whose per-image scores define "gain" (the blurry input: ``identity``).
        visuals: also draw crop comparisons (needs dataset folders and saved outputs).
        datasets: dataset name or manifest hash -> folder, where the runs do not name it.
        outputs: model -> folder of saved outputs, where the runs do not name it.
        progress: show a progress bar.
        generalisation: write the cross-dataset section (``generalisation/``: wide table,
            rank aggregation, domain drop); ``None`` = when the store holds two or more
            datasets.
        train_sets: model -> training set, overriding runs and model cards.
        rank_missing: missing-value rule of the ranking (``"last"`` or ``"skip"``).
        analysis: ``lode-bench analyze`` output folders to show (blur-pattern statistics).

    Raises:
        StoreError: when the store cannot be opened.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from lode_bench import build_builtin_dataset, run_benchmark
        >>> tmp = tempfile.TemporaryDirectory()
        >>> data, store = Path(tmp.name, "data"), Path(tmp.name, "results.sqlite")
        >>> _ = build_builtin_dataset(data, kind="global", n_samples=2, size=(64, 96))
        >>> _ = run_benchmark("identity", str(data), "gopro", store, progress=False)
        >>> report = build_report(store, Path(tmp.name, "report"), n_resamples=200,
        ...                       visuals=False, progress=False)
        >>> report.index.is_file(), [(t.dataset, t.protocol) for t in report.tables]
        (True, [('lode-builtin', 'gopro')])
        >>> tmp.cleanup()
    """
    from lode_bench.bench.store import ResultsStore

    out = Path(out_dir)
    with ResultsStore(store) as st:
        results, runs = st.results_frame(), st.runs_frame()
    stored = sorted(set(map(str, results["model"]))) if not results.empty else []
    baseline = _stored_name(baseline, stored)
    if outputs:
        outputs = {_stored_key(k, stored): v for k, v in outputs.items()}
    if train_sets:
        train_sets = {_stored_name(k, stored): v for k, v in train_sets.items()}
    summaries = summarize(results, runs, confidence=confidence, n_resamples=n_resamples, seed=seed)
    res = ReportResult(out_dir=out, tables=summaries)
    if not summaries:
        res.notes.append("the store holds no results")
    sections = []
    for table in tqdm(summaries, desc="report", unit="table", disable=not progress):
        res.files += write_table_files(table, out)
        figs = write_table_plots(results, table, out, baseline=baseline)
        if visuals:
            vis, notes = write_visuals(
                results, runs, table, out, baseline=baseline, datasets=datasets, outputs=outputs
            )
            figs += vis
            res.notes += notes
        res.files += [p for p, _ in figs]
        sections.append(_section(table, figs, out))
    for metric in ("PSNR",):
        gm = generalisation_matrix(summaries, metric)
        if gm is not None:
            values, in_domain = gm
            p = atomic_write_bytes(
                out / "plots" / f"generalisation_{slugify(metric)}.png",
                plots.heatmap_plot(values, metric=metric, in_domain=in_domain),
            )
            res.files.append(p)
            sections.append(
                "<h2>Cross-dataset generalisation</h2>"
                + figure(
                    p.relative_to(out).as_posix(),
                    f"mean {metric}: models (by training set) × test sets; "
                    "framed cells are in-domain",
                )
            )
    gen_summary = None
    if generalisation or (generalisation is None and len({t.dataset_hash for t in summaries}) > 1):
        from lode_bench.report.generalisation import build_generalisation
        from lode_bench.report.generalisation_files import write_generalisation

        gen = build_generalisation(
            results,
            summaries,
            train_sets=train_sets,
            baseline=baseline,
            missing=rank_missing,  # type: ignore[arg-type]
            n_resamples=n_resamples,
            confidence=confidence,
            seed=seed,
        )
        gen_files, gen_html, gen_summary = write_generalisation(gen, out)
        res.files += gen_files
        res.notes += gen.notes
        sections.append(gen_html)
    if analysis:
        from lode_bench.report.analysis_section import analysis_section

        for folder in analysis:
            a_files, a_html = analysis_section(folder, out)
            res.files += a_files
            sections.append(a_html)
    res.files.append(
        atomic_write_text(
            out / "tables.md",
            "".join(f"### {t.title}\n\n{tables.to_markdown(t)}\n" for t in summaries),
        )
    )
    res.files.append(
        atomic_write_text(out / "tables.tex", "\n".join(tables.to_latex(t) for t in summaries))
    )
    res.files.append(
        atomic_write_json(
            out / "summary.json",
            {
                "confidence": confidence,
                "n_resamples": n_resamples,
                "seed": seed,
                "tables": [summary_dict(t) for t in summaries],
                "notes": res.notes,
                **({"generalisation": gen_summary} if gen_summary is not None else {}),
            },
        )
    )
    notes_html = "".join(f"<li>{esc(n)}</li>" for n in res.notes)
    body = (
        "<h1>lode-bench report</h1>"
        f'<p class="note">Source: {esc(Path(store).name)}. Means over images with '
        f"{confidence:.0%} percentile-bootstrap intervals ({n_resamples} resamples); best "
        "values in bold; ↑ higher is better, ↓ lower is better; click a header to sort.</p>"
        + "".join(sections)
        + (f"<h2>Notes</h2><ul>{notes_html}</ul>" if notes_html else "")
    )
    res.files.append(atomic_write_text(out / "index.html", page("lode-bench report", body)))
    return res


def _stored_name(name: str, stored: list[str]) -> str:
    """The stored model a short name (``mymethod`` for ``folder@mymethod``) stands for; the
    name itself when it matches none or several."""
    from lode_bench.bench.store import UnknownModelError, match_model_name

    try:
        return match_model_name(name, stored)
    except UnknownModelError:
        return name


def _stored_key(key: str, stored: list[str]) -> str:
    """An ``--outputs`` key (``MODEL`` or ``DATASET/MODEL``) with the model part resolved."""
    if key in stored:
        return key
    head, sep, model = key.rpartition("/")
    return f"{head}{sep}{_stored_name(model, stored)}" if sep else _stored_name(key, stored)


def _section(table: SummaryTable, figs: list[tuple[Path, str]], out: Path) -> str:
    links = " · ".join(
        f'<a href="tables/{esc(table.key)}{ext}">{ext[1:]}</a>' for ext in (".md", ".tex", ".csv")
    )
    return (
        f"<section><h2>{esc(table.title)}</h2>"
        f'<p class="note">{table.n_images} images · manifest {esc(table.dataset_hash[:12])} · '
        f"download: {links}</p>"
        + tables.to_html(table, table_id=table.key)
        + figures([(p.relative_to(out).as_posix(), cap) for p, cap in figs])
        + "</section>"
    )


def read_summary(out_dir: str | Path) -> dict[str, Any]:
    """Load ``summary.json`` of a report folder."""
    return json.loads((Path(out_dir) / "summary.json").read_text(encoding="utf-8"))
