"""`lode-bench score` and `lode-bench ls`: pairing by name, outputs, errors, exit codes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from lode_bench.cli import main
from lode_bench.examples import example_dirs, example_root
from lode_bench.io import read_image, write_image
from lode_bench.metrics.masked import psnr_w

KNOWN_GOPRO = {
    "blur": (20.8356, 0.5266),
    "hi-diff": (27.6604, 0.9206),
    "restormer": (25.3899, 0.8682),
    "stripformer": (25.8506, 0.8698),
}


def _run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def folders(tmp_path):
    """gt/ and pred/ with the two shipped real crops each (Restormer outputs as predictions)."""
    gt_dir, pred_dir = tmp_path / "gt", tmp_path / "pred"
    gt_dir.mkdir()
    pred_dir.mkdir()
    for name in ("gopro", "realblur"):
        p, g = example_dirs(name, "restormer")
        stem = next(g.iterdir()).name
        shutil.copy(g / stem, gt_dir / stem)
        shutil.copy(p / stem, pred_dir / stem)
    return pred_dir, gt_dir


@pytest.mark.parametrize("method", sorted(KNOWN_GOPRO))
def test_example_scores_equal_published_values(method, tmp_path):
    out = tmp_path / "r.json"
    res = _run("score", "--example", f"gopro/{method}", "-p", "basicsr", "-q", "--out", str(out))
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    row = doc["images"][0]
    assert (round(row["PSNR"], 4), round(row["SSIM"], 4)) == KNOWN_GOPRO[method]
    assert doc["summary"]["n_ok"] == 1


def test_pairs_by_name_not_listing_order(tmp_path):
    """A folder whose listing order would mis-pair every file still pairs by name."""
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    go_p, go_g = example_dirs("gopro", "restormer")
    rb_p, rb_g = example_dirs("realblur", "restormer")
    shutil.copy(next(go_g.iterdir()), tmp_path / "gt" / "a.png")
    shutil.copy(next(rb_g.iterdir()), tmp_path / "gt" / "b.png")
    shutil.copy(next(go_p.iterdir()), tmp_path / "pred" / "0_first.png")  # sorts before b.png
    shutil.copy(next(rb_p.iterdir()), tmp_path / "pred" / "b.png")
    out = tmp_path / "r.csv"
    res = _run(
        "score",
        "--pred",
        str(tmp_path / "pred"),
        "--gt",
        str(tmp_path / "gt"),
        "-p",
        "basicsr",
        "-q",
        "--out",
        str(out),
    )
    assert res.exit_code == 1  # a.png has no prediction
    df = pd.read_csv(out).set_index("image_id")
    assert df.loc["a", "status"] == "error"
    assert round(df.loc["b", "PSNR"], 4) == 23.3064  # the published realblur/restormer value
    assert "0_first" in res.output


def test_missing_and_extra_predictions_are_reported(folders, tmp_path):
    pred_dir, gt_dir = folders
    missing = sorted(gt_dir.iterdir())[0].name
    (pred_dir / missing).unlink()
    shutil.copy(sorted(gt_dir.iterdir())[1], pred_dir / "stray.png")
    out = tmp_path / "r.csv"
    res = _run(
        "score",
        "--pred",
        str(pred_dir),
        "--gt",
        str(gt_dir),
        "-p",
        "gopro",
        "-q",
        "--out",
        str(out),
    )
    assert res.exit_code == 1
    assert "stray" in res.output and "no ground truth" in res.output
    assert f"no prediction for ground truth {gt_dir / missing}" in res.output
    df = pd.read_csv(out).set_index("image_id")
    assert df.loc[missing.removesuffix(".png"), "status"] == "error"
    assert (df["status"] == "ok").sum() == 1


def test_corrupt_prediction_is_an_error_row_naming_the_file(folders, tmp_path):
    pred_dir, gt_dir = folders
    victim = sorted(pred_dir.iterdir())[0]
    victim.write_bytes(victim.read_bytes()[:100])
    res = _run("score", "--pred", str(pred_dir), "--gt", str(gt_dir), "-p", "gopro", "-q")
    assert res.exit_code == 1
    assert str(victim) in res.output and "truncated PNG" in res.output
    assert "1 scored, 1 failed" in res.output


def test_identical_images_report_infinite_psnr(tmp_path):
    _, gt_dir = example_dirs("gopro", "restormer")
    res = _run("score", "--pred", str(gt_dir), "--gt", str(gt_dir), "-p", "gopro", "-q")
    assert res.exit_code == 0
    assert "inf" in res.output and "infinite PSNR" in res.output


def test_mask_protocol_with_npy_flow_masks(tmp_path):
    p_dir, g_dir = example_dirs("gopro", "restormer")
    stem = next(g_dir.iterdir()).stem
    gt = read_image(g_dir / f"{stem}.png")
    pred = read_image(p_dir / f"{stem}.png")
    mag = np.zeros(gt.shape[:2])
    mag[5:30, 10:70] = 0.6
    mag[35:40, 10:70] = 0.25  # exactly at the threshold: outside (LODE uses > 0.25)
    (tmp_path / "m").mkdir()
    np.save(tmp_path / "m" / f"{stem}.npy", mag)
    out = tmp_path / "r.json"
    res = _run(
        "score",
        "--pred",
        str(p_dir),
        "--gt",
        str(g_dir),
        "--mask",
        str(tmp_path / "m"),
        "-p",
        "lode",
        "-q",
        "--out",
        str(out),
    )
    assert res.exit_code == 0, res.output
    row = json.loads(out.read_text())["images"][0]
    assert row["PSNR_w"] == pytest.approx(psnr_w(pred, gt, mag > 0.25), abs=1e-12)
    assert row["mask_coverage"] == pytest.approx((mag > 0.25).mean())


def test_mask_protocol_without_masks(tmp_path):
    p_dir, g_dir = example_dirs("gopro", "restormer")
    res = CliRunner().invoke(
        main, ["score", "--pred", str(p_dir), "--gt", str(g_dir), "-p", "lode"]
    )
    assert res.exit_code == 2 and "needs --mask" in res.output
    (tmp_path / "m").mkdir()
    res = _run(
        "score",
        "--pred",
        str(p_dir),
        "--gt",
        str(g_dir),
        "--mask",
        str(tmp_path / "m"),
        "-p",
        "lode",
        "-q",
    )
    assert res.exit_code == 1 and "no blur mask" in res.output


def test_bad_names_and_folders(tmp_path):
    res = CliRunner().invoke(main, ["score", "--example", "gopro/restormer", "-p", "realblurr"])
    assert res.exit_code == 2 and "did you mean 'realblur'" in res.output
    res = CliRunner().invoke(
        main, ["score", "--pred", str(tmp_path), "--gt", str(tmp_path / "no"), "-p", "gopro"]
    )
    assert res.exit_code == 2 and "folder not found" in res.output
    res = CliRunner().invoke(
        main, ["score", "--pred", str(tmp_path), "--gt", str(tmp_path), "-p", "gopro"]
    )
    assert res.exit_code == 2 and "no ground-truth images" in res.output


def test_ambiguous_names_are_refused(tmp_path):
    g = tmp_path / "gt"
    g.mkdir()
    img = np.zeros((16, 16, 3), np.uint8)
    write_image(g / "a.png", img)
    write_image(g / "a.bmp", img)
    res = CliRunner().invoke(main, ["score", "--pred", str(g), "--gt", str(g), "-p", "gopro"])
    assert res.exit_code == 2 and "ambiguous" in res.output


def test_recursive_pairing(tmp_path):
    for root in ("gt", "pred"):
        src = example_root() / "gopro" / ("gt" if root == "gt" else "hi-diff")
        shutil.copytree(src, tmp_path / root / "GOPR0410_11_00")
    res = _run(
        "score",
        "--pred",
        str(tmp_path / "pred"),
        "--gt",
        str(tmp_path / "gt"),
        "--recursive",
        "-p",
        "basicsr",
        "-q",
    )
    assert res.exit_code == 0 and "27.6604" in res.output


def test_ls_protocols_and_metrics():
    res = _run("ls", "protocols")
    assert res.exit_code == 0
    for name in ("gopro@1", "realblur@2", "reloblur@2", "lode@2", "basicsr-y@2", "iqa@2"):
        assert name in res.output
    res = _run("ls", "metrics", "--json")
    specs = {s["name"]: s for s in json.loads(res.output)}
    assert specs["lpips_alex"]["higher_is_better"] is False
    assert specs["local_psnr_bladenet"]["legacy"] is True
    assert specs["psnr_w"]["needs_mask"] is True


# -- inputs that would give silently wrong numbers -------------------------------------------
def _one_pair(tmp_path, name="gopro", method="restormer"):
    p_dir, g_dir = example_dirs(name, method)
    stem = next(g_dir.iterdir()).stem
    return read_image(p_dir / f"{stem}.png"), read_image(g_dir / f"{stem}.png"), stem


def _score_json(tmp_path, *args):
    out = tmp_path / "r.json"
    res = _run("score", *args, "-q", "--out", str(out))
    return res, json.loads(out.read_text()) if out.exists() else None


def test_rgb_photo_as_mask_is_refused_unless_a_threshold_is_given(tmp_path):
    pred, gt, stem = _one_pair(tmp_path)
    for d, img in (("p", pred), ("g", gt), ("m", gt)):  # the ground-truth photo as "mask"
        write_image(tmp_path / d / f"{stem}.png", img)
    args = (
        "--pred",
        str(tmp_path / "p"),
        "--gt",
        str(tmp_path / "g"),
        "--mask",
        str(tmp_path / "m"),
        "-p",
        "lode",
    )
    res, _ = _score_json(tmp_path, *args)
    assert (
        res.exit_code == 1
        and "not a binary mask" in res.output
        and "--mask-threshold" in res.output
    )
    res, doc = _score_json(tmp_path, *args, "--mask-threshold", "100")
    assert res.exit_code == 0, res.output
    assert doc["images"][0]["PSNR_w"] == pytest.approx(
        psnr_w(pred, gt, gt.max(axis=2) > 100), abs=1e-12
    )


@pytest.mark.parametrize("fg", [1, 255])
def test_binary_masks_with_soft_edges_are_accepted(tmp_path, fg):
    pred, gt, stem = _one_pair(tmp_path)
    m = np.zeros(gt.shape[:2], np.uint8)
    m[10:40, 20:90] = fg
    m[9, 20:90] = fg // 2  # an anti-aliased edge row
    write_image(tmp_path / "m" / f"{stem}.png", m)
    p_dir, g_dir = example_dirs("gopro", "restormer")
    res, doc = _score_json(
        tmp_path,
        "--pred",
        str(p_dir),
        "--gt",
        str(g_dir),
        "--mask",
        str(tmp_path / "m"),
        "-p",
        "lode",
    )
    assert res.exit_code == 0, res.output
    assert doc["images"][0]["PSNR_w"] == pytest.approx(psnr_w(pred, gt, m > 0), abs=1e-12)


def test_grey_prediction_against_colour_truth_is_refused_unless_allowed(tmp_path):
    pred, gt, stem = _one_pair(tmp_path)
    write_image(tmp_path / "p" / f"{stem}.png", pred.mean(axis=2).round().astype(np.uint8))
    write_image(tmp_path / "g" / f"{stem}.png", gt)
    args = ("--pred", str(tmp_path / "p"), "--gt", str(tmp_path / "g"), "-p", "gopro")
    res, _ = _score_json(tmp_path, *args)
    assert res.exit_code == 1 and "greyscale prediction against colour ground truth" in res.output
    assert "--allow-grey" in res.output
    res, doc = _score_json(tmp_path, *args, "--allow-grey")
    assert res.exit_code == 0 and doc["images"][0]["status"] == "ok"


def test_jpeg_predictions_get_a_note(tmp_path):
    pred, gt, stem = _one_pair(tmp_path)
    write_image(tmp_path / "p" / f"{stem}.jpg", pred)
    write_image(tmp_path / "g" / f"{stem}.png", gt)
    res, doc = _score_json(
        tmp_path, "--pred", str(tmp_path / "p"), "--gt", str(tmp_path / "g"), "-p", "gopro"
    )
    assert res.exit_code == 0 and "note: 1 prediction(s) are JPEG files (lossy)" in res.output
    assert doc["summary"]["n_lossy_predictions"] == 1


def test_swapping_pred_and_gt_changes_realblur_but_not_psnr_or_ssim(tmp_path):
    p_dir, g_dir = example_dirs("realblur", "restormer")
    got = {}
    for proto in ("basicsr", "realblur"):
        for order, (a, b) in (("fwd", (p_dir, g_dir)), ("swap", (g_dir, p_dir))):
            res, doc = _score_json(tmp_path, "--pred", str(a), "--gt", str(b), "-p", proto)
            assert res.exit_code == 0, res.output
            got[proto, order] = doc["images"][0]
    assert got["basicsr", "fwd"]["PSNR"] == got["basicsr", "swap"]["PSNR"]
    assert got["basicsr", "fwd"]["SSIM"] == pytest.approx(got["basicsr", "swap"]["SSIM"], abs=1e-12)
    assert abs(got["realblur", "fwd"]["PSNR"] - got["realblur", "swap"]["PSNR"]) > 0.01
    specs = {s["name"]: s for s in json.loads(_run("ls", "metrics", "--json").output)}
    assert specs["realblur_aligned"]["symmetric"] is False and specs["psnr"]["symmetric"] is True
    assert "swapping changes them" in " ".join(_run("score", "--help").output.split())


def test_missing_lpips_weights_stop_score_once_before_scoring(tmp_path, monkeypatch):
    from lode_bench.metrics import scoring

    monkeypatch.setenv("LODE_BENCH_LPIPS_BACKBONE", str(tmp_path / "no-such-weights.pth"))
    monkeypatch.setattr(scoring, "score_pair", lambda *a, **k: pytest.fail("an image was scored"))
    res = CliRunner().invoke(
        main, ["score", "--example", "gopro/restormer", "-p", "gopro", "--lpips", "alex", "-q"]
    )
    assert res.exit_code == 2, res.output
    assert [ln for ln in res.output.splitlines() if ln.startswith("error:")] == [
        ln for ln in res.output.splitlines() if ln.strip()
    ]
    assert "no-such-weights.pth" in res.output and "images:" not in res.output


def test_jobs_is_gone_workers_is_the_one_spelling():
    res = _run("score", "--example", "gopro/restormer", "-p", "basicsr", "--jobs", "1", "-q")
    assert res.exit_code == 2 and "--jobs" in res.output
    res = _run("score", "--example", "gopro/restormer", "-p", "basicsr", "--workers", "1", "-q")
    assert res.exit_code == 0 and "1 scored" in res.output
