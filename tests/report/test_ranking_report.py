"""The generalisation section end to end: `run` on two tiny built-in datasets, then `report`.

Four methods (identity, unsharp, Wiener and Richardson-Lucy with the true kernel) are run
on two built-in datasets synthesised with different seeds; a third, blur-only set gets a
column with an unknown name (a sharpness score computed here from the saved outputs) and
a column named like a registered metric. The report's files are parsed and their
numbers re-derived independently from the store with pandas and scipy.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import rankdata

from lode_bench.bench.runner import run_benchmark
from lode_bench.bench.store import ResultRow, ResultsStore
from lode_bench.cli.report import report_command
from lode_bench.io.images import read_image
from lode_bench.synth.builtin_dataset import build_builtin_dataset

METHODS = ("identity", "unsharp", "wiener", "richardson-lucy")


def _laplacian_energy(img: np.ndarray) -> float:
    g = img.astype(np.float64).mean(axis=2)
    lap = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4 * g[1:-1, 1:-1]
    return float(np.mean(lap**2))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("gen")
    st = tmp / "results.sqlite"
    for name, seed in (("synpan-a", 0), ("synpan-b", 7)):
        man = build_builtin_dataset(
            tmp / name, kind="global", n_samples=3, size=(48, 64), seed=seed, name=name
        )
        for m in METHODS:
            run_benchmark(
                m,
                str(man.root),
                "basicsr",
                st,
                progress=False,
                workers=1,
                save_outputs=tmp / "out" / name / m if name == "synpan-b" else None,
                flops_size=None,
            )
        if name == "synpan-a":  # a second protocol on one set, run by two methods only
            for m in ("identity", "unsharp"):
                run_benchmark(
                    m, str(man.root), "gopro", st, progress=False, workers=1, flops_size=None
                )
    # a blur-only set: per-image sharpness of the outputs on synpan-b under an unknown
    # column name, and the same numbers under "NIQE" (a lower-is-better name)
    rows = []
    for m in METHODS:
        for p in sorted((tmp / "out" / "synpan-b" / m).rglob("*.png")):
            e = _laplacian_energy(read_image(p))
            rows.append(
                ResultRow(
                    model=m,
                    dataset="realworld",
                    dataset_hash="rw-hash",
                    protocol="nr-test",
                    protocol_version="1",
                    image_id=p.stem,
                    metrics={"MysteryQ": e, "NIQE": 1000.0 / (1.0 + e)},
                    runtime_s=0.0,
                )
            )
    assert len(rows) == 4 * 3
    with ResultsStore(st) as s:
        s.put(rows)
    return st, tmp


def _frame(st: Path) -> pd.DataFrame:
    with ResultsStore(st) as s:
        return s.results_frame()


def test_generalisation_report_end_to_end(store: tuple[Path, Path]) -> None:
    st, tmp = store
    out = tmp / "report"
    res = CliRunner().invoke(
        report_command,
        [
            "--store",
            str(st),
            "--out",
            str(out),
            "--no-visuals",
            "--resamples",
            "200",
            "--train-set",
            "unsharp=synpan-a train",
        ],
    )
    assert res.exit_code == 0, res.output
    gdir = out / "generalisation"
    frame = _frame(st)
    ok = frame[frame["status"] == "ok"]
    # --- wide table: every method × dataset × metric, means equal pandas' means
    with (gdir / "table.csv").open() as f:
        table = list(csv.DictReader(f))
    cells = {(r["model"], r["dataset"], r["metric"]): r for r in table}
    # a column name shared by two protocols of one set is labelled with its protocol
    expect_cols = {
        ("synpan-a", "PSNR [basicsr]"),
        ("synpan-a", "SSIM [basicsr]"),
        ("synpan-a", "PSNR [gopro]"),
        ("synpan-a", "SSIM [gopro]"),
        ("synpan-b", "PSNR"),
        ("synpan-b", "SSIM"),
        ("realworld", "MysteryQ"),
        ("realworld", "NIQE"),
    }
    assert {(d, k) for _, d, k in cells} == expect_cols
    assert len(table) == len(METHODS) * len(expect_cols)
    ok = ok.assign(col_protocol=ok["protocol"])
    rows = []
    for (d, m, proto), g in ok.groupby(["dataset", "model", "protocol"]):
        for k in ("PSNR", "SSIM", "MysteryQ", "NIQE"):
            if g[k].notna().any():
                label = f"{k} [{proto}]" if d == "synpan-a" else k
                rows.append({"dataset": d, "model": m, "col": label, "v": g[k].mean()})
    means = pd.DataFrame(rows).pivot_table(index=["dataset", "model"], columns="col", values="v")
    for (m, d, k), r in cells.items():
        want = means.loc[(d, m), k] if (d, m) in means.index else math.nan
        if math.isnan(want):  # wiener and richardson-lucy never ran the gopro protocol
            assert (
                r["mean"] == "nan" and k.endswith("[gopro]") and m in ("wiener", "richardson-lucy")
            )
        else:
            assert float(r["mean"]) == pytest.approx(want, rel=1e-12)
    # direction: PSNR from the protocol's MetricSpec; NIQE and the unknown name from the name
    assert cells[("identity", "synpan-a", "PSNR [gopro]")]["direction_source"] == "protocol"
    assert cells[("identity", "realworld", "NIQE")]["higher_is_better"] == "0"
    assert cells[("identity", "realworld", "MysteryQ")]["higher_is_better"] == "1"
    # best flags: the arg-best of each column
    for d, k in expect_cols:
        hib = cells[("identity", d, k)]["higher_is_better"] == "1"
        col = means.xs(d)[k].dropna()
        best = col.idxmax() if hib else col.idxmin()
        flagged = [m for m in METHODS if cells[(m, d, k)]["best"] == "1"]
        assert flagged == [best]
    # --- ranks: re-derived with scipy.stats.rankdata (identity excluded from ranking)
    ranked = [m for m in METHODS if m != "identity"]
    ranks = pd.read_csv(gdir / "ranks.csv")
    per_ds = {}
    for d in ("synpan-a", "synpan-b", "realworld"):
        ks = [k for dd, k in expect_cols if dd == d]
        rs = []
        for k in ks:
            v = means.xs(d).reindex(ranked)[k].to_numpy()
            hib = cells[("identity", d, k)]["higher_is_better"] == "1"
            key = np.where(np.isnan(v), np.inf, -v if hib else v)  # missing: shared last places
            rs.append(rankdata(key, method="average"))
        per_ds[d] = np.mean(rs, axis=0)
        got = ranks[ranks["scope"] == d].set_index("model").loc[ranked, "mean_rank"].to_numpy()
        np.testing.assert_allclose(got, per_ds[d], rtol=0, atol=1e-12)
    overall = np.mean(list(per_ds.values()), axis=0)
    o = ranks[ranks["scope"] == "overall"].set_index("model")
    np.testing.assert_allclose(o.loc[ranked, "mean_rank"].to_numpy(), overall, atol=1e-12)
    assert (o["ci_low"] <= o["mean_rank"] + 1e-9).all() and (
        o["mean_rank"] <= o["ci_high"] + 1e-9
    ).all()
    assert o["p_best"].sum() == pytest.approx(1.0)
    # --- domain drop: unsharp declared as trained on synpan-a
    drop = pd.read_csv(gdir / "drop.csv")
    assert set(drop["model"]) == {"unsharp"}
    assert set(drop["model"]) == {"unsharp"}
    # synpan-b's PSNR (basicsr) pairs with synpan-a's "PSNR [basicsr]", not its gopro PSNR
    psnr = drop[drop["metric"] == "PSNR"]
    assert len(psnr) == 1 and psnr.iloc[0]["protocol"] == psnr.iloc[0]["in_protocol"] == "basicsr"
    psnr = psnr.iloc[0]
    assert psnr["in_domain"] == "synpan-a" and psnr["dataset"] == "synpan-b"
    assert psnr["drop"] == pytest.approx(
        means.loc[("synpan-a", "unsharp"), "PSNR [basicsr]"]
        - means.loc[("synpan-b", "unsharp"), "PSNR"],
        rel=1e-12,
    )
    assert set(drop["metric"]) == {"PSNR", "SSIM"}  # the blur-only set has no in-domain twin
    # --- plots, summary.json, HTML
    for name in ("ranks_per_dataset.png", "rank_overall.png"):
        assert (gdir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(gdir.glob("drop_psnr-basicsr-*.png"))
    summary = json.loads((out / "summary.json").read_text())
    gen = summary["generalisation"]
    assert gen["train_sets"]["unsharp"] == "synpan-a train" and gen["missing_rule"] == "last"
    assert any("MysteryQ" in n and "guessed" in n for n in gen["notes"])
    html = (out / "index.html").read_text()
    assert "Generalisation across datasets" in html and "generalisation/rank_overall.png" in html
    md = (gdir / "table.md").read_text()
    assert "PSNR ↑" in md and "NIQE ↓" in md


def test_single_dataset_has_no_section_unless_asked(store: tuple[Path, Path]) -> None:
    st, tmp = store
    one = tmp / "one.sqlite"
    frame = _frame(st)
    with ResultsStore(one) as s:
        rows = []
        for r in frame[frame["dataset"] == "realworld"].itertuples():
            rows.append(
                ResultRow(
                    model=r.model,
                    dataset=r.dataset,
                    dataset_hash=r.dataset_hash,
                    protocol=r.protocol,
                    protocol_version=r.protocol_version,
                    image_id=r.image_id,
                    metrics={"MysteryQ": r.MysteryQ},
                )
            )
        s.put(rows)
    runner = CliRunner()
    res = runner.invoke(
        report_command,
        ["--store", str(one), "--out", str(tmp / "r1"), "--no-visuals", "--resamples", "100"],
    )
    assert res.exit_code == 0, res.output
    assert not (tmp / "r1" / "generalisation").exists()
    res = runner.invoke(
        report_command,
        [
            "--store",
            str(one),
            "--out",
            str(tmp / "r2"),
            "--no-visuals",
            "--resamples",
            "100",
            "--generalisation",
        ],
    )
    assert res.exit_code == 0, res.output
    ranks = pd.read_csv(tmp / "r2" / "generalisation" / "ranks.csv")
    assert set(ranks["scope"]) == {"realworld", "overall"}
    assert not math.isnan(ranks["mean_rank"].iloc[0])


def test_directions_and_training_sets_from_metadata() -> None:
    from lode_bench.report.generalisation import (
        in_domain_dataset,
        metric_direction,
        resolve_train_sets,
        train_key,
    )

    # from the protocol's MetricSpec, from a registered metric name, and guessed
    assert metric_direction("PSNR", "gopro") == (True, "protocol", False)
    assert metric_direction("lpips_alex", None) == (False, "metric", False)
    assert metric_direction("LPIPS", "no-such-protocol") == (False, "metric", False)
    assert metric_direction("local_psnr_bladenet", None)[2] is True  # legacy: not ranked
    assert metric_direction("totally-new-score", "nope") == (True, "name", False)
    # model cards name their training set; "none" is no training set
    ts = resolve_train_sets(["nafnet", "identity", "custom"], [], {"custom": "RealBlur-J train"})
    assert ts == {"nafnet": "GoPro train", "identity": None, "custom": "RealBlur-J train"}
    assert train_key("GoPro_Large train (blur_gamma track)") == "gopro"
    sets = ["hide", "gopro-test-blur", "realblur-j"]
    assert in_domain_dataset("GoPro train", sets) == "gopro-test-blur"
    assert in_domain_dataset("RealBlur-J train", sets) == "realblur-j"
    assert in_domain_dataset("none", sets) is None and in_domain_dataset("REDS", sets) is None
