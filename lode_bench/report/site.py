"""``lode-bench leaderboard build``: a static leaderboard site from validated submissions.

Site layout::

    index.html                      ranking table (sortable), per-dataset links, rejections
    datasets/<slug>.html            full table with intervals, plots
    methods/<slug>.html             method cards (description, links, provenance, results)
    plots/<slug>__*.png
    leaderboard.md                  README-ready ranking table
    leaderboard.json                ranking and per-dataset numbers, machine-readable
    validation.json                 every submission's verdict with its reasons

Only accepted submissions appear in the tables, and every number shown is recomputed from
their per-image rows (claimed aggregates are checked, never displayed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd
from tqdm.auto import tqdm

from lode_bench.io.atomic import atomic_write_json, atomic_write_text
from lode_bench.io.paths import slugify
from lode_bench.report import tables
from lode_bench.report.builder import summary_dict, write_table_plots
from lode_bench.report.html import esc, figures, page, sort_key
from lode_bench.report.leaderboard import LeaderboardSpec, Verdict, load_leaderboard, validate_all
from lode_bench.report.submission import Submission, encode_number, submission_frames
from lode_bench.report.summary import BASE_COLUMNS, SummaryTable, summarize


@dataclass
class SiteResult:
    """What :func:`build_site` wrote."""

    out_dir: Path
    spec: LeaderboardSpec
    verdicts: list[Verdict]
    ranking: list[dict[str, Any]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    @property
    def accepted(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.accepted]

    @property
    def rejected(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.accepted]


def _frames(subs: list[Submission], spec: LeaderboardSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accepted submissions as one results frame (leaderboard metrics only) and a runs frame."""
    res, runs = [], []
    for s in subs:
        r, u = submission_frames(s)
        res.append(r[[c for c in BASE_COLUMNS] + [m for m in spec.metrics if m in r.columns]])
        runs.append(u)
    return pd.concat(res, ignore_index=True), pd.concat(runs, ignore_index=True)


def _ranking(spec: LeaderboardSpec, summaries: list[SummaryTable]) -> list[dict[str, Any]]:
    """Methods ranked by the mean over datasets of the ranking metric's per-dataset mean."""
    by_ds = {t.dataset: t for t in summaries}
    methods = sorted({r.model for t in summaries for r in t.rows})
    out: list[dict[str, Any]] = []
    for m in methods:
        per: dict[str, float] = {}
        for d in spec.datasets:
            t = by_ds.get(d.name)
            try:
                per[d.name] = t.row(m).metrics[spec.ranking_metric].mean if t else math.nan
            except KeyError:
                per[d.name] = math.nan
        vals = list(per.values())
        score = (
            math.nan
            if any(math.isnan(v) for v in vals)
            else (math.inf if any(math.isinf(v) for v in vals) else math.fsum(vals) / len(vals))
        )
        out.append({"method": m, "score": score, "per_dataset": per})
    sign = -1.0 if spec.ranking_higher else 1.0
    out.sort(
        key=lambda e: (
            math.isnan(e["score"]),
            sign * e["score"] if not math.isnan(e["score"]) else 0.0,
            e["method"].lower(),
        )
    )
    rank = 0
    prev = None
    for i, e in enumerate(out):
        if e["score"] != prev:
            rank = i + 1
            prev = e["score"]
        e["rank"] = rank
    return out


def _safe_link(url: str) -> str:
    """An anchor for http(s) URLs; any other text (e.g. ``javascript:``) stays plain text."""
    if not url:
        return "–"
    scheme = urlparse(url.strip()).scheme.lower()
    if scheme in ("http", "https"):
        return f'<a href="{esc(url.strip())}" rel="nofollow noopener">{esc(url)}</a>'
    return esc(url)


def _ranking_html(
    spec: LeaderboardSpec,
    ranking: list[dict[str, Any]],
    cards: dict[str, str],
    ds_pages: dict[str, str],
) -> str:
    arrow = "↑" if spec.ranking_higher else "↓"
    ths = [
        "<th>Rank</th>",
        '<th class="method">Method</th>',
        f"<th>{esc(spec.ranking_metric)} {arrow} (mean over datasets)</th>",
    ]
    ths += [f'<th><a href="{esc(ds_pages[d.name])}">{esc(d.name)}</a></th>' for d in spec.datasets]
    trs = []
    d = tables.digits_for(spec.ranking_metric)
    for e in ranking:
        cells = [
            f'<td data-sort="{e["rank"]}">{e["rank"]}</td>',
            f'<td class="method" data-sort="{esc(e["method"].lower())}"><a href="{esc(cards[e["method"]])}">'
            f"{esc(e['method'])}</a></td>",
            f'<td data-sort="{sort_key(e["score"])}">{esc(tables.fmt(e["score"], d))}</td>',
        ]
        cells += [
            f'<td data-sort="{sort_key(e["per_dataset"][x.name])}">'
            f"{esc(tables.fmt(e['per_dataset'][x.name], d))}</td>"
            for x in spec.datasets
        ]
        trs.append(f'<tr data-model="{esc(e["method"])}">' + "".join(cells) + "</tr>")
    return (
        f'<table class="sortable" id="ranking"><thead><tr>{"".join(ths)}</tr></thead>'
        f"<tbody>{''.join(trs)}</tbody></table>"
    )


