"""`score` on official dataset layouts (--gt KIND:PATH), nested and flat prediction names,
and agreement with `run --model folder=DIR` (the same pairing and the same 16-bit rule)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lode_bench.bench.store import ResultsStore
from lode_bench.cli import main
from lode_bench.examples import example_dirs
from lode_bench.io import read_image, write_image
from lode_bench.metrics.psnr import psnr

SEQS = {"GOPR0410_11_00": "gopro", "GOPR0384_11_00": "realblur"}  # a sequence -> shipped crop
FRAME = "000205"


def _run(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def gopro(tmp_path: Path) -> Path:
    """GOPRO_Large/test/<seq>/{blur,sharp}/<frame>.png from the shipped crops (official layout)."""
    root = tmp_path / "GOPRO_Large"
    for seq, crop in SEQS.items():
        blur, gt = example_dirs(crop, "blur")
        name = next(gt.iterdir()).name
        for sub, src in (("blur", blur), ("sharp", gt)):
            (root / "test" / seq / sub).mkdir(parents=True)
            shutil.copy(src / name, root / "test" / seq / sub / f"{FRAME}.png")
    return root


def _preds(tmp_path: Path, layout: str, ext: str = ".png") -> Path:
    out = tmp_path / f"pred-{layout}"
    for seq, crop in SEQS.items():
        pred, _ = example_dirs(crop, "restormer")
        img = read_image(next(pred.iterdir()))
        name = {
            "nested": f"{seq}/{FRAME}",
            "dash": f"{seq}-{FRAME}",
            "underscore": f"{seq}_{FRAME}",
        }[layout]
        write_image(out / f"{name}{ext}", img)
    return out


def _score_rows(pred: Path, gt: str, tmp_path: Path, protocol: str = "gopro") -> dict[str, dict]:
    out = tmp_path / "s.json"
    res = _run("score", "--pred", pred, "--gt", gt, "-p", protocol, "-q", "--out", out)
    assert res.exit_code == 0, res.output
    return {r["image_id"]: r for r in json.loads(out.read_text())["images"]}


def test_readme_example_scores_the_official_gopro_layout(gopro, tmp_path):
    rows = _score_rows(_preds(tmp_path, "nested"), f"gopro:{gopro / 'test'}", tmp_path)
    assert sorted(rows) == [f"{s}/{FRAME}" for s in sorted(SEQS)]
    assert round(rows[f"GOPR0410_11_00/{FRAME}"]["PSNR"], 4) == 25.3899  # the published value
    assert all(r["gt"].endswith(f"sharp/{FRAME}.png") for r in rows.values())  # never blur/ frames
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert "--gt gopro:GOPRO_Large/test " in readme and "--gt GOPRO_Large/test/sharp" not in readme


@pytest.mark.parametrize("layout", ["dash", "underscore"])
def test_flat_prediction_names_give_the_nested_numbers(gopro, tmp_path, layout):
    nested = _score_rows(_preds(tmp_path, "nested"), f"gopro:{gopro}", tmp_path)
    flat = _score_rows(_preds(tmp_path, layout), f"gopro:{gopro}", tmp_path)
    assert {k: (r["PSNR"], r["SSIM"]) for k, r in flat.items()} == {
        k: (r["PSNR"], r["SSIM"]) for k, r in nested.items()
    }


def test_nothing_pairs_says_which_names_were_expected(gopro, tmp_path):
    pred = tmp_path / "odd"
    write_image(pred / "frame1.png", np.zeros((8, 8, 3), np.uint8))
    res = CliRunner().invoke(
        main, ["score", "--pred", str(pred), "--gt", f"gopro:{gopro}", "-p", "gopro"]
    )
    assert res.exit_code == 2, res.output
    assert f"'GOPR0384_11_00/{FRAME}'" in res.output and f"GOPR0384_11_00-{FRAME}.png" in res.output
    assert "e.g. frame1.png" in res.output and "images:" not in res.output


def test_unknown_dataset_kind_is_one_error(tmp_path):
    res = CliRunner().invoke(
        main, ["score", "--pred", str(tmp_path), "--gt", "goprro:/x", "-p", "gopro"]
    )
    assert res.exit_code == 2 and "did you mean 'gopro'" in res.output


def _run_rows(
    model_dir: Path, dataset: str, protocol: str, tmp_path: Path
) -> tuple[int, str, dict]:
    store = tmp_path / "r.sqlite"
    res = CliRunner().invoke(
        main,
        [
            "run",
            "-m",
            f"folder={model_dir}",
            "-d",
            dataset,
            "-p",
            protocol,
            "--store",
            str(store),
            "-q",
            "--executor",
            "serial",
        ],
    )
    if not store.exists():
        return res.exit_code, res.output, {}
    with ResultsStore(store) as st:
        return res.exit_code, res.output, {r.image_id: r for r in st.rows()}


@pytest.mark.parametrize("layout", ["nested", "dash"])
def test_score_and_run_folder_give_identical_rows(gopro, tmp_path, layout):
    pred = _preds(tmp_path, layout)
    (pred / "stray.png").write_bytes(
        (gopro / "test" / "GOPR0410_11_00" / "sharp" / f"{FRAME}.png").read_bytes()
    )
    scored = _score_rows(pred, f"gopro:{gopro}", tmp_path)
    code, out, ran = _run_rows(pred, f"gopro:{gopro}", "gopro", tmp_path)
    assert code == 0, out
    assert sorted(ran) == sorted(scored)
    for k, row in ran.items():
        assert row.status == "ok" and row.metrics == {
            "PSNR": scored[k]["PSNR"],
            "SSIM": scored[k]["SSIM"],
        }


def test_ambiguous_png_and_jpg_refused_by_score_and_run(gopro, tmp_path):
    pred = _preds(tmp_path, "dash")
    shutil.copy(pred / f"GOPR0410_11_00-{FRAME}.png", pred / f"GOPR0410_11_00-{FRAME}.jpg")
    res = CliRunner().invoke(
        main, ["score", "--pred", str(pred), "--gt", f"gopro:{gopro}", "-p", "gopro"]
    )
    assert res.exit_code == 2
    code, out, rows = _run_rows(pred, f"gopro:{gopro}", "gopro", tmp_path)
    assert code != 0 and rows == {}
    for text in (res.output, out):
        assert f"GOPR0410_11_00-{FRAME}.jpg" in text and f"GOPR0410_11_00-{FRAME}.png" in text
        assert "same sample id" in text


def test_run_folder_reads_16bit_outputs_under_the_protocol_rule(tmp_path):
    """basicsr truncates 16-bit files (v >> 8); `run --model folder=` used to round them."""
    rng = np.random.default_rng(3)
    root = tmp_path / "set"
    gt = rng.integers(0, 200, (24, 32, 3), dtype=np.uint8)
    write_image(root / "blur" / "a.png", gt)
    write_image(root / "sharp" / "a.png", gt)
    pred16 = (
        gt.astype(np.uint16) * 257 + 200
    )  # round gives gt + 1, truncation gives gt (+1 if gt >= 56)
    write_image(tmp_path / "out" / "a.png", pred16)
    truncated = (pred16 >> 8).astype(np.uint8)
    rounded = np.rint(pred16 / 257.0).astype(np.uint8)
    assert psnr(truncated, gt) != pytest.approx(psnr(rounded, gt))
    code, out, ran = _run_rows(tmp_path / "out", f"folder:{root}", "basicsr", tmp_path)
    assert code == 0, out
    scored = _score_rows(tmp_path / "out", f"folder:{root}", tmp_path, "basicsr")
    assert (
        ran["a"].metrics["PSNR"]
        == scored["a"]["PSNR"]
        == pytest.approx(psnr(truncated, gt), abs=1e-12)
    )


def test_recursive_folder_gt_of_a_dataset_layout_points_to_the_loader(gopro, tmp_path):
    """`--recursive` on GOPRO_Large/test used to count the blur/ frames as ground truth."""
    res = CliRunner().invoke(
        main,
        [
            "score",
            "--pred",
            str(_preds(tmp_path, "nested")),
            "--gt",
            str(gopro / "test"),
            "--recursive",
            "-p",
            "gopro",
        ],
    )
    assert res.exit_code == 2 and f"--gt gopro:{gopro / 'test'}" in res.output
    assert "images:" not in res.output
