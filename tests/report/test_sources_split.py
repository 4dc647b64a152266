"""Pictures for datasets read by a loader (``gopro:`` ...), with and without
``--dataset-root``; one dataset version per split choice, and distinct table titles."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from lode_bench.bench.store import ResultsStore
from lode_bench.cli import main
from lode_bench.datasets.manifest import DatasetWriter, load_manifest
from lode_bench.io import write_image


def _pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    sharp = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
    blur = ((sharp.astype(int) + np.roll(sharp, 3, axis=1)) // 2).astype(np.uint8)
    return blur, sharp


def _gopro(root: Path) -> Path:
    """A miniature ``GOPRO_Large`` layout: one test sequence, both blurry tracks."""
    rng = np.random.default_rng(3)
    seq = root / "test" / "GOPR0001_11_00"
    for i in range(3):
        blur, sharp = _pair(rng)
        for track, img in (("blur", blur), ("blur_gamma", blur), ("sharp", sharp)):
            write_image(seq / track / f"{i:06d}.png", img)
    return root


def _outputs(root: Path, out: Path) -> Path:
    """A method's saved outputs: the ground truth plus noise (ids are ``SEQUENCE/NNNNNN``)."""
    from lode_bench.io import read_image

    rng = np.random.default_rng(4)
    for p in sorted((root / "test").glob("*/sharp/*.png")):
        img = read_image(p, dtype="uint8").astype(int) + rng.integers(-4, 5, (40, 48, 3))
        write_image(out / p.parent.parent.name / p.name, np.clip(img, 0, 255).astype(np.uint8))
    return out


def _cli(*args: str):
    r = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r


def _crops(report: Path) -> list[str]:
    return (
        sorted(p.name for p in (report / "visuals").glob("*__crop.png"))
        if (report / "visuals").is_dir()
        else []
    )


def test_loader_dataset_gets_pictures_and_dataset_root_finds_a_moved_folder(tmp_path):
    data = _gopro(tmp_path / "GOPRO_Large")
    outs = _outputs(data, tmp_path / "outs")
    store = tmp_path / "r.sqlite"
    for kind in ("gopro", "gopro-gamma"):
        _cli(
            "run",
            "--model",
            "identity",
            "--model",
            f"mine=folder:{outs}",
            "--dataset",
            f"{kind}:{data}",
            "--protocol",
            "gopro",
            "--store",
            str(store),
            "-q",
        )
    report = tmp_path / "report"
    r = _cli(
        "report",
        "--store",
        str(store),
        "--out",
        str(report),
        "--resamples",
        "100",
        "--outputs",
        f"mine={outs}",
    )
    assert "dataset folder not found" not in r.output
    assert len(_crops(report)) == 2  # one per track (two dataset versions)
    assert len(list((report / "visuals").glob("*__best_worst_mine*.png"))) == 2
    moved = tmp_path / "elsewhere" / "GOPRO"
    shutil.move(str(data), str(moved))
    report2 = tmp_path / "report2"
    r = _cli("report", "--store", str(store), "--out", str(report2), "--resamples", "100")
    assert r.output.count("no visual comparison (dataset folder not found") == 2
    assert "--dataset-root gopro-test=DIR" in r.output
    assert _crops(report2) == []
    report3 = tmp_path / "report3"
    r = _cli(
        "report",
        "--store",
        str(store),
        "--out",
        str(report3),
        "--resamples",
        "100",
        "--dataset-root",
        f"gopro-test={moved}",
        "--dataset-root",
        f"gopro-test-gamma={moved / 'test'}",
    )
    assert "dataset folder not found" not in r.output
    assert len(_crops(report3)) == 2


def _manifest_dataset(root: Path, splits: tuple[str, ...]) -> Path:
    rng = np.random.default_rng(5)
    w = DatasetWriter(root, "split-set")
    for split in splits:
        for i in range(2):
            blur, sharp = _pair(rng)
            w.write_sample(f"{split}{i}", {"blur": blur, "sharp": sharp}, split=split)
    w.finalize()
    return root


def _titles(report: Path) -> list[str]:
    return [
        t["dataset"] + "|" + t["dataset_hash"]
        for t in json.loads((report / "summary.json").read_text())["tables"]
    ]


def test_split_that_holds_every_sample_is_the_same_dataset_version(tmp_path):
    data = _manifest_dataset(tmp_path / "one", ("test",))
    store = tmp_path / "r.sqlite"
    _cli(
        "run",
        "--model",
        "identity",
        "--dataset",
        str(data),
        "--protocol",
        "gopro",
        "--store",
        str(store),
        "-q",
    )
    r = _cli(
        "run",
        "--model",
        "identity",
        "--dataset",
        str(data),
        "--protocol",
        "gopro",
        "--store",
        str(store),
        "--split",
        "test",
    )
    assert " 2       0   0       2 " in r.output  # both images resumed, none recomputed
    with ResultsStore(store) as st:
        assert {row.dataset_hash for row in st.rows()} == {load_manifest(data).manifest_hash}
    report = tmp_path / "report"
    _cli("report", "--store", str(store), "--out", str(report), "--resamples", "100")
    assert len(_titles(report)) == 1
    assert _crops(report)  # pictures too


def test_tables_of_two_versions_have_distinct_titles(tmp_path):
    data = _manifest_dataset(tmp_path / "two", ("train", "test"))
    store = tmp_path / "r.sqlite"
    _cli(
        "run",
        "--model",
        "identity",
        "--dataset",
        str(data),
        "--protocol",
        "gopro",
        "--store",
        str(store),
        "-q",
    )
    _cli(
        "run",
        "--model",
        "identity",
        "--dataset",
        str(data),
        "--protocol",
        "gopro",
        "--store",
        str(store),
        "--split",
        "test",
        "-q",
    )
    other = _manifest_dataset(tmp_path / "three", ("test",))  # same name, other content
    _cli(
        "run",
        "--model",
        "identity",
        "--dataset",
        str(other),
        "--protocol",
        "gopro",
        "--store",
        str(store),
        "-q",
    )
    report = tmp_path / "report"
    _cli("report", "--store", str(store), "--out", str(report), "--resamples", "100")
    html = (report / "index.html").read_text()
    h2 = [
        line.split("<h2>")[1].split("</h2>")[0]
        for line in html.split("<section>")[1:]
        if line.startswith("<h2>split-set")
    ]
    assert len(h2) == 3 and len(set(h2)) == 3, h2
    h_two, h_three = load_manifest(data).manifest_hash, load_manifest(other).manifest_hash
    assert f"split-set · gopro v1 · manifest {h_two[:12]}" in h2
    assert f"split-set · split test · gopro v1 · manifest {h_two[:12]}" in h2
    assert f"split-set · gopro v1 · manifest {h_three[:12]}" in h2
    assert len(_crops(report)) == 3  # the split version finds its manifest as well
