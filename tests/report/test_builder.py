"""`lode-bench report` end to end on real deblurring crops: every file exists and parses."""

from __future__ import annotations

import csv
import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lode_bench.cli.report import report_command
from lode_bench.io.images import read_image
from lode_bench.report.builder import build_report, read_summary

# Published PSNR of these crops (tests/data/report/PROVENANCE.md), RGB, data range 255.
PUBLISHED_PSNR = {
    ("identity", "gopro"): 20.8356,
    ("hi-diff", "gopro"): 27.6604,
    ("restormer", "gopro"): 25.3899,
    ("stripformer", "gopro"): 25.8506,
    ("identity", "realblur"): 22.4572,
    ("hi-diff", "realblur"): 23.8206,
    ("restormer", "realblur"): 23.3064,
    ("stripformer", "realblur"): 21.8257,
}


class _Strict(HTMLParser):
    """Collects tags; raises on unbalanced table markup."""

    def __init__(self):
        super().__init__()
        self.stack, self.tags, self.srcs, self.hrefs = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        if tag == "img":
            self.srcs.append(a["src"])
        if tag == "a":
            self.hrefs.append(a["href"])
        if tag in ("table", "thead", "tbody", "tr", "td", "th", "section", "figure"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in ("table", "thead", "tbody", "tr", "td", "th", "section", "figure"):
            assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}>"
            self.stack.pop()


def parse_html(path: Path) -> _Strict:
    p = _Strict()
    p.feed(path.read_text(encoding="utf-8"))
    assert not p.stack
    return p


def test_store_numbers_are_the_published_ones(bench):
    for key, value in PUBLISHED_PSNR.items():
        assert bench.scores[key]["PSNR"] == pytest.approx(value, abs=1e-4)


def test_report_files_exist_parse_and_match_store(bench, tmp_path):
    out = tmp_path / "report"
    res = build_report(bench.store, out, n_resamples=300, progress=False, outputs=bench.outputs)
    assert res.notes == []
    for f in res.files:
        assert f.is_file() and f.stat().st_size > 0, f
        if f.suffix == ".png":
            img = read_image(f)
            assert img.ndim == 3 and img.shape[0] > 50 and img.std() > 1
        elif f.suffix == ".json":
            json.loads(f.read_text())
        elif f.suffix == ".csv":
            assert list(csv.DictReader(f.open()))
        elif f.suffix == ".html":
            parse_html(f)
        elif f.suffix == ".tex":
            text = f.read_text()
            assert text.count(r"\begin{tabular}") == text.count(r"\end{tabular}") >= 1
    names = {f.name for f in res.files}
    key = res.tables[0].key
    for suffix in (".md", ".tex", ".csv", ".html"):
        assert key + suffix in names
    kinds = ["__bars_", "__dist_", "__pareto_", "__gain_coverage_", "__crop", "__best_worst_"]
    for k in kinds:
        assert any(k in n for n in names), k
    # summary.json: means equal to a direct recomputation from the scores
    summary = read_summary(out)
    (table,) = summary["tables"]
    for row in table["rows"]:
        for metric in ("PSNR", "SSIM", "PSNR_w"):
            direct = np.mean(
                [bench.scores[(row["model"], s)][metric] for s in ("gopro", "realblur")]
            )
            assert row["metrics"][metric]["mean"] == pytest.approx(direct, abs=1e-12)
    # protocol 'lode' orders its columns; directions come from the metric registry
    assert table["columns"] == ["PSNR", "SSIM", "PSNR_w"]
    assert table["higher_is_better"] == {"PSNR": True, "SSIM": True, "PSNR_w": True}
    # index.html shows every table and embeds every picture that exists
    idx = parse_html(out / "index.html")
    assert idx.srcs and all((out / s).is_file() for s in idx.srcs)
    assert all((out / h).is_file() for h in idx.hrefs if not h.startswith(("http", "#")))
    html = (out / "index.html").read_text()
    for m in ("identity", "hi-diff", "restormer", "stripformer"):
        assert f'data-model="{m}"' in html
    hi_diff = (PUBLISHED_PSNR[("hi-diff", "gopro")] + PUBLISHED_PSNR[("hi-diff", "realblur")]) / 2
    assert f"| hi-diff | **{hi_diff:.2f}** [" in (out / "tables.md").read_text()


def test_visuals_without_saved_outputs_say_so(tmp_path, make_bench):
    bench = make_bench(tmp_path, record_outputs=False)
    res = build_report(bench.store, tmp_path / "r", n_resamples=200, progress=False)
    names = [f.name for f in res.files]
    assert any(n.endswith("__crop.png") for n in names)  # dataset found through the run table
    assert not any("__best_worst_" in n for n in names)
    assert any("no saved outputs for hi-diff, restormer, stripformer" in n for n in res.notes)
    # given explicitly, the outputs come back
    res = build_report(
        bench.store, tmp_path / "r2", n_resamples=200, progress=False, outputs=bench.outputs
    )
    assert sum("__best_worst_" in f.name for f in res.files) == 3


def test_cli_report(bench, tmp_path):
    out = tmp_path / "cli-report"
    r = CliRunner().invoke(
        report_command,
        ["--store", str(bench.store), "--out", str(out), "--resamples", "200", "--no-visuals"],
    )
    assert r.exit_code == 0, r.output
    assert (out / "index.html").is_file() and (out / "tables.tex").is_file()
    r = CliRunner().invoke(
        report_command, ["--store", str(tmp_path / "missing.sqlite"), "--out", str(out)]
    )
    assert r.exit_code != 0 and "results store not found" in r.output
    r = CliRunner().invoke(
        report_command,
        ["--store", str(bench.store), "--out", str(out), "--outputs", "no-equals-sign"],
    )
    assert r.exit_code != 0 and "NAME=PATH" in r.output


def test_empty_store_gives_a_report_that_says_so(tmp_path):
    from lode_bench.bench.store import ResultsStore

    ResultsStore(tmp_path / "empty.sqlite").close()
    res = build_report(tmp_path / "empty.sqlite", tmp_path / "r", progress=False)
    assert res.tables == [] and "no results" in res.notes[0]
    parse_html(tmp_path / "r" / "index.html")


def test_per_image_gain_is_model_minus_baseline(bench):
    from lode_bench.bench.store import ResultsStore
    from lode_bench.report.summary import per_image_gain

    with ResultsStore(bench.store) as st:
        frame = st.results_frame()
    g = per_image_gain(
        frame,
        dataset_hash=bench.manifest.manifest_hash,
        protocol="lode",
        protocol_version="1",
        metric="PSNR_w",
    )
    assert len(g) == 3 * 2
    for r in g.itertuples():
        expected = (
            bench.scores[(r.model, r.image_id)]["PSNR_w"]
            - bench.scores[("identity", r.image_id)]["PSNR_w"]
        )
        assert r.gain == pytest.approx(expected, abs=1e-12)
        assert 0 < r.mask_coverage < 1
    assert per_image_gain(
        frame,
        dataset_hash=bench.manifest.manifest_hash,
        protocol="lode",
        protocol_version="1",
        metric="PSNR",
        baseline="absent",
    ).empty
