"""Render a :class:`SummaryTable` as Markdown, LaTeX (booktabs), CSV and HTML.

Every format shows, per method: the mean of each metric with its 95 % bootstrap interval,
the best mean of each column marked (bold; ``best`` flag in CSV), an arrow telling
whether higher (↑) or lower (↓) is better, the number of scored images, and the runtime
(mean seconds per image; "–" for precomputed ``folder`` outputs, and the identity
baseline is never marked fastest), parameter count (millions) and FLOPs (G per image) columns.
"""

from __future__ import annotations

import csv
import io
import math

from lode_bench.io.csvcells import safe_row
from lode_bench.io.numbers import format_number as fmt
from lode_bench.report.html import esc, sort_key
from lode_bench.report.summary import MethodRow, SummaryTable


def digits_for(column: str) -> int:
    """Decimal places shown for a metric column (2 for PSNR-like dB values, else 4)."""
    return 2 if "psnr" in column.lower() else 4


def fmt_runtime(seconds: float) -> str:
    """Runtime per image in seconds with 3 significant digits (``–`` when unknown)."""
    if seconds is None or math.isnan(seconds):
        return "–"
    return f"{seconds:.3g}"


def shown_runtime(row: MethodRow) -> float:
    """The runtime a table shows: NaN ("–") for precomputed outputs, whose recorded time is
    only the time to read a file."""
    return row.runtime_s if row.runtime_measured else math.nan


def fmt_params(params: float | None) -> str:
    """Parameter count in millions."""
    return "–" if params is None else f"{params / 1e6:.3g}"


def fmt_flops(flops: float | None) -> str:
    """FLOPs per image in G."""
    return "–" if flops is None else f"{flops / 1e9:.3g}"


def _arrow(higher: bool) -> str:
    return "↑" if higher else "↓"


def _cells(table: SummaryTable, row: MethodRow, column: str) -> tuple[str, str]:
    """Mean text and interval text (empty when there is no value)."""
    iv = row.metrics[column]
    d = digits_for(column)
    if math.isnan(iv.mean):
        return fmt(iv.mean, d), ""
    return fmt(iv.mean, d), f"{fmt(iv.low, d)}–{fmt(iv.high, d)}"


def _n_text(row: MethodRow, table: SummaryTable) -> str:
    text = str(row.n_ok)
    if row.n_error:
        text += f" ({row.n_error} failed)"
    return text


