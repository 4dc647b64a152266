"""Summary tables: numbers recomputed from the store match every rendered format."""

from __future__ import annotations

import csv
import io
import math
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from lode_bench.bench.store import ResultRow, ResultsStore
from lode_bench.report import tables
from lode_bench.report.summary import summarize

HOSTILE = '<img src=x onerror="alert(1)">|*_$\\&%#{}'


def random_store(path, *, n=25, seed=0):
    rng = np.random.default_rng(seed)
    truth = {}
    with ResultsStore(path) as st:
        for m, mu, rt in [
            ("identity", 24.0, 0.001),
            ("fast", 26.0, 0.05),
            ("slow", 27.5, 1.2),
            (HOSTILE, 25.0, 0.2),
        ]:
            st.start_run(
                f"r-{hash(m)}",
                model=m,
                dataset="set",
                dataset_hash="hash-a",
                protocol="basicsr",
                protocol_version="1",
                params=1.5e6,
                flops=2.0e10,
            )
            rows = []
            for i in range(n):
                vals = {"PSNR": float(mu + rng.normal()), "SSIM": float(0.8 + 0.02 * rng.normal())}
                truth[(m, i)] = vals
                rows.append(
                    ResultRow(
                        m,
                        "set",
                        "hash-a",
                        "basicsr",
                        "1",
                        f"img{i:03d}",
                        metrics=vals,
                        runtime_s=rt,
                        run_id=f"r-{hash(m)}",
                    )
                )
            st.put(rows)
        # an error row: excluded from the means, counted
        st.put(
            ResultRow(
                "fast",
                "set",
                "hash-a",
                "basicsr",
                "1",
                "broken",
                status="error",
                error="ECC did not converge",
            )
        )
        # same dataset name, another manifest version: must be its own table
        st.put(
            ResultRow(
                "fast",
                "set",
                "hash-b",
                "basicsr",
                "1",
                "img000",
                metrics={"PSNR": 99.0, "SSIM": 1.0},
            )
        )
    return truth


@pytest.fixture
def summaries(tmp_path):
    random_store(tmp_path / "s.sqlite")
    with ResultsStore(tmp_path / "s.sqlite") as st:
        frame, runs = st.results_frame(), st.runs_frame()
    return frame, summarize(frame, runs, n_resamples=500)


def test_versions_are_never_mixed(summaries):
    _, tabs = summaries
    assert [(t.dataset_hash, len(t.rows)) for t in tabs] == [("hash-a", 4), ("hash-b", 1)]


def test_csv_means_equal_direct_recomputation(summaries):
    frame, tabs = summaries
    t = tabs[0]
    recs = list(csv.DictReader(io.StringIO(tables.to_csv(t))))
    ok = frame[(frame.dataset_hash == "hash-a") & (frame.status == "ok")]
    direct = ok.groupby("model")[["PSNR", "SSIM"]].mean()
    assert {r["model"] for r in recs} == set(direct.index)
    for r in recs:
        for c in ("PSNR", "SSIM"):
            assert float(r[f"{c}_mean"]) == pytest.approx(direct.loc[r["model"], c], abs=1e-12)
            assert float(r[f"{c}_ci_low"]) <= float(r[f"{c}_mean"]) <= float(r[f"{c}_ci_high"])
        assert float(r["runtime_s"]) > 0
        assert float(r["params"]) == 1.5e6
    fast = next(r for r in recs if r["model"] == "fast")
    assert (fast["n_ok"], fast["n_error"]) == ("25", "1")
    best = next(r for r in recs if r["PSNR_best"] == "1")
    assert best["model"] == direct["PSNR"].idxmax() == "slow"


def test_markdown_rows_show_rounded_means_and_bold_best(summaries):
    frame, tabs = summaries
    md = tables.to_markdown(tabs[0])
    lines = md.strip().splitlines()
    assert "PSNR ↑" in lines[0] and "Runtime (s/img) ↓" in lines[0]
    ok = frame[(frame.dataset_hash == "hash-a") & (frame.status == "ok")]
    for line in lines[2:]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        model = next(m for m in ok.model.unique() if tables._md_escape(m) == cells[0])
        mean = ok[ok.model == model].PSNR.mean()
        shown = re.match(r"\**([0-9.]+)", cells[1]).group(1)
        assert shown == f"{mean:.2f}"
        assert cells[1].startswith("**") == (model == "slow")
    assert "(1 failed)" in md
    assert "\\<img" in md and re.search(r"(?<!\\)<img", md) is None  # escaped for Markdown


