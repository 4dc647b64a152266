"""Datasets that would give silently wrong results: duplicate ids, files that do not match
their manifest, samples of two synth runs mixed, duplicate stems, symlinks out of the root."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from lode_bench.io import write_image
from lode_bench.io.atomic import sha256_file
from tests.hostile.run.hostile_helpers import assert_one_line_error, store_rows

pytestmark = pytest.mark.timeout(300)


def _run(cli, dataset, store, *extra):
    return cli(
        "run",
        "-m",
        "identity",
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


def test_duplicate_sample_ids_refused(cli, dataset, tmp_path):
    man = dataset / "manifest.json"
    doc = json.loads(man.read_text())
    doc["samples"][3]["id"] = doc["samples"][2]["id"]
    doc.pop("manifest_hash")
    man.write_text(json.dumps(doc))
    out_dir = tmp_path / "out"
    code, out = _run(cli, dataset, tmp_path / "r.sqlite", "--save-outputs", out_dir)
    assert_one_line_error(code, out, "duplicate sample ids", "s002")
    assert not (tmp_path / "r.sqlite").exists() or store_rows(tmp_path / "r.sqlite") == []


def _replace_content(path: Path, keep_mtime: bool) -> None:
    st = path.stat()
    img = np.zeros((24, 32, 3), np.uint8)
    write_image(path, img)
    if keep_mtime:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_file_that_differs_from_manifest_is_refused(cli, dataset, tmp_path):
    target = dataset / "test" / "sharp" / "s001.png"
    _replace_content(target, keep_mtime=False)
    store = tmp_path / "r.sqlite"
    code, out = _run(cli, dataset, store)
    assert_one_line_error(code, out, str(target), "differs from manifest.json")
    assert not store.exists() or store_rows(store) == []


def test_cached_check_trusts_unchanged_files_and_verify_rehashes(cli, dataset, tmp_path):
    store = tmp_path / "r.sqlite"
    code, out = _run(cli, dataset, store)
    assert code == 0, out
    target = dataset / "test" / "blur" / "s002.png"
    _replace_content(target, keep_mtime=False)  # changed mtime: re-hashed by default
    code, out = _run(cli, dataset, store, "--retry-errors")
    assert_one_line_error(code, out, str(target))
    code, out = _run(cli, dataset, store, "--verify")
    assert_one_line_error(code, out, str(target), "differs")
    assert len(store_rows(store)) == 4  # the earlier rows are untouched


def test_verify_catches_a_change_that_keeps_size_and_mtime(cli, dataset, tmp_path):
    store = tmp_path / "r.sqlite"
    assert _run(cli, dataset, store)[0] == 0
    target = dataset / "test" / "blur" / "s000.png"
    data = bytearray(target.read_bytes())
    st = target.stat()
    data[-20] ^= 0xFF  # same size
    target.write_bytes(bytes(data))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    code, out = _run(cli, dataset, store, "--verify")
    assert_one_line_error(code, out, str(target), "differs")


# -- synth re-runs ------------------------------------------------------------------------
def _synth(cli, out, *args):
    return cli("synth", "builtin", "--out", out, "--kind", "global", "--quiet", *args)


def _manifest_state(root: Path) -> tuple[str, dict[str, str]]:
    files = {
        str(p.relative_to(root)): sha256_file(p) for p in sorted(root.rglob("*")) if p.is_file()
    }
    return json.loads((root / "manifest.json").read_text())["manifest_hash"], files


@pytest.mark.parametrize("changed", [["--seed", "1"], ["--size", "32x40"]])
def test_synth_rerun_with_other_parameters_refused(cli, tmp_path, changed):
    out = tmp_path / "syn"
    code, text = _synth(cli, out, "--limit", "2", "--size", "32x48", "--seed", "0")
    assert code == 0, text
    before = _manifest_state(out)
    args = ["--limit", "3", "--size", "32x48", "--seed", "0"]
    i = args.index(changed[0])
    args[i + 1] = changed[1]
    code, text = _synth(cli, out, *args)
    assert_one_line_error(code, text, str(out), changed[0].lstrip("-"), "--overwrite")
    assert _manifest_state(out) == before
    code, text = _synth(cli, out, *args, "--overwrite")
    assert code == 0, text
    doc = json.loads((out / "manifest.json").read_text())
    assert len(doc["samples"]) == 3
    key = changed[0].lstrip("-")
    want = int(changed[1]) if key == "seed" else [32, 40]
    assert doc["meta"][key] == want
    assert all(s["size"] == (want if key == "size" else [32, 48]) for s in doc["samples"])


def test_synth_same_parameters_resume(cli, tmp_path):
    out = tmp_path / "syn"
    assert _synth(cli, out, "--limit", "1", "--size", "32x48")[0] == 0
    code, text = _synth(cli, out, "--limit", "2", "--size", "32x48")
    assert code == 0, text
    assert len(json.loads((out / "manifest.json").read_text())["samples"]) == 2


def test_unfinished_synth_run_is_checked_too(tmp_path):
    from lode_bench.datasets.manifest import DatasetWriter, ManifestError

    w = DatasetWriter(tmp_path / "d", "x", meta={"seed": 0}, identity=("seed",))
    w.write_sample("a", {"blur": np.zeros((16, 16, 3), np.uint8)})  # killed before finalize
    with pytest.raises(ManifestError, match="seed=0"):
        DatasetWriter(tmp_path / "d", "x", meta={"seed": 5}, identity=("seed",))
    DatasetWriter(tmp_path / "d", "x", meta={"seed": 0}, identity=("seed",))  # same seed: resumes


def test_recipe_rerun_with_other_seed_refused(cli, tmp_path):
    out = tmp_path / "rec"
    code, text = cli(
        "synth", "gopro", "--out", out, "--limit", "1", "--size", "32x48", "--seed", "3", "--quiet"
    )
    assert code == 0, text
    before = _manifest_state(out)
    code, text = cli(
        "synth", "gopro", "--out", out, "--limit", "1", "--size", "32x48", "--seed", "4", "--quiet"
    )
    assert_one_line_error(code, text, "seed=3")
    assert _manifest_state(out) == before


# -- folder:/gopro: datasets ---------------------------------------------------------------
def _pair_folder(root: Path, n: int = 2) -> Path:
    rng = np.random.default_rng(0)
    for i in range(n):
        img = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
        write_image(root / "blur" / f"{i:03d}.png", img)
        write_image(root / "sharp" / f"{i:03d}.png", img)
    return root


def test_folder_duplicate_stems_refused(cli, tmp_path):
    root = _pair_folder(tmp_path / "f")
    shutil.copy(root / "blur" / "000.png", root / "blur" / "000.bmp")
    code, out = cli(
        "run",
        "-m",
        "identity",
        "-d",
        f"folder:{root}",
        "-p",
        "gopro",
        "--store",
        tmp_path / "r.sqlite",
        "-q",
    )
    assert_one_line_error(code, out, "000.bmp", "000.png", "same sample id")


def test_gopro_duplicate_stems_refused(cli, tmp_path):
    seq = tmp_path / "GOPRO" / "test" / "GOPR0001_11_00"
    _pair_folder(seq)
    shutil.copy(seq / "sharp" / "001.png", seq / "sharp" / "001.jpg")
    code, out = cli(
        "run",
        "-m",
        "identity",
        "-d",
        f"gopro:{tmp_path / 'GOPRO'}",
        "-p",
        "gopro",
        "--store",
        tmp_path / "r.sqlite",
        "-q",
    )
    assert_one_line_error(code, out, "001.jpg", "001.png")


@pytest.mark.parametrize("kind", ["folder", "gopro"])
def test_symlink_out_of_root_refused(cli, tmp_path, kind):
    outside = tmp_path / "secret.png"
    write_image(outside, np.full((16, 16, 3), 7, np.uint8))
    if kind == "folder":
        root = _pair_folder(tmp_path / "f")
        link = root / "sharp" / "001.png"
        spec = f"folder:{root}"
    else:
        root = tmp_path / "GOPRO"
        _pair_folder(root / "test" / "GOPR0001_11_00")
        link = root / "test" / "GOPR0001_11_00" / "sharp" / "001.png"
        spec = f"gopro:{root}"
    link.unlink()
    link.symlink_to(outside)
    store = tmp_path / "r.sqlite"
    code, out = cli("run", "-m", "identity", "-d", spec, "-p", "gopro", "--store", store, "-q")
    assert_one_line_error(code, out, str(link), "out of the dataset root")
    assert not store.exists() or store_rows(store) == []


def test_symlink_inside_root_still_loads(cli, tmp_path):
    root = _pair_folder(tmp_path / "f")
    (root / "sharp" / "001.png").unlink()
    (root / "sharp" / "001.png").symlink_to(root / "blur" / "001.png")
    code, out = cli(
        "run",
        "-m",
        "identity",
        "-d",
        f"folder:{root}",
        "-p",
        "gopro",
        "--store",
        tmp_path / "r.sqlite",
        "-q",
        "--executor",
        "serial",
    )
    assert code == 0, out


def test_duplicate_ids_from_any_loader_refused(dataset, tmp_path):
    """A plugin loader (or a hand-built index) with two samples under one id: nothing stored."""
    from lode_bench.bench.runner import run_benchmark
    from lode_bench.datasets.registry import resolve_dataset
    from lode_bench.datasets.types import DatasetIndex
    from lode_bench.errors import LodeBenchError

    good = resolve_dataset(str(dataset))
    twice = [
        good.samples[0],
        good.samples[1],
        type(good.samples[1])(good.samples[0].id, good.samples[1].blur, good.samples[1].sharp),
    ]
    index = DatasetIndex("dup", "plugin", str(dataset), twice, "v1")
    store = tmp_path / "r.sqlite"
    with pytest.raises(LodeBenchError, match="duplicate sample ids"):
        run_benchmark("identity", index, "gopro", store, progress=False)
    assert not store.exists() or store_rows(store) == []
