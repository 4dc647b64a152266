"""`lode-bench demo` end to end on a small sample: datasets, runs, report, sites, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from lode_bench.bench.store import ResultsStore
from lode_bench.cli.demo import demo_command
from lode_bench.datasets.manifest import load_manifest
from lode_bench.demo import GLOBAL_MODELS, LOCAL_MODELS, run_demo, store_label
from lode_bench.report.builder import read_summary
from lode_bench.report.leaderboard import load_leaderboard, validate_all


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    messages: list[str] = []
    res = run_demo(
        out,
        n_samples=3,
        size=(96, 128),
        progress=False,
        n_resamples=300,
        echo=messages.append,
        workers=1,
    )
    return res, messages


def test_demo_writes_everything(demo):
    res, messages = demo
    assert messages[0].startswith("[1/4]") and any(m.startswith("[4/4]") for m in messages)
    g = load_manifest(res.datasets["global"])
    loc = load_manifest(res.datasets["local"])
    assert all("kernel" in s["files"] for s in g.samples) and len(g.samples) == 3
    assert all("mask" in s["files"] for s in loc.samples) and len(loc.samples) == 3
    assert res.report_index.is_file()
    for name in ("sample", "lode-local"):
        assert res.sites[name].is_file()
        verdicts = validate_all(load_leaderboard(res.out_dir / "leaderboards" / name))
        assert verdicts and all(v.accepted for v in verdicts), [v.problems for v in verdicts]
    with ResultsStore(res.store) as st:
        frame = st.results_frame()
    assert (frame["status"] == "ok").all(), frame[frame["status"] != "ok"][["model", "error"]]
    got = {(r.model, r.protocol) for r in frame.itertuples()}
    assert got == (
        {(store_label(m), "gopro") for m in GLOBAL_MODELS}
        | {(store_label(m), "lode") for m in LOCAL_MODELS}
    )
    assert "wiener [non-blind]" in {m for m, _ in got}


def test_demo_numbers_recomputed_from_store_match_report(demo):
    res, _ = demo
    with ResultsStore(res.store) as st:
        frame = st.results_frame()
    summary = read_summary(res.out_dir / "report")
    for table in summary["tables"]:
        sel = frame[
            (frame.dataset_hash == table["dataset_hash"]) & (frame.protocol == table["protocol"])
        ]
        for row in table["rows"]:
            for col, iv in row["metrics"].items():
                direct = sel.loc[sel.model == row["model"], col].mean()
                assert iv["mean"] == pytest.approx(direct, abs=1e-12)
    md = (res.out_dir / "report" / "tables.md").read_text()
    assert "richardson-lucy \\[non-blind\\]" in md and "PSNR_w ↑" in md
    # the non-blind baselines with the true kernel must beat the blurry input on this sample
    g = frame[frame.protocol == "gopro"].groupby("model").PSNR.mean()
    assert g["richardson-lucy [non-blind]"] > g["identity"]
    # the leaderboard site ranks by recomputed numbers
    board = json.loads((res.out_dir / "site" / "sample" / "leaderboard.json").read_text())
    scores = [e["score"] for e in board["ranking"]]
    assert scores == sorted(scores, reverse=True)
    assert board["ranking"][0]["score"] == pytest.approx(g.max(), abs=1e-9)


def test_demo_resumes_without_recomputing(demo):
    res, _ = demo
    with ResultsStore(res.store) as st:
        before = st.results_frame().sort_values(["model", "protocol", "image_id"])
    res2 = run_demo(
        res.out_dir,
        n_samples=3,
        size=(96, 128),
        progress=False,
        n_resamples=300,
        echo=lambda _m: None,
        workers=1,
    )
    with ResultsStore(res2.store) as st:
        after = st.results_frame().sort_values(["model", "protocol", "image_id"])
    assert len(before) == len(after)
    assert np.array_equal(before["run_id"].to_numpy(), after["run_id"].to_numpy())  # not re-run


def test_demo_cli_rejects_bad_options(tmp_path):
    r = CliRunner().invoke(demo_command, ["--out", str(tmp_path / "d"), "--samples", "0"])
    assert r.exit_code == 2 and "--samples" in r.output


def test_demo_learned_model_is_ahead_of_identity_on_both_samples(demo):
    """lode-tiny (trained on other seeds) beats the blurry input, globally and locally."""
    res, _ = demo
    with ResultsStore(res.store) as st:
        frame = st.results_frame()
        runs = st.runs_frame()
    g = frame[frame.protocol == "gopro"].groupby("model")[["PSNR", "SSIM"]].mean()
    loc = frame[frame.protocol == "lode"].groupby("model")[["PSNR_w", "SSIM_w"]].mean()
    assert g.loc["lode-tiny", "PSNR"] > g.loc["identity", "PSNR"] + 0.05, g
    assert loc.loc["lode-tiny", "PSNR_w"] > loc.loc["identity", "PSNR_w"] + 0.05, loc
    # it ran through the torch path: tiles, FLOPs counted, per-image model time recorded
    tiny = runs[runs.model == "lode-tiny"].sort_values("created").groupby("protocol").head(1)
    assert len(tiny) == 2 and (tiny.tiling == "128").all() and (tiny.flops > 0).all(), tiny
    assert (tiny.device == "cpu").all() and (tiny.params > 1e5).all()
    assert frame.loc[frame.model == "lode-tiny", "runtime_s"].gt(0).all()
    md = (res.out_dir / "report" / "tables.md").read_text()
    assert md.count("| lode-tiny") == 2, md  # a row in the global and in the local table


def test_demo_report_shows_blur_patterns_and_ranks(demo):
    """The demo report carries the blur-pattern figures of both sets and the rank plots."""
    import csv

    res, _ = demo
    rows = list(csv.DictReader((res.out_dir / "analysis" / "samples.csv").open()))
    assert sorted({r["dataset"] for r in rows}) == ["global", "local"] and len(rows) == 6
    page = res.report_index.read_text(encoding="utf-8")
    figs = sorted((res.report_index.parent / "analysis").glob("*/*.png"))
    assert any(f.name == "comparison.png" for f in figs) and len(figs) == 3
    for f in figs:
        assert f.relative_to(res.report_index.parent).as_posix() in page
    gen = res.report_index.parent / "generalisation"
    assert (gen / "rank_overall.png").is_file() and (gen / "ranks_per_dataset.png").is_file()