def test_latex_is_booktabs_and_escaped(summaries):
    _, tabs = summaries
    tex = tables.to_latex(tabs[0])
    for cmd in (r"\toprule", r"\midrule", r"\bottomrule", r"\begin{tabular}", r"\end{table}"):
        assert cmd in tex
    assert r"PSNR $\uparrow$" in tex
    assert r"\textbf{" in tex
    assert r"\&" in tex and r"\%" in tex and r"\$" in tex and r"\#" in tex
    assert r"\textbackslash{}" in tex
    # every data row has as many cells as the header
    body = tex.split(r"\midrule")[1].split(r"\bottomrule")[0].strip().splitlines()
    header = tex.split(r"\toprule")[1].split(r"\midrule")[0].strip()
    n = header.count(" & ")
    assert all(re.sub(r"\\&", "", row).count(" & ") == n for row in body)


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self._row, self._cell, self.scripts = [], None, None, 0

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""
        elif tag in ("script", "img"):
            self.scripts += 1

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr":
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def test_html_table_escapes_and_carries_full_precision(summaries):
    frame, tabs = summaries
    html = tables.to_html(tabs[0])
    p = _Cells()
    p.feed(html)
    assert p.scripts == 0  # the hostile <img onerror> never becomes an element
    names = [r[0] for r in p.rows[1:]]
    assert HOSTILE in names
    sorts = [float(x) for x in re.findall(r'data-sort="([0-9.e+-]+)" data-metric="PSNR"', html)]
    ok = frame[(frame.dataset_hash == "hash-a") & (frame.status == "ok")]
    assert sorted(sorts) == pytest.approx(sorted(ok.groupby("model").PSNR.mean()), abs=1e-12)


def test_no_best_marked_when_everyone_ties(tmp_path):
    with ResultsStore(tmp_path / "t.sqlite") as st:
        for m in ("a", "b"):
            st.put(ResultRow(m, "d", "h", "basicsr", "1", "x", metrics={"PSNR": 30.0}))
        t = summarize(st.results_frame(), st.runs_frame())[0]
    assert t.best("PSNR") == set()
    assert "**" not in tables.to_markdown(t).split("\n", 2)[2].split("|")[2]


def test_infinite_psnr_is_spelled_out(tmp_path):
    with ResultsStore(tmp_path / "t.sqlite") as st:
        st.put(ResultRow("copy", "d", "h", "basicsr", "1", "x", metrics={"PSNR": math.inf}))
        st.put(ResultRow("other", "d", "h", "basicsr", "1", "x", metrics={"PSNR": 30.0}))
        t = summarize(st.results_frame(), st.runs_frame())[0]
    md = tables.to_markdown(t)
    assert "**inf**" in md
    assert 'data-sort="inf"' in tables.to_html(t)
    back = pd.read_csv(io.StringIO(tables.to_csv(t))).set_index("model")
    assert back.loc["copy", "PSNR_mean"] == math.inf
    assert back.loc["other", "PSNR_mean"] == 30.0


def test_generalisation_matrix_cross_dataset(tmp_path):
    from lode_bench.report.summary import generalisation_matrix

    values = {
        ("net-g", "GoPro-test"): [30.0, 32.0],
        ("net-g", "RealBlur-J"): [27.0, 28.0],
        ("net-r", "GoPro-test"): [26.0, 27.0],
        ("net-r", "RealBlur-J"): [31.0, 30.0],
        ("identity", "GoPro-test"): [25.0, 26.0],
        ("identity", "RealBlur-J"): [24.0, 25.0],
    }
    train = {"net-g": "GoPro", "net-r": "RealBlur-J", "identity": None}
    with ResultsStore(tmp_path / "g.sqlite") as st:
        for m, ts in train.items():
            st.start_run(
                f"r-{m}",
                model=m,
                dataset="x",
                dataset_hash="x",
                protocol="basicsr",
                protocol_version="1",
                extra={"train_set": ts} if ts else {},
            )
        for (m, d), vals in values.items():
            st.put(
                [
                    ResultRow(m, d, f"h-{d}", "basicsr", "1", str(i), metrics={"PSNR": v})
                    for i, v in enumerate(vals)
                ]
            )
        tabs = summarize(st.results_frame(), st.runs_frame(), n_resamples=100)
    mat, in_domain = generalisation_matrix(tabs, "PSNR")
    assert list(mat.index) == ["net-g [train: GoPro]", "net-r [train: RealBlur-J]"]
    assert list(mat.columns) == ["GoPro-test", "RealBlur-J"]
    assert mat.loc["net-g [train: GoPro]", "RealBlur-J"] == pytest.approx(27.5)
    assert mat.loc["net-r [train: RealBlur-J]", "GoPro-test"] == pytest.approx(26.5)
    assert in_domain.to_numpy().tolist() == [[True, False], [False, True]]
    assert generalisation_matrix(tabs[:1], "PSNR") is None  # one test set: no cross view


def test_method_with_only_failed_images(tmp_path):
    with ResultsStore(tmp_path / "f.sqlite") as st:
        st.put(ResultRow("good", "d", "h", "realblur", "1", "a", metrics={"PSNR": 30.0}))
        for i in ("a", "b"):
            st.put(
                ResultRow(
                    "bad",
                    "d",
                    "h",
                    "realblur",
                    "1",
                    i,
                    status="error",
                    error="ECC did not converge",
                )
            )
        t = summarize(st.results_frame(), st.runs_frame())[0]
    bad = t.row("bad")
    assert (bad.n_ok, bad.n_error) == (0, 2) and math.isnan(bad.metrics["PSNR"].mean)
    assert "| bad | – | – | – | – | 0 (2 failed) |" in tables.to_markdown(t)
    assert t.best("PSNR") == {t.rows.index(t.row("good"))}
