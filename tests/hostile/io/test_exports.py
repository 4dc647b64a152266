"""CSV exports that a spreadsheet cannot run, a report that survives a corrupt saved
output, and ``score --out`` under a file: all through the CLI."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from lode_bench.bench.store import ResultRow, ResultsStore
from tests.hostile.io.hostile_cli import assert_one_line_error, run_cli

pytestmark = pytest.mark.timeout(300)

FORMULAS = ['=HYPERLINK("x","y")', "+cmd|' C calc'!A0", "-2+3", "@SUM(A1)"]  # no '/': file names


def _img(seed: int, size: tuple[int, int] = (40, 56)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, (*size, 3), dtype=np.uint8), (0, 0), 1.2)


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text())))


def test_score_csv_neutralises_formula_cells_and_keeps_numbers(tmp_path: Path) -> None:
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    gt.mkdir()
    pred.mkdir()
    names = [*FORMULAS, "-5", "plain"]
    for i, name in enumerate(names):
        cv2.imwrite(str(gt / f"{name}.png"), _img(i))
        cv2.imwrite(str(pred / f"{name}.png"), cv2.GaussianBlur(_img(i), (3, 3), 0))
    out = tmp_path / "s.csv"
    res = run_cli(
        "score", "--pred", str(pred), "--gt", str(gt), "-p", "basicsr", "-q", "--out", str(out)
    )
    assert res.code == 0, res.stderr
    rows = _rows(out)
    head, body = rows[0], rows[1:]
    ids = {r[head.index("image_id")] for r in body}
    assert ids == {"'" + n for n in FORMULAS} | {"-5", "plain"}  # nothing lost, none active
    for r in body:
        for cell in r:
            assert not cell.startswith(("=", "+", "@")) and not (
                cell.startswith("-") and cell != "-5"
            ), cell
        psnr = float(r[head.index("PSNR")])  # numbers stay numbers
        assert 10 < psnr < 80


def test_report_csv_neutralises_text_but_not_negative_numbers(tmp_path: Path) -> None:
    store = tmp_path / "r.sqlite"
    rng = np.random.default_rng(3)
    with ResultsStore(store) as st:
        for k, model in enumerate(["=1+1", "@evil", "good"]):
            run = f"run{k}"
            st.start_run(
                run,
                model=model,
                dataset="=ds",
                dataset_hash="h" * 64,
                protocol="basicsr",
                protocol_version="1",
                device="cpu",
                seed=0,
            )
            st.put(
                [
                    ResultRow(
                        model,
                        "=ds",
                        "h" * 64,
                        "basicsr",
                        "1",
                        f"i{i}",
                        metrics={
                            "PSNR": float(25 + rng.normal()),
                            "SSIM": float(-0.3 + 0.05 * rng.normal()),
                        },
                        runtime_s=0.01,
                        run_id=run,
                    )
                    for i in range(6)
                ]
            )
    out = tmp_path / "rep"
    res = run_cli(
        "report",
        "--store",
        str(store),
        "--out",
        str(out),
        "--no-visuals",
        "--resamples",
        "200",
        timeout=240,
    )
    assert res.code == 0 and "Traceback" not in res.stderr, res.stderr[-3000:]
    (table,) = sorted((out / "tables").glob("*.csv"))
    rows = _rows(table)
    head, body = rows[0], rows[1:]
    assert {r[head.index("model")] for r in body} == {"'=1+1", "'@evil", "good"}
    assert {r[head.index("dataset")] for r in body} == {"'=ds"}
    for r in body:
        assert float(r[head.index("SSIM_mean")]) < 0  # a negative number, written as one
        assert r[head.index("SSIM_mean")].startswith("-")


def _dataset_and_outputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    from lode_bench.datasets.manifest import DatasetWriter

    ds = tmp_path / "ds"
    w = DatasetWriter(ds, "tiny")
    for i in range(3):
        sharp = _img(10 + i, (64, 80))
        blur = cv2.GaussianBlur(sharp, (7, 7), 2.0)
        w.write_sample(f"s{i}", {"blur": blur, "sharp": sharp})
    w.finalize()
    store, outs = tmp_path / "r.sqlite", tmp_path / "outs"
    res = run_cli(
        "run",
        "-m",
        "identity",
        "-m",
        "unsharp",
        "-d",
        str(ds),
        "-p",
        "basicsr",
        "--store",
        str(store),
        "--save-outputs",
        str(outs),
        "-q",
        timeout=240,
    )
    assert res.code == 0, res.stderr[-3000:]
    return ds, store, outs


def test_one_corrupt_saved_output_skips_that_picture_with_a_note(tmp_path: Path) -> None:
    ds, store, outs = _dataset_and_outputs(tmp_path)
    saved = sorted(p for p in outs.rglob("*.png"))
    assert saved, "the run saved no outputs"
    for p in saved:  # every saved output of one model corrupt: truncated, no IEND
        p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])
    out = tmp_path / "rep"
    res = run_cli(
        "report",
        "--store",
        str(store),
        "--out",
        str(out),
        "--resamples",
        "200",
        "--dataset-root",
        f"tiny={ds}",
        timeout=240,
    )
    assert res.code == 0 and "Traceback" not in res.stderr, res.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    notes = [n for n in summary["notes"] if "skipped pictures" in n]
    assert notes and any(str(saved[0].name) in n for n in notes), summary["notes"]
    assert (out / "index.html").is_file() and list((out / "tables").glob("*.csv"))
    assert "skipped pictures" in (out / "index.html").read_text()
    # the other pictures are still drawn (blurry input vs ground truth crop)
    assert list((out / "visuals").glob("*__crop.png"))


def test_score_out_under_a_file_is_one_line_and_checked_before_scoring(tmp_path: Path) -> None:
    gt, pred = tmp_path / "gt", tmp_path / "pred"
    gt.mkdir()
    pred.mkdir()
    cv2.imwrite(str(gt / "a.png"), _img(0))
    cv2.imwrite(str(pred / "a.png"), _img(1))
    blocker = tmp_path / "file.txt"
    blocker.write_text("keep me")
    res = run_cli(
        "score",
        "--pred",
        str(pred),
        "--gt",
        str(gt),
        "-p",
        "basicsr",
        "-q",
        "--out",
        str(blocker / "sub" / "s.csv"),
    )
    assert_one_line_error(res, str(blocker), "is a file, not a folder", code=2)
    assert "protocol basicsr" not in res.stdout  # refused before any scoring
    assert blocker.read_text() == "keep me"
    res = run_cli(
        "score", "--pred", str(pred), "--gt", str(gt), "-p", "basicsr", "-q", "--out", str(tmp_path)
    )
    assert_one_line_error(res, "is a folder", code=2)
