"""Models and options: LPIPS keys, output folders, hanging commands, numeric options,
raising TorchScript models, corrupt checkpoints."""

from __future__ import annotations

import os
import pickle
import time
from pathlib import Path

import pytest

from tests.hostile.run.hostile_helpers import assert_one_line_error, store_rows

pytestmark = pytest.mark.timeout(120)


def _run(cli, dataset, store, *extra, model="identity"):
    return cli(
        "run",
        "-m",
        model,
        "-d",
        dataset,
        "-p",
        "gopro",
        "--store",
        store,
        "-q",
        "--executor",
        "serial",
        *extra,
    )


# -- LPIPS ----------------------------------------------------------------------------------
def test_lpips_protocol_id_includes_the_column():
    from lode_bench.metrics.protocols import get_protocol

    plain = get_protocol("gopro")
    with_lpips = plain.with_lpips("alex")
    assert with_lpips.id == f"{plain.id}+lpips-alex"
    assert with_lpips.version != plain.version and with_lpips.name == plain.name


def test_missing_lpips_weights_stop_before_any_image(cli, dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("LODE_BENCH_LPIPS_BACKBONE", str(tmp_path / "missing-alexnet.pth"))
    store = tmp_path / "r.sqlite"
    code, out = _run(cli, dataset, store, "--lpips", "alex")
    assert_one_line_error(code, out, "missing-alexnet.pth")
    assert "error: identity" not in out  # no per-image errors: the run never started
    assert not store.exists() or store_rows(store) == []
    code, out = _run(cli, dataset, store)  # a plain run afterwards scores every image
    assert code == 0, out
    rows = store_rows(store)
    assert len(rows) == 4 and all(r.status == "ok" and "PSNR" in r.metrics for r in rows)


# -- saved-output folders -----------------------------------------------------------------------
def test_output_folders_of_similar_labels_differ(cli, dataset, tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_text(f"""
name: collide
models:
  - {{name: identity, label: "m x"}}
  - {{name: unsharp, label: "m_x"}}
datasets: ["{dataset}"]
protocols: [gopro]
""")
    out_dir = tmp_path / "outputs"
    code, out = cli(
        "run",
        "--suite",
        suite,
        "--store",
        tmp_path / "r.sqlite",
        "--save-outputs",
        out_dir,
        "-q",
        "--executor",
        "serial",
    )
    assert code == 0, out
    folders = sorted({p.parent for p in out_dir.rglob("*.png")})
    assert len(folders) == 2
    assert all(len(list(f.glob("*.png"))) == 4 for f in folders)


# -- external commands --------------------------------------------------------------------------
def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.timeout(60)
def test_hanging_command_is_stopped_with_its_children(cli, dataset, tmp_path):
    pidfile = tmp_path / "child.pid"
    cmd = f"sh -c 'sleep 300 & echo $! > {pidfile}; wait' {{input}} {{output}}"
    t0 = time.monotonic()
    code, out = cli(
        "run",
        "-m",
        f"command={cmd}",
        "--model-opt",
        "command:timeout_per_image_s=0.5",
        "-d",
        dataset,
        "-p",
        "gopro",
        "--store",
        tmp_path / "r.sqlite",
        "-q",
    )
    assert time.monotonic() - t0 < 30
    assert_one_line_error(code, out, "did not finish within 2 s")
    pid = int(pidfile.read_text())
    for _ in range(50):
        if not _alive(pid):
            break
        time.sleep(0.1)
    assert not _alive(pid), "the command's child process was left running"


def test_command_has_a_default_time_limit():
    from lode_bench.models.adapters import CommandDeblurrer
    from lode_bench.models.card import get_model_card

    m = CommandDeblurrer(get_model_card("command"), "prog {input} {output}")
    assert m.timeout_s is None and 0 < m.timeout_per_image_s <= 3600


def test_bad_command_time_limit(cli, dataset, tmp_path):
    code, out = cli(
        "run",
        "-m",
        "command=prog {input} {output}",
        "--model-opt",
        "command:timeout_s=-1",
        "-d",
        dataset,
        "-p",
        "gopro",
        "--store",
        tmp_path / "r.sqlite",
        "-q",
    )
    assert_one_line_error(code, out, "timeout_s must be a positive number")


# -- numeric options ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["--tile", "0"],
        ["--tile", "-8"],
        ["--limit", "-1"],
        ["--limit", "0"],
        ["--workers", "0"],
        ["--seed", "-1"],
    ],
)
def test_run_numeric_options_validated(cli, dataset, tmp_path, args):
    store = tmp_path / "r.sqlite"
    code, out = _run(cli, dataset, store, *args)
    assert code == 2, out
    assert "Invalid value" in out and args[0] in out and "Traceback" not in out
    assert not store.exists()


