"""Dataset writer: standard layout, hashes, resume, tamper detection, path safety."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lode_bench.datasets.manifest import (
    JOURNAL_NAME,
    DatasetWriter,
    ManifestError,
    load_manifest,
)
from lode_bench.errors import UnsafePathError
from lode_bench.io import read_image, sha256_file


def _sample(rng, h=6, w=7):
    return {
        "blur": rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
        "sharp": rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
        "mask": rng.random((h, w)) > 0.5,
    }


def test_layout_hashes_and_round_trip(tmp_path, rng):
    w = DatasetWriter(tmp_path / "ds", "demo", meta={"recipe": "x"})
    s = _sample(rng)
    w.write_sample("seq/0001", s, arrays={"kernel": np.ones((3, 3)) / 9}, extra={"seed": 3})
    m = w.finalize()
    root = tmp_path / "ds"
    assert (root / "test/blur/seq/0001.png").is_file()
    assert (root / "test/kernel/seq/0001.npy").is_file()
    assert not (root / JOURNAL_NAME).exists()
    loaded = load_manifest(root)
    assert loaded.manifest_hash == m.manifest_hash
    entry = loaded.samples[0]
    assert entry["seed"] == 3 and entry["size"] == [6, 7]
    for role in ("blur", "sharp", "mask", "kernel"):
        assert sha256_file(loaded.path_of(entry, role)) == entry["sha256"][role]
    np.testing.assert_array_equal(read_image(loaded.path_of(entry, "blur")), s["blur"])
    assert loaded.verify(check_hashes=True) == []


def test_resume_skips_finished_and_redoes_damaged(tmp_path, rng):
    w = DatasetWriter(tmp_path, "demo")
    w.write_sample("a", _sample(rng))
    w.write_sample("b", _sample(rng))
    # no finalize: simulate a killed run, then damage one file
    (tmp_path / "test/sharp/b.png").write_bytes(b"junk")
    w2 = DatasetWriter(tmp_path, "demo")
    assert w2.has_sample("a") and not w2.has_sample("b")


def test_torn_journal_line_is_ignored(tmp_path, rng):
    w = DatasetWriter(tmp_path, "demo")
    w.write_sample("a", _sample(rng))
    with open(tmp_path / JOURNAL_NAME, "a") as fh:
        fh.write('{"id": "b", "spl')  # killed mid-write
    assert DatasetWriter(tmp_path, "demo").has_sample("a")


def test_hand_edited_manifest_is_detected(tmp_path, rng):
    w = DatasetWriter(tmp_path, "demo")
    w.write_sample("a", _sample(rng))
    w.finalize()
    doc = json.loads((tmp_path / "manifest.json").read_text())
    doc["samples"][0]["sha256"]["blur"] = "0" * 64
    (tmp_path / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(ManifestError, match="manifest_hash"):
        load_manifest(tmp_path)


def test_manifest_errors_name_the_file(tmp_path):
    with pytest.raises(ManifestError, match="manifest not found"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ManifestError, match="malformed JSON"):
        load_manifest(tmp_path)


def test_paths_outside_root_are_refused(tmp_path, rng):
    doc = {
        "format": "lode-bench-dataset",
        "samples": [
            {"id": "x", "split": "test", "files": {"blur": "../../etc/passwd"}, "sha256": {}}
        ],
    }
    (tmp_path / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(UnsafePathError):
        load_manifest(tmp_path)
    w = DatasetWriter(tmp_path / "w", "demo")
    with pytest.raises(UnsafePathError):
        w.write_sample("x", _sample(rng), paths={"blur": "../escape.png"})
