"""The static leaderboard site: files, escaping, numbers, and a real headless-browser check."""

from __future__ import annotations

import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lode_bench.cli.leaderboard import leaderboard_build
from lode_bench.io.images import read_image
from lode_bench.report.site import build_site
from lode_bench.report.submission import load_submission
from tests.leaderboard.lb_helpers import DATASETS, HOSTILE, MODELS, load_json


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements, self.hrefs, self.srcs, self.scripts = [], [], [], []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elements.append((tag, a))
        if tag == "a":
            self.hrefs.append(a.get("href"))
        if tag == "img":
            self.srcs.append(a.get("src"))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def parse(path):
    p = _Elements()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def _expected_ranking(board):
    """Independent recomputation: mean over datasets of each method's per-image PSNR mean."""
    scores = {}
    for m, path in board.files.items():
        doc = load_json(path)
        per = [np.mean([r["metrics"]["PSNR"] for r in b["rows"]]) for b in doc["results"]]
        scores[m] = float(np.mean(per))
    return sorted(scores, key=lambda m: -scores[m]), scores


def test_site_files_numbers_and_escaping(board, tmp_path):
    out = tmp_path / "site"
    tamper = board.root / "submissions" / "50-tampered.json"
    doc = load_json(board.files["slow-net"])
    doc["method"]["name"] = "tampered <b>net</b>"
    doc["results"][0]["aggregates"]["PSNR"] = 99.0
    tamper.write_text(json.dumps(doc))
    res = build_site(board.root, out, n_resamples=200, progress=False)
    assert len(res.accepted) == len(MODELS) and len(res.rejected) == 1
    for f in res.files:
        assert f.is_file() and f.stat().st_size > 0
        if f.suffix == ".png":
            assert read_image(f).shape[2] == 3
        elif f.suffix == ".json":
            json.loads(f.read_text())
    names = {f.relative_to(out).as_posix() for f in res.files}
    assert {"index.html", "leaderboard.md", "leaderboard.json", "validation.json"} <= names
    assert sum(n.startswith("datasets/") for n in names) == len(DATASETS)
    assert sum(n.startswith("methods/") for n in names) == len(MODELS)
    # no file name is derived unsafely from a hostile method name
    assert all(re.fullmatch(r"[a-z0-9_./-]+", n) for n in names)
    order, scores = _expected_ranking(board)
    got = load_json(out / "leaderboard.json")["ranking"]
    assert [e["method"] for e in got] == order
    for e in got:
        assert e["score"] == pytest.approx(scores[e["method"]], abs=1e-9)
    md = (out / "leaderboard.md").read_text()
    assert f"| 1 | {order[0]} | {scores[order[0]]:.2f} |" in md
    # every page: hostile text never becomes markup; only our own script; links resolve
    for page in out.rglob("*.html"):
        p = parse(page)
        assert not any(tag == "img" and a.get("src") == "x" for tag, a in p.elements), page
        assert not any(any(k.startswith("on") for k in a) for _, a in p.elements), page
        assert len(p.scripts) == 1 and "sortBy" in p.scripts[0]
        assert not any(h and h.lower().startswith("javascript:") for h in p.hrefs), page
        for h in p.hrefs + p.srcs:
            if h and not h.startswith(("http://", "https://")):
                assert (page.parent / h).resolve().is_file(), (page, h)
    index = (out / "index.html").read_text()
    assert "&lt;img src=x onerror=" in index
    assert "tampered &lt;b&gt;net&lt;/b&gt;" in index and "claimed PSNR" in index
    card = next((out / "methods").glob("img-src-x*.html")).read_text()
    assert 'href="https://example.org/paper?a=1&amp;b=2"' in card
    assert "javascript:window.__pwned=2" in card  # shown as text, never as a link
    assert load_json(out / "validation.json")[-1]["accepted"] is False