@pytest.mark.parametrize("args", [["--limit", "0"], ["--seed", "-3"], ["--workers", "0"]])
def test_synth_numeric_options_validated(cli, tmp_path, args):
    code, out = cli("synth", "builtin", "--out", tmp_path / "s", "--quiet", *args)
    assert code == 2, out
    assert "Invalid value" in out and args[0] in out
    assert not (tmp_path / "s").exists()


def test_suite_numeric_settings_validated(cli, dataset, tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        f'models: [identity]\ndatasets: ["{dataset}"]\nprotocols: [gopro]\nsettings: {{limit: -1}}\n'
    )
    code, out = cli("run", "--suite", suite, "--store", tmp_path / "r.sqlite", "-q")
    assert_one_line_error(code, out, "settings.limit", ">= 1")


# -- raising TorchScript model ------------------------------------------------------------------
def test_raising_torchscript_model_stores_one_line(cli, dataset, tmp_path):
    torch = pytest.importorskip("torch")

    class Boom(torch.nn.Module):
        def forward(self, x):
            if bool(x.sum() > -1.0):
                raise RuntimeError("boom from the model")
            return x

    path = tmp_path / "boom.pt"
    torch.jit.save(torch.jit.script(Boom()), str(path))
    store = tmp_path / "r.sqlite"
    code, out = _run(cli, dataset, store, "--device", "cpu", model=f"torchscript={path}")
    assert code == 1, out  # every image failed: the command fails
    rows = store_rows(store)
    assert len(rows) == 4
    for r in rows:
        assert r.status == "error"
        assert r.error == "RuntimeError: boom from the model", r.error
    log = store.with_name("r.errors.log")
    text = log.read_text()
    assert text.count("boom from the model") >= 4 and "TorchScript" in text
    assert str(log) in out


# -- corrupt checkpoints ------------------------------------------------------------------------
class _Global:
    def __reduce__(self):
        return (os.getcwd, ())


def _write_bad(kind: str, path: Path) -> None:
    import torch

    if kind == "truncated":
        torch.save({"params": {"w": torch.ones(4)}}, str(path))
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "random":
        path.write_bytes(bytes(range(7, 250)) * 3)
    elif kind == "opcode":
        path.write_bytes(b"\x80\x02\xff\xfe\xfd")
    elif kind == "global":
        path.write_bytes(pickle.dumps(_Global(), protocol=2))
    elif kind == "empty":
        path.write_bytes(b"")


@pytest.mark.parametrize(
    "kind, needle",
    [
        ("truncated", "truncated or corrupt zip archive"),
        ("random", "neither a torch.save zip archive nor a pickle"),
        ("opcode", "unsupported pickle opcode"),
        ("global", "getcwd"),
        ("empty", "empty file"),
    ],
)
def test_corrupt_checkpoint_names_the_cause(cli, dataset, tmp_path, kind, needle):
    pytest.importorskip("torch")
    bad = tmp_path / f"{kind}.pth"
    _write_bad(kind, bad)
    code, out = _run(
        cli, dataset, tmp_path / "r.sqlite", "--device", "cpu", model=f"mimo-unet={bad}"
    )
    msg = assert_one_line_error(code, out, str(bad), needle)
    assert "weights_only" not in msg and "False" not in msg
    if kind != "global":
        assert "other than tensors" not in msg


@pytest.mark.parametrize(
    "args", [["--step", "0"], ["--start", "-1"], ["--stop", "0"], ["--fps", "0"]]
)
def test_capture_extract_numeric_options_validated(cli, tmp_path, args):
    video = tmp_path / "v.mp4"
    video.write_bytes(b"not decoded: the options are checked first")
    code, out = cli("capture", "extract", video, "--out", tmp_path / "frames", *args)
    assert code == 2, out
    assert "Invalid value" in out and args[0] in out
    assert not (tmp_path / "frames").exists()


# -- a bad pixel limit ----------------------------------------------------------------------------
def test_bad_pixel_limit_is_one_error_before_any_image(cli, dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("LODE_BENCH_MAX_PIXELS", "lots")
    store = tmp_path / "r.sqlite"
    code, out = cli("run", "-m", "identity", "-d", dataset, "-p", "gopro", "--store", store, "-q")
    assert_one_line_error(code, out, "LODE_BENCH_MAX_PIXELS", "positive integer")
    assert not store.exists() or store_rows(store) == []
