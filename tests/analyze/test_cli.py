"""`lode-bench analyze` end to end on the built-in dataset, a blur-only set and a bad pair."""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from lode_bench.analyze import dataset as analyze_dataset
from lode_bench.analyze.sample import COLUMNS, flow_column
from lode_bench.cli import main
from lode_bench.datasets.manifest import DatasetWriter
from lode_bench.io.images import read_image, write_image
from lode_bench.synth.builtin_dataset import build_builtin_dataset


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("analyze")
    both = tmp / "builtin"
    build_builtin_dataset(both, kind="both", n_samples=2, size=(240, 320), seed=0)
    w = DatasetWriter(tmp / "blur-only", "blur-only")
    for p in sorted((both / "test" / "blur").glob("global_*.png")):
        w.write_sample(p.stem, {"blur": read_image(p)})
    w.finalize()
    bad = tmp / "bad"
    (bad / "blur").mkdir(parents=True)
    (bad / "sharp").mkdir()
    img = read_image(next((both / "test" / "sharp").glob("*.png")))
    write_image(bad / "blur" / "x.png", img)
    write_image(bad / "sharp" / "x.png", img[:200])
    return {"builtin": both, "blur-only": tmp / "blur-only", "bad": bad, "tmp": tmp}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        return list(reader)


def _entropy(codes: list[tuple[int, ...]]) -> float:
    n = len(codes)
    return -sum(c / n * math.log2(c / n) for c in Counter(codes).values())


def test_analyze_cli_end_to_end(sets: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    out = sets["tmp"] / "out"
    args = [
        "analyze",
        f"lode={sets['builtin']}",
        str(sets["blur-only"]),
        "--out",
        str(out),
        "-q",
        "-j",
        "2",
    ]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "lode: 4/4 samples" in res.output and "(estimated)" in res.output
    rows = _rows(out / "samples.csv")
    assert len(rows) == 4 + 2
    by = {(r["dataset"], r["sample_id"]): r for r in rows}
    for i in range(2):
        g = by[("lode", f"global_{i:04d}")]
        assert g["status"] == "ok" and g["paired"] == "True" and g["kernel_source"] == "paired-lsq"
        assert abs(float(g["extent_px"]) - float(g["true_extent_px"])) <= 1.0  # px
        curve = [float(g[flow_column(t)]) for t in (0, 0.5, 1, 2, 5)]
        assert curve == sorted(curve, reverse=True) and 0.0 <= curve[-1] <= curve[0] <= 1.0
        assert set(g["estimated"].split(";")) == {"noise_sigma", "extent_blind_px"}
        loc = by[("lode", f"local_{i:04d}")]
        assert loc["status"] == "ok" and loc["true_extent_px"] == ""  # local samples: no PSF
        b = by[("blur-only", f"global_{i:04d}")]
        assert b["paired"] == "False" and b["kernel_source"] == "none" and b["extent_px"] == ""
        assert b[flow_column(1)] == "" and b["extent_blind_px"] != ""
        assert "extent_blind_px" in b["estimated"].split(";")
        # the blind estimate of the same blurry image is the same on both sets
        assert float(b["extent_blind_px"]) == float(g["extent_blind_px"])
    summary = json.loads((out / "summary.json").read_text())
    lode, blur_only = summary["datasets"]
    assert lode["label"] == "lode" and lode["n_ok"] == 4 and lode["n_paired"] == 4
    assert lode["extent_error_vs_true_px"]["max_abs"] <= 1.0
    # diversity re-derived from the CSV with the documented bins
    ext_e = analyze_dataset.EXTENT_BINS
    codes = []
    for r in rows:
        if r["dataset"] == "lode" and r["kernel_source"] == "paired-lsq":
            e, d, a = float(r["extent_px"]), float(r["direction_deg"]), float(r["anisotropy"])
            codes.append(
                (int(np.searchsorted(ext_e, e, side="right")) - 1, int(d // 30), min(2, int(a * 3)))
            )
    assert lode["diversity"]["diversity_bits"] == pytest.approx(_entropy(codes), abs=1e-12)
    assert blur_only["diversity"]["estimated"] is True
    assert blur_only["diversity"]["features"] == "extent_blind_px"
    for png in [out / "comparison.png", *out.glob("*/histograms.png")]:
        img = cv2.imread(str(png))
        assert img is not None and img.shape[0] > 300 and img.shape[1] > 500, png
    assert len(list(out.glob("*/histograms.png"))) == 2

    # a re-run with the same settings resumes: nothing is recomputed
    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("sample recomputed on resume")

    monkeypatch.setattr(analyze_dataset, "analyze_sample", refuse)
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    assert _rows(out / "samples.csv") == rows
    # different settings: recomputed (and here refused -> failures -> exit status 1)
    changed = CliRunner().invoke(main, [*args, "--ksize", "21"])
    assert changed.exit_code == 1
    assert "sample recomputed on resume" in changed.output


def test_analyze_cli_bad_pair_and_bad_input(sets: dict[str, Path]) -> None:
    out = sets["tmp"] / "bad-out"
    res = CliRunner().invoke(main, ["analyze", f"folder:{sets['bad']}", "--out", str(out), "-q"])
    assert res.exit_code == 1
    row = _rows(out / "samples.csv")[0]
    assert row["status"] == "error" and "x.png" in row["error"] and "differs" in row["error"]
    res = CliRunner().invoke(main, ["analyze", str(sets["tmp"] / "nope"), "--out", str(out)])
    assert res.exit_code == 2 and "nope" in res.output
    res = CliRunner().invoke(
        main, ["analyze", str(sets["builtin"]), "--out", str(out), "--ksize", "20"]
    )
    assert res.exit_code == 2 and "odd" in res.output


def test_report_includes_the_analysis(sets: dict[str, Path]) -> None:
    from lode_bench.bench.runner import run_benchmark
    from lode_bench.cli.report import report_command

    out = sets["tmp"] / "an-for-report"
    res = CliRunner().invoke(
        main,
        [
            "analyze",
            f"lode={sets['builtin']}",
            str(sets["blur-only"]),
            "--out",
            str(out),
            "-q",
            "--no-blind",
        ],
    )
    assert res.exit_code == 0, res.output
    store = sets["tmp"] / "r.sqlite"
    run_benchmark(
        "identity",
        str(sets["builtin"]),
        "basicsr",
        store,
        progress=False,
        workers=1,
        flops_size=None,
    )
    rep = sets["tmp"] / "report"
    res = CliRunner().invoke(
        report_command,
        [
            "--store",
            str(store),
            "--out",
            str(rep),
            "--no-visuals",
            "--resamples",
            "100",
            "--analysis",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    html = (rep / "index.html").read_text()
    assert "Blur-pattern statistics" in html
    summary = json.loads((out / "summary.json").read_text())
    lode = summary["datasets"][0]
    assert f"<td>lode</td><td>4</td><td>4</td><td>{lode['extent_px_median']:.1f}</td>" in html
    # blur-only: the blind estimate is shown and marked (blind stays on for blur-only sets)
    assert "(estimated)" in html
    pngs = sorted(p.name for p in (rep / "analysis").rglob("*.png"))
    assert "comparison.png" in pngs and sum(n.endswith("__histograms.png") for n in pngs) == 2
    for p in (rep / "analysis").rglob("*.png"):
        assert p.relative_to(rep).as_posix() in html
    res = CliRunner().invoke(
        report_command, ["--store", str(store), "--out", str(rep), "--analysis", str(sets["tmp"])]
    )
    assert res.exit_code != 0 and "summary.json" in res.output
