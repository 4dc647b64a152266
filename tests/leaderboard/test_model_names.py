"""Model names a user can type: display labels in model specs, short forms of stored names
and errors that list what the store holds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from lode_bench.bench.store import ResultsStore, UnknownModelError, match_model_name
from lode_bench.cli import main
from lode_bench.datasets.manifest import DatasetWriter, load_manifest
from lode_bench.io import write_image
from lode_bench.metrics.protocols import get_protocol
from lode_bench.models.loader import ModelSpec


def _dataset(root: Path, n: int = 3) -> Path:
    rng = np.random.default_rng(0)
    w = DatasetWriter(root, "names-set")
    for i in range(n):
        sharp = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
        blur = np.clip(sharp.astype(int) + rng.integers(-20, 21, sharp.shape), 0, 255).astype(
            np.uint8
        )
        w.write_sample(f"s{i}", {"blur": blur, "sharp": sharp})
    w.finalize()
    return root


def _outputs(data: Path, out: Path) -> Path:
    """Precomputed outputs of a "method": the ground truth with a little noise."""
    rng = np.random.default_rng(1)
    man = load_manifest(data)
    out.mkdir(parents=True)
    for s in man.samples:
        from lode_bench.io import read_image

        sharp = read_image(man.path_of(s, "sharp"), dtype="uint8")
        noisy = np.clip(sharp.astype(int) + rng.integers(-3, 4, sharp.shape), 0, 255)
        write_image(out / f"{s['id']}.png", noisy.astype(np.uint8))
    return out


def _board(root: Path, manifest_hash: str, ids: list[str]) -> Path:
    proto = get_protocol("gopro")
    doc = {
        "name": "names-board",
        "title": "t",
        "description": "d",
        "protocol": {"name": proto.name, "version": str(proto.version)},
        "metrics": ["PSNR", "SSIM"],
        "ranking": {"metric": "PSNR"},
        "datasets": [{"name": "names-set", "manifest_hash": manifest_hash, "image_ids": ids}],
    }
    root.mkdir(parents=True)
    (root / "leaderboard.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return root


@pytest.fixture
def setup(tmp_path):
    data = _dataset(tmp_path / "data")
    outs = _outputs(data, tmp_path / "results" / "mymethod")
    man = load_manifest(data)
    board = _board(tmp_path / "board", man.manifest_hash, sorted(str(s["id"]) for s in man.samples))
    return tmp_path, data, outs, board


def _run(args: list[str]):
    res = CliRunner().invoke(main, args, catch_exceptions=False)
    return res


def test_label_in_model_spec():
    spec = ModelSpec.parse("mymethod=folder:results/mymethod")
    assert (spec.name, spec.checkpoint, spec.label) == ("folder", "results/mymethod", "mymethod")
    assert spec.store_label() == "mymethod"
    # registered names keep NAME=CHECKPOINT
    plain = ModelSpec.parse("folder=results/mymethod")
    assert (plain.name, plain.checkpoint, plain.label) == ("folder", "results/mymethod", None)
    assert plain.store_label() == "folder@mymethod"
    assert ModelSpec.parse("nafnet=w/x:1.pth").checkpoint == "w/x:1.pth"
    assert ModelSpec.parse("base=identity").store_label() == "base"


def test_short_names_match_one_stored_name():
    stored = ["folder@mymethod", "identity", "nafnet@1a2b3c4d5e", "command@57a4ca6334"]
    assert match_model_name("mymethod", stored) == "folder@mymethod"
    assert match_model_name("nafnet", stored) == "nafnet@1a2b3c4d5e"
    assert match_model_name("identity", stored) == "identity"
    with pytest.raises(
        UnknownModelError, match="stored models: command@57a4ca6334, folder@mymethod"
    ):
        match_model_name("other", stored)
    with pytest.raises(UnknownModelError, match="ambiguous.*folder@a, folder@b"):
        match_model_name("folder", ["folder@a", "folder@b"])


def test_readme_flow_folder_model_exported_by_short_name(setup):
    tmp, data, outs, board = setup
    store = tmp / "results.sqlite"
    r = _run(
        [
            "run",
            "--model",
            f"folder={outs}",
            "--dataset",
            str(data),
            "--protocol",
            "gopro",
            "--store",
            str(store),
            "-q",
        ]
    )
    assert r.exit_code == 0, r.output
    with ResultsStore(store) as st:
        assert st.model_names() == ["folder@mymethod"]
    sub = tmp / "sub.json"
    r = _run(
        [
            "leaderboard",
            "export",
            "--store",
            str(store),
            "--model",
            "mymethod",
            "--leaderboard",
            str(board),
            "--out",
            str(sub),
        ]
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(sub.read_text())
    assert doc["method"]["name"] == "mymethod"
    assert [len(b["rows"]) for b in doc["results"]] == [3]
    r = _run(["leaderboard", "validate", str(board), str(sub)])
    assert r.exit_code == 0, r.output


def test_labelled_spec_stores_the_label(setup):
    tmp, data, outs, board = setup
    store = tmp / "results.sqlite"
    r = _run(
        [
            "run",
            "--model",
            f"mine=folder:{outs}",
            "--model",
            "identity",
            "--dataset",
            str(data),
            "--protocol",
            "gopro",
            "--store",
            str(store),
            "-q",
        ]
    )
    assert r.exit_code == 0, r.output
    with ResultsStore(store) as st:
        assert st.model_names() == ["identity", "mine"]
    r = _run(
        [
            "leaderboard",
            "export",
            "--store",
            str(store),
            "--model",
            "nothing",
            "--leaderboard",
            str(board),
            "--out",
            str(tmp / "x.json"),
        ]
    )
    assert r.exit_code != 0
    assert "no results for model 'nothing'" in r.output
    assert "stored models: identity, mine" in r.output


def test_other_dataset_version_names_pinned_and_present_hashes(setup):
    tmp, data, outs, board = setup
    store = tmp / "results.sqlite"
    other = _dataset(tmp / "other", n=2)
    r = _run(
        [
            "run",
            "--model",
            f"mine=folder:{outs}",
            "--dataset",
            str(other),
            "--protocol",
            "gopro",
            "--store",
            str(store),
            "-q",
        ]
    )
    assert r.exit_code == 0, r.output
    pinned = load_manifest(data).manifest_hash
    present = load_manifest(other).manifest_hash
    assert pinned != present
    r = _run(
        [
            "leaderboard",
            "export",
            "--store",
            str(store),
            "--model",
            "mine",
            "--leaderboard",
            str(board),
            "--out",
            str(tmp / "x.json"),
        ]
    )
    assert r.exit_code != 0
    assert pinned in r.output and present in r.output
    # under another protocol than the board's: both hashes still named
    r = _run(
        [
            "run",
            "--model",
            f"two=folder:{outs}",
            "--dataset",
            str(other),
            "--protocol",
            "basicsr",
            "--store",
            str(store),
            "-q",
        ]
    )
    assert r.exit_code == 0, r.output
    r = _run(
        [
            "leaderboard",
            "export",
            "--store",
            str(store),
            "--model",
            "two",
            "--leaderboard",
            str(board),
            "--out",
            str(tmp / "y.json"),
        ]
    )
    assert r.exit_code != 0
    assert pinned in r.output and present in r.output and "stored models: mine, two" in r.output


def test_report_options_accept_short_names(setup):
    tmp, data, outs, _ = setup
    store = tmp / "results.sqlite"
    r = _run(
        [
            "run",
            "--model",
            f"folder={outs}",
            "--model",
            "identity",
            "--dataset",
            str(data),
            "--protocol",
            "gopro",
            "--store",
            str(store),
            "-q",
        ]
    )
    assert r.exit_code == 0, r.output
    report = tmp / "report"
    r = _run(
        [
            "report",
            "--store",
            str(store),
            "--out",
            str(report),
            "--resamples",
            "100",
            "--outputs",
            f"mymethod={outs}",
        ]
    )
    assert r.exit_code == 0, r.output
    assert "no saved outputs for folder@mymethod" not in r.output
    assert list((report / "visuals").glob("*__best_worst_folder-mymethod*.png"))
