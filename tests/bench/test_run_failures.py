"""Failed images fail ``lode-bench run``: exit codes, the reason summary, the CSV; suites skip
models that cannot be loaded."""

from __future__ import annotations

import csv

import numpy as np
from click.testing import CliRunner

from lode_bench.bench.failures import error_reason
from lode_bench.bench.store import ResultsStore
from lode_bench.cli.run import run_command


def _run(*args: str):
    return CliRunner().invoke(run_command, [*args, "--executor", "serial", "-q"])


def test_error_reason_removes_what_differs_per_image():
    a = error_reason(
        "sample 's001' has no 'kernel' array: non-blind deconvolution needs it", "s001"
    )
    b = error_reason(
        "sample 'crop' has no 'kernel' array: non-blind deconvolution needs it", "crop"
    )
    assert a == b == "sample '<id>' has no 'kernel' array: non-blind deconvolution needs it"
    assert (
        error_reason("/data/out/s1.png: no output image for this sample", "s1")
        == "<path>: no output image for this sample"
    )
    assert (
        error_reason("s2: model output shape (31, 40, 3) differs", "s2")
        == "<id>: model output shape (N, N, N) differs"
    )


def test_some_failed_images_exit_1_with_a_summary_and_a_csv(tiny, tmp_path):
    store = tmp_path / "r.sqlite"
    res = _run("-m", "wiener", "-d", str(tiny), "-p", "deepdeblur", "--store", str(store))
    assert res.exit_code == 1, res.output  # the crop has no kernel: 1 of 7 failed
    err = res.stderr
    assert "error: 1 image(s) failed in 1 run(s)" in err
    assert "1 × sample '<id>' has no 'kernel' array" in err
    assert "wiener | tiny | crop: sample 'crop' has no 'kernel' array" in err
    csv_path = tmp_path / "r.failed.csv"
    assert str(csv_path) in err
    rows = list(csv.DictReader(csv_path.open()))
    assert [(r["model"], r["image_id"]) for r in rows] == [("wiener", "crop")] and "kernel" in rows[
        0
    ]["error"]
    again = _run("-m", "wiener", "-d", str(tiny), "-p", "deepdeblur", "--store", str(store))
    assert (
        again.exit_code == 1 and "1 stored as errors by earlier runs" in again.stderr
    )  # resuming hides nothing
    allowed = _run(
        "-m",
        "wiener",
        "-d",
        str(tiny),
        "-p",
        "deepdeblur",
        "--store",
        str(store),
        "--allow-failures",
    )
    assert allowed.exit_code == 0 and "1 image(s) failed" in allowed.stderr


def test_every_image_failing_exits_1(tiny, tmp_path):
    from lode_bench.datasets.registry import resolve_dataset
    from lode_bench.io.images import write_image

    outs = tmp_path / "wrong-size"
    ids = [s.id for s in resolve_dataset(str(tiny)).samples]
    for i in ids:  # every output pairs by name, and every one has the wrong size
        write_image(outs / f"{i}.png", np.zeros((8, 8, 3), np.uint8))
    res = _run(
        "-m",
        f"folder={outs}",
        "-d",
        str(tiny),
        "-p",
        "deepdeblur",
        "--store",
        str(tmp_path / "r.sqlite"),
    )
    assert res.exit_code == 1, res.output
    assert f"error: {len(ids)} image(s) failed" in res.stderr
    assert any(ln.strip().startswith(f"{len(ids)} × ") for ln in res.stderr.splitlines()), (
        res.stderr
    )  # one reason
    assert (
        sum(1 for ln in res.stderr.splitlines() if ln.startswith("error: folder@wrong-size |")) == 5
    )  # first few


def test_a_folder_model_with_no_matching_outputs_is_an_input_error(tiny, tmp_path):
    empty = tmp_path / "no-outputs"
    empty.mkdir()
    res = _run(
        "-m",
        f"folder={empty}",
        "-d",
        str(tiny),
        "-p",
        "deepdeblur",
        "--store",
        str(tmp_path / "r.sqlite"),
    )
    assert res.exit_code == 2, res.output
    assert "no prediction matches a ground-truth id" in res.output and "no-outputs" in res.output


def test_a_suite_skips_a_model_whose_checkpoint_is_missing(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("TINY_DS", str(tiny))
    suite = tmp_path / "s.yaml"
    suite.write_text(
        f"models: [{{name: nafnet, checkpoint: '{tmp_path}/missing.pth'}}, identity]\n"
        "datasets: ['${TINY_DS}']\nprotocols: [deepdeblur, basicsr]\n"
    )
    store = tmp_path / "r.sqlite"
    res = _run("--suite", str(suite), "--store", str(store))
    assert res.exit_code == 1, res.output
    skipped = [ln for ln in res.stdout.splitlines() if ln.startswith("nafnet@")]
    assert len(skipped) == 2 and all("skipped" in ln for ln in skipped)
    assert "missing.pth" in res.stderr and "skipped" in res.stderr
    with ResultsStore(store) as st:
        rows = st.rows()
    assert len(rows) == 14 and {r.model for r in rows} == {"identity"}  # the rest of the suite ran
    only = tmp_path / "only.yaml"
    only.write_text(
        f"models: [{{name: nafnet, checkpoint: '{tmp_path}/missing.pth'}}]\n"
        "datasets: ['${TINY_DS}']\nprotocols: [deepdeblur]\n"
    )
    res = _run("--suite", str(only), "--store", str(store))
    assert res.exit_code == 2 and res.stderr.count("error:") == 1 and "missing.pth" in res.stderr, (
        res.output
    )
