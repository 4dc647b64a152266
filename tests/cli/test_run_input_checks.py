"""`run --model folder=DIR` refuses the inputs `score` refuses, with the same messages, and
accepts them with the same overrides (--allow-grey, --mask-threshold); it notes JPEG
outputs; a folder that is ambiguous or pairs with nothing is an input error (exit 2)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lode_bench.bench.runner import run_benchmark
from lode_bench.bench.settings import RunSettings
from lode_bench.bench.store import ResultsStore
from lode_bench.cli import main
from lode_bench.errors import LodeBenchError
from lode_bench.examples import example_dirs
from lode_bench.io import read_image, write_image
from lode_bench.metrics.inputs import load_mask_checked
from lode_bench.metrics.protocols import get_protocol
from lode_bench.metrics.psnr import psnr

IDS = ("grey", "jpeg", "photo", "plain")


def _crop(set_name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    blur_dir, gt_dir = example_dirs(set_name, "blur")
    pred_dir, _ = example_dirs(set_name, "restormer")
    name = next(gt_dir.iterdir()).name
    return (
        read_image(blur_dir / name),
        read_image(gt_dir / name),
        read_image(pred_dir / name),
    )


@pytest.fixture
def bad_inputs(tmp_path: Path) -> tuple[Path, Path]:
    """A folder dataset with masks and a folder of outputs: a grey output, a JPEG output,
    an RGB photo as mask, and one clean image."""
    root, out = tmp_path / "set", tmp_path / "out"
    blur, gt, pred = _crop("gopro")
    mask = np.zeros(gt.shape[:2], np.uint8)
    mask[8:60, 16:120] = 255
    for i in IDS:
        write_image(root / "blur" / f"{i}.png", blur)
        write_image(root / "sharp" / f"{i}.png", gt)
        write_image(root / "mask" / f"{i}.png", gt if i == "photo" else mask)
    write_image(out / "grey.png", pred.mean(axis=2).round().astype(np.uint8))
    write_image(out / "jpeg.jpg", pred)
    write_image(out / "photo.png", pred)
    write_image(out / "plain.png", pred)
    return root, out


def _score(pred: Path, root: Path, tmp_path: Path, *extra: str) -> tuple[int, str, dict]:
    js = tmp_path / "s.json"
    js.unlink(missing_ok=True)
    res = CliRunner().invoke(
        main,
        ["score", "--pred", str(pred), "--gt", f"folder:{root}", "-p", "lode", "-q"]
        + ["--out", str(js), *extra],
    )
    rows = {r["image_id"]: r for r in json.loads(js.read_text())["images"]} if js.exists() else {}
    return res.exit_code, res.output, rows


def _run(model_dir: Path, dataset: str, tmp_path: Path, *extra: str) -> tuple[int, str, dict]:
    store = tmp_path / "r.sqlite"
    for p in tmp_path.glob("r.*"):
        p.unlink()
    res = CliRunner().invoke(
        main,
        ["run", "-m", f"folder={model_dir}", "-d", dataset, "-p", "lode", "--store", str(store)]
        + ["-q", "--executor", "serial", *extra],
    )
    if not store.exists():
        return res.exit_code, res.output, {}
    with ResultsStore(store) as st:
        return res.exit_code, res.output, {r.image_id: r for r in st.rows()}


def _same_rows(scored: dict, ran: dict) -> None:
    assert sorted(ran) == sorted(scored) == sorted(IDS)
    for k, row in ran.items():
        s = scored[k]
        assert row.status == s["status"], k
        assert row.error == s["error"], k
        if row.status == "ok":
            assert row.metrics == {c: s[c] for c in row.metrics} and set(row.metrics) == {
                c for c in s if c in get_protocol("lode").columns
            }


def test_score_and_run_refuse_the_same_inputs_with_the_same_messages(bad_inputs, tmp_path):
    root, out = bad_inputs
    s_code, s_out, scored = _score(out, root, tmp_path)
    r_code, r_out, ran = _run(out, f"folder:{root}", tmp_path)
    assert s_code == r_code == 1, (s_out, r_out)
    _same_rows(scored, ran)
    assert sorted(k for k, r in ran.items() if r.status == "ok") == ["jpeg", "plain"]
    assert ran["grey"].error == (
        f"{out / 'grey.png'}: greyscale prediction against colour ground truth "
        f"{root / 'sharp' / 'grey.png'}; pass --allow-grey to score it anyway "
        "(grey compared as R = G = B)"
    )
    assert ran["photo"].error.startswith(f"{root / 'mask' / 'photo.png'}: not a binary mask")
    assert "--mask-threshold T" in ran["photo"].error
    assert "note: 1 prediction(s) are JPEG files (lossy)" in s_out
    assert "1 prediction(s) are JPEG files (lossy)" in r_out and "folder" in r_out


def test_score_and_run_accept_them_with_the_same_overrides(bad_inputs, tmp_path):
    root, out = bad_inputs
    flags = ("--allow-grey", "--mask-threshold", "100")
    s_code, s_out, scored = _score(out, root, tmp_path, *flags)
    r_code, r_out, ran = _run(out, f"folder:{root}", tmp_path, *flags)
    assert s_code == r_code == 0, (s_out, r_out)
    _same_rows(scored, ran)
    assert all(r.status == "ok" for r in ran.values())
    # the grey output is compared as R = G = B: its PSNR is that of the grey image in RGB
    _, gt, pred = _crop("gopro")
    grey = np.repeat(pred.mean(axis=2).round().astype(np.uint8)[..., None], 3, axis=2)
    assert ran["grey"].metrics["PSNR"] == pytest.approx(psnr(grey, gt), abs=1e-12)
    assert not math.isnan(ran["photo"].metrics["PSNR_w"])


def test_run_settings_carry_the_overrides(bad_inputs, tmp_path):
    """Suites and the API set them through RunSettings (not only the command line)."""
    root, out = bad_inputs
    store = tmp_path / "api.sqlite"
    cfg = RunSettings(allow_grey=True, mask_threshold=100.0, workers=1)
    summ = run_benchmark(
        f"folder={out}", f"folder:{root}", "lode", store, settings=cfg, progress=False
    )
    assert (summ.n_ok, summ.n_error, summ.n_lossy_outputs) == (4, 0, 1)
    summ = run_benchmark(
        f"folder={out}", f"folder:{root}", "lode", tmp_path / "api2.sqlite", progress=False
    )
    assert (summ.n_ok, summ.n_error) == (2, 2)
    with pytest.raises(LodeBenchError, match="mask_threshold must be a number"):
        RunSettings(mask_threshold="high")  # type: ignore[arg-type]


def test_suite_settings_accept_the_overrides(bad_inputs, tmp_path):
    root, out = bad_inputs
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        f"models: ['folder={out}']\ndatasets: ['folder:{root}']\nprotocols: [lode]\n"
        "settings: {allow_grey: true, mask_threshold: 100}\n",
        encoding="utf-8",
    )
    res = CliRunner().invoke(
        main, ["run", "--suite", str(suite), "--store", str(tmp_path / "s.sqlite"), "-q"]
    )
    assert res.exit_code == 0, res.output
    suite.write_text(
        suite.read_text(encoding="utf-8").replace("mask_threshold: 100", "mask_threshold: x"),
        encoding="utf-8",
    )
    res = CliRunner().invoke(
        main, ["run", "--suite", str(suite), "--store", str(tmp_path / "t.sqlite"), "-q"]
    )
    assert res.exit_code == 2 and "settings.mask_threshold: must be null or a number" in res.output


def test_lode_flow_masks_are_thresholded_not_refused(tmp_path):
    flow = np.zeros((16, 20), np.float32)
    flow[4:9, 5:12] = 3.0
    flow[0, 0] = 0.2  # below the protocol's 0.25 px: not blurred
    np.save(tmp_path / "m.npy", flow)
    mask = load_mask_checked(tmp_path / "m.npy", get_protocol("lode"))
    assert mask.sum() == 35 and not mask[0, 0]


@pytest.mark.parametrize("case", ["ambiguous", "nothing pairs"])
def test_run_folder_that_cannot_pair_is_an_input_error(bad_inputs, tmp_path, case):
    root, out = bad_inputs
    if case == "ambiguous":
        write_image(out / "plain.jpg", read_image(out / "plain.png"))
        expect = "give the same sample id 'plain'"
    else:
        out = tmp_path / "odd"
        write_image(out / "frame1.png", np.zeros((8, 8, 3), np.uint8))
        expect = "no prediction matches a ground-truth id"
    s_code, s_out, _ = _score(out, root, tmp_path)
    code, text, rows = _run(out, f"folder:{root}", tmp_path)
    assert code == s_code == 2, text
    assert rows == {}
    lines = [ln for ln in text.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and expect in lines[0], text
    assert expect in s_out