def ranking_markdown(spec: LeaderboardSpec, ranking: list[dict[str, Any]]) -> str:
    """README-ready Markdown ranking table."""
    arrow = "↑" if spec.ranking_higher else "↓"
    d = tables.digits_for(spec.ranking_metric)
    head = ["Rank", "Method", f"{spec.ranking_metric} {arrow}", *[x.name for x in spec.datasets]]
    lines = [
        f"## {tables._md_escape(spec.title)}",
        "",
        f"Protocol `{spec.protocol}` v{spec.protocol_version}; ranked by mean "
        f"{spec.ranking_metric} over datasets; numbers recomputed from per-image rows.",
        "",
        "| " + " | ".join(tables._md_escape(h) for h in head) + " |",
        "|---:|:---|" + "---:|" * (len(head) - 2),
    ]
    for e in ranking:
        cells = [str(e["rank"]), tables._md_escape(e["method"]), tables.fmt(e["score"], d)]
        cells += [tables.fmt(e["per_dataset"][x.name], d) for x in spec.datasets]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _method_card(
    spec: LeaderboardSpec, v: Verdict, summaries: list[SummaryTable], ds_pages: dict[str, str]
) -> str:
    sub = v.submission
    assert sub is not None
    m = sub.method
    dl = [
        ("Description", esc(m.get("description") or "–")),
        ("Paper", _safe_link(str(m.get("paper") or ""))),
        ("Code", _safe_link(str(m.get("code") or ""))),
        ("Training set", esc(m.get("training_set") or "–")),
        ("Non-blind (uses the true blur kernel)", "yes" if m.get("non_blind") else "no"),
        ("Parameters (M)", esc(tables.fmt_params(_num(m.get("params"))))),
        ("FLOPs per image (G)", esc(tables.fmt_flops(_num(m.get("flops"))))),
        ("Licence", esc(m.get("licence") or "–")),
        ("Submission file", esc(v.path.name)),
    ]
    prov = sub.provenance
    dl += [
        ("lode-bench version", esc(prov.get("lode_bench_version", "–"))),
        ("Exported", esc(prov.get("exported", "–"))),
    ]
    for run in prov.get("runs", []) if isinstance(prov.get("runs"), list) else []:
        if isinstance(run, dict):
            keys = (
                "run_id",
                "device",
                "precision",
                "tiling",
                "seed",
                "checkpoint_sha256",
                "git_hash",
                "model_card_hash",
            )
            dl.append(
                (
                    "Run",
                    esc(
                        ", ".join(f"{k}={run.get(k)}" for k in keys if run.get(k) not in (None, ""))
                    ),
                )
            )
    parts = [f"<h1>{esc(sub.name)}</h1>", '<dl class="card">']
    parts += [f"<dt>{esc(k)}</dt><dd>{val}</dd>" for k, val in dl]
    parts.append("</dl><h2>Results</h2>")
    for t in summaries:
        try:
            row = t.row(sub.name)
        except KeyError:
            continue
        cells = "".join(
            f"<li>{esc(c)}: {esc(tables.fmt(row.metrics[c].mean, tables.digits_for(c)))}"
            f' <span class="ci">[{esc(tables.fmt(row.metrics[c].low, tables.digits_for(c)))}'
            f"–{esc(tables.fmt(row.metrics[c].high, tables.digits_for(c)))}]</span></li>"
            for c in t.columns
        )
        parts.append(
            f'<h3><a href="../{esc(ds_pages[t.dataset])}">{esc(t.dataset)}</a> '
            f"({row.n_ok} images)</h3><ul>{cells}</ul>"
        )
    return "".join(parts)


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def build_site(
    root: str | Path, out_dir: str | Path, *, n_resamples: int = 2000, progress: bool = True
) -> SiteResult:
    """Validate every submission of the leaderboard at ``root`` and write its static site.

    Raises:
        ConfigError: when ``leaderboard.yaml`` is missing or invalid.
    """
    spec = load_leaderboard(root)
    out = Path(out_dir)
    verdicts = validate_all(spec)
    result = SiteResult(out_dir=out, spec=spec, verdicts=verdicts)
    accepted = [v.submission for v in result.accepted if v.submission is not None]
    summaries: list[SummaryTable] = []
    res = pd.DataFrame(columns=list(BASE_COLUMNS))
    if accepted:
        res, runs = _frames(accepted, spec)
        summaries = summarize(res, runs, n_resamples=n_resamples)
    cards = {s.name: f"methods/{slugify(s.name)}.html" for s in accepted}
    ds_pages = {
        d.name: f"datasets/{slugify(d.name, salt=d.manifest_hash)}.html" for d in spec.datasets
    }
    result.ranking = _ranking(spec, summaries)
    nav = [("../index.html", "Leaderboard")]
    for t in tqdm(summaries, desc="site", unit="dataset", disable=not progress):
        figs = write_table_plots(res, t, out)
        result.files += [p for p, _ in figs]
        links = {m: "../" + href for m, href in cards.items()}
        body = (
            f"<h1>{esc(spec.title)}: {esc(t.dataset)}</h1>"
            f'<p class="note">Protocol {esc(t.protocol)} v{esc(t.protocol_version)} · '
            f"manifest {esc(t.dataset_hash[:12])} · {t.n_images} images · means with 95% "
            "bootstrap intervals; best in bold.</p>"
            + tables.to_html(t, method_links=links, table_id="results")
            + figures([("../" + p.relative_to(out).as_posix(), cap) for p, cap in figs])
        )
        result.files.append(
            atomic_write_text(
                out / ds_pages[t.dataset], page(f"{spec.title}: {t.dataset}", body, nav=nav)
            )
        )
    for v in result.accepted:
        sub = v.submission
        assert sub is not None
        result.files.append(
            atomic_write_text(
                out / cards[sub.name],
                page(
                    f"{sub.name} · {spec.title}",
                    _method_card(spec, v, summaries, ds_pages),
                    nav=nav,
                ),
            )
        )
    rejected = "".join(
        f'<li class="rejected"><strong>{esc(v.path.name)}</strong>'
        f"{' (' + esc(v.submission.name) + ')' if v.submission else ''}: "
        + "; ".join(esc(p) for p in v.problems)
        + "</li>"
        for v in result.rejected
    )
    ds_list = "".join(
        f'<li><a href="{esc(ds_pages[d.name])}">{esc(d.name)}</a> '
        f"(manifest {esc(d.manifest_hash[:12])}, {len(d.image_ids)} images)</li>"
        for d in spec.datasets
    )
    body = (
        f"<h1>{esc(spec.title)}</h1><p>{esc(spec.description)}</p>"
        f'<p class="note">Protocol <code>{esc(spec.protocol)}</code> '
        f"v{esc(spec.protocol_version)} · ranked by {esc(spec.ranking_metric)} · "
        f"{len(result.accepted)} accepted, {len(result.rejected)} rejected submission(s). "
        "Every number is recomputed from per-image rows; click a header to sort.</p>"
        + _ranking_html(spec, result.ranking, cards, ds_pages)
        + f"<h2>Datasets</h2><ul>{ds_list}</ul>"
        + (f"<h2>Rejected submissions</h2><ul>{rejected}</ul>" if rejected else "")
        + '<p class="note"><a href="leaderboard.md">Markdown table</a> · '
        '<a href="leaderboard.json">JSON</a> · <a href="validation.json">validation</a></p>'
    )
    result.files.append(atomic_write_text(out / "index.html", page(spec.title, body)))
    result.files.append(
        atomic_write_text(out / "leaderboard.md", ranking_markdown(spec, result.ranking))
    )
    result.files.append(
        atomic_write_json(
            out / "leaderboard.json",
            {
                "name": spec.name,
                "title": spec.title,
                "protocol": spec.protocol,
                "protocol_version": spec.protocol_version,
                "ranking_metric": spec.ranking_metric,
                "ranking": [
                    {
                        "rank": e["rank"],
                        "method": e["method"],
                        "score": encode_number(e["score"]),
                        "per_dataset": {k: encode_number(v) for k, v in e["per_dataset"].items()},
                    }
                    for e in result.ranking
                ],
                "tables": [summary_dict(t) for t in summaries],
            },
        )
    )
    result.files.append(
        atomic_write_json(
            out / "validation.json",
            [
                {
                    "file": v.path.name,
                    "method": v.submission.name if v.submission else None,
                    "accepted": v.accepted,
                    "problems": v.problems,
                }
                for v in verdicts
            ],
        )
    )
    return result