def test_cli_build(board, tmp_path):
    r = CliRunner().invoke(leaderboard_build, [str(board.root), "--out", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    assert "4 accepted, 0 rejected" in r.output and "| Rank | Method |" in r.output
    (board.root / "submissions" / "zz.json").write_text("{}")
    r = CliRunner().invoke(
        leaderboard_build, [str(board.root), "--out", str(tmp_path / "s"), "--strict"]
    )
    assert r.exit_code == 1 and "rejected zz.json" in r.output


def test_site_in_headless_chromium(board, tmp_path, browser, serve):
    out = tmp_path / "site"
    build_site(board.root, out, n_resamples=200, progress=False)
    base = serve(out)
    page = browser.page()
    try:
        page.goto(f"{base}/index.html")
        assert page.eval("document.body.getAttribute('data-sortable-ready')") == "1"
        rows = page.eval(
            "Array.from(document.querySelectorAll('#ranking tbody tr'))"
            ".map(r => Array.from(r.cells).map(c => c.textContent.trim()))"
        )
        order, scores = _expected_ranking(board)
        assert [r[1] for r in rows] == order
        assert [r[2] for r in rows] == [f"{scores[m]:.2f}" for m in order]
        assert page.eval("window.__pwned === undefined") is True
        assert HOSTILE in [r[1] for r in rows]
        # sorting: click the score header -> ascending, again -> descending
        page.eval("document.querySelectorAll('#ranking thead th')[2].click()")
        asc = page.eval(
            "Array.from(document.querySelectorAll('#ranking tbody tr'))"
            ".map(r => r.cells[1].textContent)"
        )
        assert asc == order[::-1]
        page.eval("document.querySelectorAll('#ranking thead th')[2].click()")
        assert (
            page.eval("document.querySelectorAll('#ranking tbody tr')[0].cells[1].textContent")
            == order[0]
        )
        shot = page.screenshot(tmp_path / "leaderboard-index.png")
        if os.environ.get("LODE_BENCH_ARTIFACTS"):
            shutil.copy(shot, Path(os.environ["LODE_BENCH_ARTIFACTS"]) / shot.name)
        assert read_image(shot).shape[1] >= 800
        errors = page.console_errors()
        links = page.eval(
            "Array.from(new Set(Array.from(document.querySelectorAll('a'))"
            ".map(a => a.getAttribute('href'))"
            ".filter(h => h.startsWith('datasets/') || h.startsWith('methods/'))))"
        )
        assert len(links) == len(DATASETS) + len(MODELS)
        for href in links:
            page.goto(f"{base}/{href}")
            errors += page.console_errors()
            assert (
                page.eval(
                    "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
                )
                is True
            )
            assert page.eval("window.__pwned === undefined") is True
            if href.startswith("datasets/"):
                n = page.eval("document.querySelectorAll('#results tbody tr').length")
                assert n == len(MODELS)
                shown = page.eval(
                    "Array.from(document.querySelectorAll('#results tbody tr'))"
                    ".map(r => r.getAttribute('data-model'))"
                )
                assert sorted(shown) == sorted(MODELS)
                page.screenshot(tmp_path / f"{href.replace('/', '_')}.png")
        assert errors == [], errors
        # the detector itself: a broken page must report its errors
        (out / "broken.html").write_text(
            '<!DOCTYPE html><html><body><img src="missing.png">'
            "<script>notDefinedAnywhere();</script></body></html>"
        )
        page.goto(f"{base}/broken.html")
        found = page.console_errors()
        assert any("notDefinedAnywhere" in e for e in found), found
        assert any("404" in e or "missing.png" in e for e in found), found
    finally:
        page.close()
    sub = load_submission(board.files["identity"])
    assert sub.name == "identity"


def test_report_page_in_headless_chromium(board, tmp_path, browser, serve):
    from lode_bench.report.builder import build_report

    out = tmp_path / "report"
    res = build_report(board.store, out, n_resamples=200, progress=False, visuals=False)
    base = serve(out)
    page = browser.page()
    try:
        page.goto(f"{base}/index.html")
        # the summary tables plus those of the cross-dataset section (two datasets here)
        n_sortable = (out / "index.html").read_text().count('<table class="sortable"')
        assert n_sortable >= len(res.tables)
        assert page.eval("document.body.getAttribute('data-sortable-ready')") == str(n_sortable)
        for t in res.tables:
            shown = page.eval(
                f"Array.from(document.getElementById({json.dumps(t.key)})"
                ".tBodies[0].rows).map(r => r.getAttribute('data-model'))"
            )
            assert shown == [r.model for r in t.rows]
            psnr = page.eval(
                f"Array.from(document.getElementById({json.dumps(t.key)})"
                ".querySelectorAll('td[data-metric=PSNR]'))"
                ".map(c => c.textContent.split(' ')[0])"
            )
            assert psnr == [f"{r.metrics['PSNR'].mean:.2f}" for r in t.rows]
        # the cross-dataset table sorts by the clicked column (descending on a second click),
        # its last header included
        last = "Array.from(document.querySelectorAll('#generalisation thead th')).pop()"
        page.eval(f"{last}.click()")
        page.eval(f"{last}.click()")
        assert page.eval(f"{last}.getAttribute('aria-sort')") == "descending"
        keys = page.eval(
            "Array.from(document.querySelectorAll('#generalisation tbody tr'))"
            ".map(r => parseFloat(r.cells[r.cells.length - 1].getAttribute('data-sort')))"
        )
        assert len(keys) >= 2 and keys == sorted(keys, reverse=True)
        assert page.eval("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        assert page.eval("window.__pwned === undefined") is True
        page.screenshot(tmp_path / "report-index.png")
        assert page.console_errors() == []
    finally:
        page.close()
