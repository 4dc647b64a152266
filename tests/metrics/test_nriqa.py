"""No-reference metrics as first-class metrics: metadata, protocols and the pyiqa wrapper."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from lode_bench.errors import LodeBenchError
from lode_bench.io import read_image
from lode_bench.metrics.base import METRICS
from lode_bench.metrics.niqe import niqe
from lode_bench.metrics.protocols import MetricCall, Protocol, get_protocol
from tests.metrics.metrics_data import DATA

MODEL = DATA / "niqe" / "niqe_pris_params.npz"


def _img(name: str) -> np.ndarray:
    return read_image(DATA / "tid2013" / f"{name}.png", dtype="uint8")


def test_nr_metric_metadata() -> None:
    for name, higher in [
        ("maniqa", True),
        ("liqe", True),
        ("nrqm", True),
        ("clipiqa", True),
        ("pi", False),
        ("brisque", False),
        ("niqe", False),
        ("ilniqe", False),
        ("niqe_matlab", False),
        ("musiq", True),
    ]:
        spec = METRICS.get(name)
        assert spec.no_reference and spec.higher_is_better is higher and spec.reference
    assert not METRICS.get("psnr").no_reference
    proto = get_protocol("nr-glow")
    assert proto.columns == [
        "MANIQA",
        "LIQE",
        "NRQM",
        "CLIP-IQA",
        "PI",
        "BRISQUE",
        "NIQE",
        "ILNIQE",
    ]
    assert not proto.needs_reference and proto.partial
    assert [proto.higher_is_better(c) for c in proto.columns] == [True] * 4 + [False] * 4


def test_fr_protocol_refuses_missing_reference() -> None:
    with pytest.raises(LodeBenchError, match="no ground truth.*full-reference.*PSNR"):
        get_protocol("gopro").score(_img("I04_dist"), None, image_id="x")


def test_nr_protocol_on_paired_set_rates_output_alone(monkeypatch) -> None:
    monkeypatch.setenv("LODE_BENCH_NIQE_MODEL", str(MODEL))
    pred = _img("I08_dist")
    proto = Protocol(
        "mixed",
        "1",
        "PSNR and NIQE",
        "test",
        (MetricCall("PSNR", "psnr"), MetricCall("NIQE", "niqe")),
    )
    a = proto.score(pred, _img("I08_ref"))
    b = proto.score(pred, _img("I08_dist"))
    assert a.values["NIQE"] == b.values["NIQE"] == pytest.approx(niqe(pred), abs=1e-12)
    assert a.values["PSNR"] < b.values["PSNR"]
    nr = get_protocol("nr-niqe").score(pred, None)
    assert nr.ok and nr.values["NIQE"] == a.values["NIQE"]


def test_partial_protocol_with_nothing_available(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("LODE_BENCH_NIQE_MODEL", raising=False)
    monkeypatch.setenv("LODE_BENCH_NRIQA_WEIGHTS", str(tmp_path))
    monkeypatch.setitem(sys.modules, "pyiqa", None)  # extra absent
    with pytest.raises(LodeBenchError, match="none of its metrics can run") as e:
        get_protocol("nr-glow").available()
    assert "lode-bench[nriqa]" in str(e.value) and "NIQE (live) needs" in str(e.value)
    monkeypatch.setenv("LODE_BENCH_NIQE_MODEL", str(MODEL))
    sub, missing = get_protocol("nr-glow").available()
    assert sub.columns == ["NIQE"] and sub.version == "1+NIQE" and len(missing) == 7


def test_extra_absent_message(monkeypatch) -> None:
    from lode_bench.metrics.nriqa import NRIQAExtraMissing, pyiqa_score

    monkeypatch.setitem(sys.modules, "pyiqa", None)
    with pytest.raises(NRIQAExtraMissing, match=r"pip install 'lode-bench\[nriqa\]'") as e:
        pyiqa_score(_img("I04_dist"), name="brisque")
    assert "\n" not in str(e.value)


# ---------------------------------------------------------------- with pyiqa installed
@pytest.fixture
def pyiqa():
    return pytest.importorskip("pyiqa", reason="pyiqa (extra lode-bench[nriqa]) not installed")


def _tensor(img: np.ndarray):
    import torch

    return torch.from_numpy(img.astype(np.float32) / 255.0).permute(2, 0, 1)[None]


def test_random_weights_equal_direct_pyiqa_call(pyiqa, tmp_path: Path) -> None:
    import torch
    from pyiqa.archs import cnniqa_arch

    torch.manual_seed(0)
    net = pyiqa.create_metric("cnniqa", device="cpu", pretrained=None).net
    name = os.path.basename(cnniqa_arch.default_model_urls["koniq10k"])
    torch.save({"params": net.state_dict()}, tmp_path / name)
    img = _img("I06_dist")[:192, :256]
    direct = pyiqa.create_metric("cnniqa", device="cpu", pretrained_model_path=str(tmp_path / name))
    with torch.no_grad():
        expected = float(direct(_tensor(img)))
    proto = Protocol(
        "cnn",
        "1",
        "CNNIQA",
        "test",
        (MetricCall("CNNIQA", "pyiqa:cnniqa", {"weights_dir": str(tmp_path), "device": "cpu"}),),
    )
    got = proto.score(img, None)
    assert got.ok and got.values["CNNIQA"] == pytest.approx(expected, abs=1e-6)
    from lode_bench.metrics.nriqa import get_scorer

    scorer = get_scorer("cnniqa", weights_dir=str(tmp_path), device="cpu", batch_size=2)
    imgs = [img, img[:, ::-1], img[::-1]]
    singles = [scorer(im) for im in imgs]
    assert scorer.score_batch(imgs) == pytest.approx(singles, abs=1e-5)


def test_pyiqa_niqe_from_weights_folder(pyiqa, tmp_path: Path) -> None:
    import torch

    from lode_bench.metrics.niqe import read_niqe_model
    from lode_bench.metrics.nriqa import pyiqa_score

    read_niqe_model(MODEL).save(tmp_path / "niqe_modelparameters.mat")  # pyiqa's file name
    img = _img("I04_dist")
    direct = pyiqa.create_metric(
        "niqe", device="cpu", pretrained_model_path=str(tmp_path / "niqe_modelparameters.mat")
    )
    with torch.no_grad():
        expected = float(direct(_tensor(img)))
    assert pyiqa_score(img, name="niqe", weights_dir=str(tmp_path), device="cpu") == pytest.approx(
        expected, abs=1e-9
    )


def test_missing_weights_one_line(pyiqa, tmp_path: Path) -> None:
    from lode_bench.metrics.nriqa import NRWeightsMissing, pyiqa_score

    with pytest.raises(NRWeightsMissing) as e:
        pyiqa_score(_img("I04_dist"), name="musiq", weights_dir=str(tmp_path), device="cpu")
    msg = str(e.value)
    assert "musiq_koniq_ckpt" in msg and str(tmp_path) in msg and "\n" not in msg
    reason = METRICS.get("brisque").availability(weights_dir=str(tmp_path))
    assert reason is not None and "brisque_svm_weights.pth" in reason


def test_full_reference_pyiqa_metric_refused(pyiqa) -> None:
    from lode_bench.metrics.nriqa import pyiqa_metric_spec

    with pytest.raises(LodeBenchError, match="no no-reference metric 'psnr'"):
        pyiqa_metric_spec("psnr")


def test_score_cli_partial_protocol(tmp_path, monkeypatch) -> None:
    import shutil

    from click.testing import CliRunner

    from lode_bench.cli import main

    monkeypatch.setenv("LODE_BENCH_NIQE_MODEL", str(MODEL))
    monkeypatch.setitem(sys.modules, "pyiqa", None)
    for d, suffix in (("pred", "dist"), ("gt", "ref")):
        (tmp_path / d).mkdir()
        shutil.copy(DATA / "tid2013" / f"I04_{suffix}.png", tmp_path / d / "a.png")
    res = CliRunner().invoke(
        main,
        [
            "score",
            "--pred",
            str(tmp_path / "pred"),
            "--gt",
            str(tmp_path / "gt"),
            "-p",
            "nr-glow",
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "MANIQA not computed" in res.output and "lode-bench[nriqa]" in res.output
    assert f"{niqe(_img('I04_dist')):.4f}" in res.output and "1 scored, 0 failed" in res.output