def to_markdown(table: SummaryTable) -> str:
    """GitHub Markdown table; best means in bold, intervals in brackets."""
    head = [
        "Method",
        *[f"{c} {_arrow(table.directions[c])}" for c in table.columns],
        "Runtime (s/img) ↓",
        "Params (M)",
        "FLOPs (G)",
        "Images",
    ]
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(head) - 1)) + "|",
    ]
    best = {c: table.best(c) for c in table.columns}
    best_rt = table.best("runtime_s")
    for i, row in enumerate(table.rows):
        cells = [_md_escape(row.model)]
        for c in table.columns:
            mean, ci = _cells(table, row, c)
            cells.append((f"**{mean}**" if i in best[c] else mean) + (f" [{ci}]" if ci else ""))
        rt = fmt_runtime(shown_runtime(row))
        cells += [
            f"**{rt}**" if i in best_rt else rt,
            fmt_params(row.params),
            fmt_flops(row.flops),
            _n_text(row, table),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _md_escape(text: str) -> str:
    out = text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    for ch in "*_`[]<>#":
        out = out.replace(ch, "\\" + ch)
    return out


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX special characters in plain text."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text.replace("\n", " "))


def to_latex(table: SummaryTable, *, caption: str | None = None, label: str | None = None) -> str:
    """A ``table`` environment with a booktabs ``tabular`` (needs ``\\usepackage{booktabs}``)."""
    ncol = len(table.columns) + 5
    head = [
        "Method",
        *[
            latex_escape(c) + (r" $\uparrow$" if table.directions[c] else r" $\downarrow$")
            for c in table.columns
        ],
        r"Runtime (s) $\downarrow$",
        "Params (M)",
        "FLOPs (G)",
        "Images",
    ]
    best = {c: table.best(c) for c in table.columns}
    best_rt = table.best("runtime_s")
    body = []
    for i, row in enumerate(table.rows):
        cells = [latex_escape(row.model)]
        for c in table.columns:
            mean, ci = _cells(table, row, c)
            mean_tex = rf"\textbf{{{mean}}}" if i in best[c] else mean
            cells.append(mean_tex + (rf"\,{{\scriptsize[{ci.replace('–', '--')}]}}" if ci else ""))
        rt = fmt_runtime(shown_runtime(row))
        cells += [
            rf"\textbf{{{rt}}}" if i in best_rt else rt,
            fmt_params(row.params),
            fmt_flops(row.flops),
            latex_escape(_n_text(row, table)),
        ]
        body.append(" & ".join(c.replace("–", "--") for c in cells) + r" \\")
    cap = (
        latex_escape(caption)
        if caption
        else (
            f"{latex_escape(table.dataset)}, protocol {latex_escape(table.protocol)} "
            f"v{latex_escape(table.protocol_version)}: mean over images with 95\\% bootstrap "
            "interval; best in bold."
        )
    )
    lab = label or f"tab:{table.key}"
    return "\n".join(
        [
            r"\begin{table}[t]",
            r"\centering",
            r"\small",
            rf"\caption{{{cap}}}",
            rf"\label{{{lab}}}",
            r"\begin{tabular}{l" + "r" * (ncol - 1) + "}",
            r"\toprule",
            " & ".join(head) + r" \\",
            r"\midrule",
            *body,
            r"\bottomrule",
            r"\end{tabular}",
            r"\end{table}",
            "",
        ]
    )


def to_csv(table: SummaryTable) -> str:
    """Machine-readable CSV: full-precision means and bounds, a ``best`` flag per metric.

    Text cells that a spreadsheet would run as a formula are neutralised
    (:func:`~lode_bench.io.csvcells.safe_cell`); numbers are written as numbers.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    head = ["dataset", "dataset_hash", "protocol", "protocol_version", "model", "n_ok", "n_error"]
    for c in table.columns:
        head += [f"{c}_mean", f"{c}_ci_low", f"{c}_ci_high", f"{c}_best", f"{c}_higher_is_better"]
    head += ["runtime_s", "params", "flops", "train_set"]
    w.writerow(safe_row(head))
    best = {c: table.best(c) for c in table.columns}
    for i, row in enumerate(table.rows):
        rec: list[object] = [
            table.dataset,
            table.dataset_hash,
            table.protocol,
            table.protocol_version,
            row.model,
            row.n_ok,
            row.n_error,
        ]
        for c in table.columns:
            iv = row.metrics[c]
            rec += [
                repr(iv.mean),
                repr(iv.low),
                repr(iv.high),
                int(i in best[c]),
                int(table.directions[c]),
            ]
        rec += [
            "" if not row.runtime_measured else repr(row.runtime_s),
            "" if row.params is None else repr(row.params),
            "" if row.flops is None else repr(row.flops),
            row.train_set or "",
        ]
        w.writerow(safe_row(rec))
    return buf.getvalue()


def to_html(
    table: SummaryTable, *, method_links: dict[str, str] | None = None, table_id: str | None = None
) -> str:
    """A sortable ``<table>``; all text escaped; ``data-sort`` holds full-precision numbers.

    Args:
        table: the summary.
        method_links: optional model -> href (e.g. method cards on a leaderboard site).
        table_id: ``id`` attribute.
    """
    links = method_links or {}
    ths = ['<th class="method">Method</th>']
    for c in table.columns:
        word = "higher" if table.directions[c] else "lower"
        ths.append(f'<th title="{esc(word)} is better">{esc(c)} {_arrow(table.directions[c])}</th>')
    ths += [
        '<th title="lower is better">Runtime (s/img) ↓</th>',
        "<th>Params (M)</th>",
        "<th>FLOPs (G)</th>",
        "<th>Images</th>",
    ]
    best = {c: table.best(c) for c in table.columns}
    best_rt = table.best("runtime_s")
    trs = []
    for i, row in enumerate(table.rows):
        name = esc(row.model)
        if row.model in links:
            name = f'<a href="{esc(links[row.model])}">{name}</a>'
        tds = [f'<td data-sort="{esc(row.model.lower())}" class="method">{name}</td>']
        for c in table.columns:
            mean, ci = _cells(table, row, c)
            cls = ' class="best"' if i in best[c] else ""
            tds.append(
                f'<td{cls} data-sort="{sort_key(row.metrics[c].mean)}" '
                f'data-metric="{esc(c)}">{esc(mean)}'
                + (f' <span class="ci">[{esc(ci)}]</span>' if ci else "")
                + "</td>"
            )
        cls = ' class="best"' if i in best_rt else ""
        tds += [
            f'<td{cls} data-sort="{sort_key(shown_runtime(row))}">{esc(fmt_runtime(shown_runtime(row)))}</td>',
            f'<td data-sort="{sort_key(row.params)}">{esc(fmt_params(row.params))}</td>',
            f'<td data-sort="{sort_key(row.flops)}">{esc(fmt_flops(row.flops))}</td>',
            f'<td data-sort="{row.n_ok}">{esc(_n_text(row, table))}</td>',
        ]
        trs.append(f'<tr data-model="{esc(row.model)}">' + "".join(tds) + "</tr>")
    tid = f' id="{esc(table_id)}"' if table_id else ""
    return (
        f'<table class="sortable"{tid}><thead><tr>{"".join(ths)}</tr></thead>'
        f"<tbody>{''.join(trs)}</tbody></table>"
    )
