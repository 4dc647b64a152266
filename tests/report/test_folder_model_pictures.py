"""A ``folder=DIR`` model's run records its outputs folder, so `report` shows its pictures
without ``--outputs`` (flat ``<seq>-<frame>.png`` names too); an explicit ``--outputs`` wins."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lode_bench.bench.store import ResultsStore
from lode_bench.cli import main
from lode_bench.io import read_image, write_image
from lode_bench.report.summary import json_field


def _gopro(root: Path) -> Path:
    rng = np.random.default_rng(7)
    seq = root / "test" / "GOPR0001_11_00"
    for i in range(3):
        sharp = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
        blur = ((sharp.astype(int) + np.roll(sharp, 3, axis=1)) // 2).astype(np.uint8)
        write_image(seq / "blur" / f"{i:06d}.png", blur)
        write_image(seq / "sharp" / f"{i:06d}.png", sharp)
    return root


def _outputs(root: Path, out: Path, flat: bool) -> Path:
    rng = np.random.default_rng(8)
    for p in sorted((root / "test").glob("*/sharp/*.png")):
        img = read_image(p, dtype="uint8").astype(int) + rng.integers(-4, 5, (40, 48, 3))
        seq = p.parent.parent.name
        name = f"{seq}-{p.name}" if flat else f"{seq}/{p.name}"
        write_image(out / name, np.clip(img, 0, 255).astype(np.uint8))
    return out


def _cli(*args: str):
    r = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r


def _mine_pictures(report: Path) -> list[Path]:
    return sorted((report / "visuals").glob("*__best_worst_mine*.png"))


@pytest.mark.parametrize("flat", [False, True])
def test_folder_model_pictures_need_no_outputs_option(tmp_path, flat):
    data = _gopro(tmp_path / "GOPRO_Large")
    outs = _outputs(data, tmp_path / "outs", flat)
    store = tmp_path / "r.sqlite"
    _cli(
        "run",
        "--model",
        "identity",
        "--model",
        f"mine=folder:{outs}",
        "--dataset",
        f"gopro:{data}",
        "--protocol",
        "gopro",
        "--store",
        str(store),
        "-q",
    )
    with ResultsStore(store) as st:
        runs = st.runs_frame()
    extras = [json_field(e) for e in runs[runs["model"] == "mine"]["extra"]]
    assert [Path(e["outputs_dir"]) for e in extras] == [outs.resolve()]
    report = tmp_path / "report"
    r = _cli("report", "--store", str(store), "--out", str(report), "--resamples", "100")
    assert "dataset folder not found" not in r.output
    assert len(_mine_pictures(report)) == 1
    # an explicit --outputs still wins: an empty folder gives no pictures of that model
    empty = tmp_path / "empty"
    empty.mkdir()
    report2 = tmp_path / "report2"
    _cli(
        "report",
        "--store",
        str(store),
        "--out",
        str(report2),
        "--resamples",
        "100",
        "--outputs",
        f"mine={empty}",
    )
    assert _mine_pictures(report2) == []
