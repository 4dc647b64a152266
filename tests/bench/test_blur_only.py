"""Blur-only datasets (no ground truth) through the loader, `run` and `report`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lode_bench.cli import main
from lode_bench.datasets.registry import resolve_dataset
from lode_bench.datasets.types import DatasetError
from lode_bench.io import read_image
from lode_bench.metrics.niqe import niqe_score, read_niqe_model

METRICS_DATA = Path(__file__).resolve().parents[1] / "data" / "metrics"
MODEL = METRICS_DATA / "niqe" / "niqe_pris_params.npz"


@pytest.fixture
def blur_only(tmp_path: Path) -> Path:
    """An RWBI-like folder: real photos in sub-folders, no ground truth."""
    root = tmp_path / "RWBI"
    for k in ("I03", "I19"):
        (root / "phone").mkdir(parents=True, exist_ok=True)
        shutil.copy(METRICS_DATA / "tid2013" / f"{k}_dist.png", root / "phone" / f"{k}.png")
    shutil.copy(METRICS_DATA / "real_blurry" / "nafnet_demo_blurry.jpg", root / "demo.jpg")
    return root


def test_loader_ids_and_kinds(blur_only: Path, tmp_path: Path) -> None:
    d = resolve_dataset(f"rwbi:{blur_only}")
    assert d.kind == "rwbi" and [s.id for s in d.samples] == ["demo", "phone/I03", "phone/I19"]
    assert all(s.sharp is None for s in d.samples)
    assert resolve_dataset(f"rwblur400:{blur_only}").kind == "rwblur400"
    with pytest.raises(DatasetError, match="no blur-only samples"):
        resolve_dataset(f"blur-only:{_empty(tmp_path)}")


def _empty(tmp_path: Path) -> Path:
    p = tmp_path / "empty"
    p.mkdir()
    (p / "notes.txt").write_text("no images", encoding="utf-8")
    return p


def test_link_out_of_root_refused(blur_only: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.png"
    shutil.copy(METRICS_DATA / "tid2013" / "I04_dist.png", outside)
    (blur_only / "escape.png").symlink_to(outside)
    with pytest.raises(DatasetError, match="out of the dataset root"):
        resolve_dataset(f"blur-only:{blur_only}")


def test_run_report_end_to_end(blur_only: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LODE_BENCH_NIQE_MODEL", str(MODEL))
    store = tmp_path / "s.db"
    r = CliRunner().invoke(
        main,
        [
            "run",
            "-m",
            "identity",
            "-d",
            f"rwbi:{blur_only}",
            "-p",
            "nr-niqe",
            "--store",
            str(store),
            "-q",
        ],
    )
    assert r.exit_code == 0, r.output
    # FR protocols refuse the set before running anything, with one clear line.
    fr = CliRunner().invoke(
        main,
        [
            "run",
            "-m",
            "identity",
            "-d",
            f"rwbi:{blur_only}",
            "-p",
            "gopro",
            "--store",
            str(store),
            "-q",
        ],
    )
    assert fr.exit_code != 0
    assert (
        "no ground truth" in fr.output and "full-reference" in fr.output and "nr-glow" in fr.output
    )
    rep = CliRunner().invoke(
        main, ["report", "--store", str(store), "--out", str(tmp_path / "rep"), "--no-visuals"]
    )
    assert rep.exit_code == 0, rep.output
    md = (tmp_path / "rep" / "tables.md").read_text(encoding="utf-8")
    model = read_niqe_model(MODEL)
    expected = np.mean(
        [niqe_score(read_image(p, dtype="uint8"), model) for p in sorted(blur_only.rglob("*.*"))]
    )
    assert "NIQE ↓" in md and f"{expected:.4f}" in md


def test_nr_glow_reports_missing_metrics(blur_only: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LODE_BENCH_NIQE_MODEL", str(MODEL))
    monkeypatch.setenv("LODE_BENCH_NRIQA_WEIGHTS", str(tmp_path / "no-weights"))
    from lode_bench.bench.runner import run_benchmark

    s = run_benchmark(
        "identity", f"blur-only:{blur_only}", "nr-glow", tmp_path / "g.db", progress=False
    )
    assert s.protocol == "nr-glow@1+NIQE" and s.n_ok == 3
    missing = [w for w in s.warnings if "not computed" in w]
    assert len(missing) == 7 and any(w.startswith("MANIQA not computed") for w in missing)
    from lode_bench.bench.store import ResultsStore

    with ResultsStore(tmp_path / "g.db") as st:
        runs = st.runs_frame()
    assert len(runs) == 1
    text = json.dumps(runs.to_dict(orient="records"), default=str)
    assert "metrics_not_computed" in text and "MANIQA" in text


def test_paired_and_blur_only_in_one_report(blur_only: Path, tmp_path: Path, monkeypatch) -> None:
    """A paired folder (FR + NR protocols) and a blur-only folder (NR) in one store and report."""
    monkeypatch.setenv("LODE_BENCH_NIQE_MODEL", str(MODEL))
    paired = tmp_path / "paired"
    for k in ("I04", "I08"):
        for role, suffix in (("blur", "dist"), ("sharp", "ref")):
            (paired / role).mkdir(parents=True, exist_ok=True)
            shutil.copy(METRICS_DATA / "tid2013" / f"{k}_{suffix}.png", paired / role / f"{k}.png")
    store = tmp_path / "s.db"
    r = CliRunner().invoke(
        main,
        [
            "run",
            "-m",
            "identity",
            "-d",
            f"folder:{paired}",
            "-d",
            f"blur-only:{blur_only}",
            "-p",
            "nr-niqe",
            "--store",
            str(store),
            "-q",
        ],
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        main,
        [
            "run",
            "-m",
            "identity",
            "-d",
            f"folder:{paired}",
            "-p",
            "iqa",
            "--store",
            str(store),
            "-q",
        ],
    )
    assert r.exit_code == 0, r.output
    rep = CliRunner().invoke(
        main, ["report", "--store", str(store), "--out", str(tmp_path / "rep"), "--no-visuals"]
    )
    assert rep.exit_code == 0, rep.output
    md = (tmp_path / "rep" / "tables.md").read_text(encoding="utf-8")
    assert md.count("NIQE ↓") == 2 and "PSNR ↑" in md
    model = read_niqe_model(MODEL)
    blurry = np.mean(
        [
            niqe_score(read_image(paired / "blur" / f"{k}.png", dtype="uint8"), model)
            for k in ("I04", "I08")
        ]
    )
    assert (
        f"{blurry:.4f}" in md
    )  # NR on a paired set rates the output (here the blurry input) alone


def test_generalisation_suite(monkeypatch) -> None:
    from lode_bench.bench.suite import load_suite
    from lode_bench.metrics.protocols import get_protocol

    for var in ("LODE_DATA", "LODE_WEIGHTS"):
        monkeypatch.setenv(var, f"/data/{var.lower()}")
    suite = load_suite(
        Path(__file__).resolve().parents[2] / "configs" / "suites" / "generalisation.yaml"
    )
    kinds = {r.dataset.split(":")[0]: r.protocol for r in suite.runs}
    assert kinds == {
        "gopro": "gopro",
        "hide": "gopro",
        "reds": "basicsr",
        "realblur-j": "realblur",
        "bsd": "basicsr",
        "rsblur": "rsblur",
        "rwbi": "nr-glow",
        "rwblur400": "nr-glow",
    }
    for kind, proto in kinds.items():
        assert get_protocol(proto).needs_reference is (kind not in ("rwbi", "rwblur400"))
    assert all(r.model.card is not None for r in suite.runs)
