"""Report section from ``lode-bench analyze`` output folders (blur-pattern statistics).

``lode-bench report --analysis DIR`` reads ``DIR/summary.json`` and the figures next to it,
copies the figures into ``<report>/analysis/<slug>/`` and shows one summary table per
folder. Values from blind single-image estimates are marked *(estimated)*.
"""

from __future__ import annotations

import json
from pathlib import Path

from lode_bench.errors import LodeBenchError
from lode_bench.io.atomic import atomic_write_bytes
from lode_bench.io.numbers import format_number
from lode_bench.io.paths import slugify
from lode_bench.report.html import esc, figure


def analysis_section(folder: str | Path, out: Path) -> tuple[list[Path], str]:
    """Copy one analysis folder's figures into the report and return ``(files, html)``.

    Raises:
        LodeBenchError: the folder has no readable ``summary.json``.
    """
    src = Path(folder)
    path = src / "summary.json"
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
        datasets = list(summary["datasets"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise LodeBenchError(f"{path}: not a lode-bench analyze summary ({exc})") from exc
    dest = out / "analysis" / slugify(src.name or "analysis", salt=str(src.resolve()))
    files: list[Path] = []
    figs: list[tuple[Path, str]] = []
    if (src / "comparison.png").is_file():
        p = atomic_write_bytes(dest / "comparison.png", (src / "comparison.png").read_bytes())
        figs.append(
            (
                p,
                "blur patterns across datasets: blurred-area ratio vs flow threshold, "
                "kernel extent, diversity, noise",
            )
        )
    trs = []
    for d in datasets:
        est = d.get("extent_px_median") is None
        ext = d.get("extent_blind_px_median") if est else d.get("extent_px_median")
        div = d.get("diversity", {})
        trs.append(
            "<tr>"
            + "".join(
                f"<td>{esc(x)}</td>"
                for x in (
                    d.get("label", "?"),
                    d.get("n_ok", 0),
                    d.get("n_paired", 0),
                    format_number(ext, 1) + (" (estimated)" if est and ext is not None else ""),
                    format_number(d.get("anisotropy_median"), 2),
                    format_number(d.get("nonlinearity_median"), 3),
                    format_number(div.get("diversity_bits"), 2)
                    + (" (estimated)" if div.get("estimated") else ""),
                    format_number(d.get("noise_sigma_median"), 2),
                    format_number(
                        None
                        if d.get("saturated_frac_median") is None
                        else 100 * d["saturated_frac_median"],
                        2,
                    ),
                )
            )
            + "</tr>"
        )
        hist = src / str(d.get("folder", "")) / "histograms.png"
        if d.get("folder") and hist.is_file():
            p = atomic_write_bytes(
                dest / f"{slugify(str(d.get('label')))}__histograms.png", hist.read_bytes()
            )
            figs.append((p, f"{d.get('label')}: kernel features, saturation and noise"))
    files += [p for p, _ in figs]
    html = (
        f"<section><h2>Blur-pattern statistics ({esc(src.name)})</h2>"
        '<p class="note">Medians over samples. Extent: √(12 λ₁) of the least-squares kernel '
        "between sharp and blurry (paired sets) or a blind estimate (marked). Diversity: "
        "entropy of binned kernel features (bits).</p>"
        '<table class="sortable"><thead><tr><th>Dataset</th><th>Samples</th><th>Paired</th>'
        "<th>Extent (px)</th><th>Anisotropy</th><th>Non-linearity</th>"
        "<th>Diversity (bits)</th><th>Noise σ (8-bit, estimated)</th><th>Saturated (%)</th>"
        f"</tr></thead><tbody>{''.join(trs)}</tbody></table>"
        + "".join(figure(p.relative_to(out).as_posix(), cap) for p, cap in figs)
        + "</section>"
    )
    return files, html
