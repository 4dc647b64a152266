"""lode-bench dataset verify | stats | split | preview."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.signal import convolve2d

from lode_bench.cli import main
from lode_bench.datasets.loaders import load_realblur
from lode_bench.datasets.manifest import DatasetWriter
from lode_bench.datasets.tools import dataset_stats, verify_dataset
from lode_bench.datasets.tools_split import assign_splits, preview_dataset, split_dataset
from lode_bench.io import read_image

SEQS = {f"seq{k:02d}": 2 + k % 4 for k in range(12)}  # 12 sequences of 2..5 frames


def _make(root: Path, order: int = 1, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    w = DatasetWriter(root, "tools")
    items = [(seq, i) for seq, n in SEQS.items() for i in range(n)][::order]
    for seq, i in items:
        sharp = rng.integers(0, 200, (20, 30, 3)).astype(np.uint8)
        blur = np.clip(sharp.astype(int) + rng.integers(-20, 60, sharp.shape), 0, 255).astype(
            np.uint8
        )
        mask = np.zeros((20, 30), bool)
        mask[: 2 + i, : 3 + 2 * i] = True
        w.write_sample(
            f"{seq}_{i:04d}",
            {"blur": blur, "sharp": sharp, "mask": mask},
            extra={"source": seq, "n_frames": 7 + 2 * (i % 2)},
        )
    w.finalize()
    return root


def test_verify_catches_changed_missing_and_extra(tmp_path: Path) -> None:
    root = _make(tmp_path / "ds")
    rep = verify_dataset(root)
    assert rep.ok and rep.n_files == 3 * sum(SEQS.values())
    runner = CliRunner()
    assert runner.invoke(main, ["dataset", "verify", str(root), "--quiet"]).exit_code == 0
    changed = root / "test/blur/seq03_0001.png"
    data = bytearray(changed.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of one byte
    changed.write_bytes(bytes(data))
    (root / "test/sharp/seq05_0000.png").unlink()
    (root / "test/blur/stray.png").write_bytes(b"x")
    (root / "splits").mkdir()
    (root / "splits/train.txt").write_text("tool output, not data\n")
    grown = root / "test/mask/seq07_0000.png"
    grown.write_bytes(grown.read_bytes() + b"\0")
    rep = verify_dataset(root)
    assert rep.changed == [
        "test/blur/seq03_0001.png (sha256 differs from the manifest)",
        f"test/mask/seq07_0000.png (size {grown.stat().st_size} bytes, "
        f"manifest {grown.stat().st_size - 1})",
    ]
    assert rep.missing == ["test/sharp/seq05_0000.png"]
    assert rep.extra == ["test/blur/stray.png"]
    res = runner.invoke(main, ["dataset", "verify", str(root), "--quiet"])
    assert res.exit_code == 1 and "1 missing, 2 changed, 1 extra" in res.output
    res = runner.invoke(main, ["dataset", "verify", str(root)])
    assert "missing: test/sharp/seq05_0000.png" in res.output and res.exit_code == 1


def test_split_deterministic_and_never_splits_a_sequence(tmp_path: Path) -> None:
    a = split_dataset(_make(tmp_path / "a"), ratios="0.6,0.2,0.2")
    b = split_dataset(_make(tmp_path / "b", order=-1, seed=1), ratios="0.6,0.2,0.2")
    assert a["samples"] == b["samples"] and a["groups"] == b["groups"]  # order-independent
    c = split_dataset(tmp_path / "a", ratios="0.6,0.2,0.2", seed=7, out_dir=tmp_path / "c")
    assert c["groups"] != a["groups"]  # the seed matters
    for doc in (a, c):
        seen: dict[str, str] = {}
        for key, sp in doc["samples"].items():
            seq = key.split("/", 1)[1].rsplit("_", 1)[0]
            assert seen.setdefault(seq, sp) == sp  # every frame of a sequence in one split
        assert set(doc["counts"]) == {"train", "val", "test"} and all(doc["counts"].values())
        assert sum(doc["counts"].values()) == sum(SEQS.values())
    assert abs(a["counts"]["train"] / sum(SEQS.values()) - 0.6) < 0.15
    out = tmp_path / "a" / "splits"
    ids = (out / "val.txt").read_text().split()
    assert len(ids) == a["counts"]["val"]
    pairs = [ln.split() for ln in (out / "train_list.txt").read_text().splitlines()]
    assert len(pairs) == a["counts"]["train"]
    assert all((tmp_path / "a" / p).is_file() and "/sharp/" in p for p, _ in pairs)
    # the RealBlur loader reads the list file as it reads RealBlur's own
    shutil.copy(out / "train_list.txt", tmp_path / "a" / "RealBlur_J_train_list.txt")
    idx = load_realblur(tmp_path / "a", variant="J", split="train")
    assert len(idx) == a["counts"]["train"]


def test_assign_splits_follows_ratios_with_whole_groups() -> None:
    groups = {f"g{i}": 10 for i in range(10)}
    out = assign_splits(groups, (0.8, 0.1, 0.1), seed=3)
    counts = {s: sum(groups[g] for g in out if out[g] == s) for s in ("train", "val", "test")}
    assert counts == {"train": 80, "val": 10, "test": 10}
    assert assign_splits(groups, (0.8, 0.1, 0.1), seed=3) == out


def _immerkaer(grey: np.ndarray) -> float:
    n = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], float)
    h, w = grey.shape
    return float(
        np.sqrt(np.pi / 2) / (6 * (w - 2) * (h - 2)) * np.abs(convolve2d(grey, n, "valid")).sum()
    )


def test_stats_recomputed_independently(tmp_path: Path) -> None:
    root = _make(tmp_path / "ds")
    doc = dataset_stats(root)
    rows = {r["id"]: r for r in doc["samples"]}
    for sid in ("seq01_0000", "seq03_0004", "seq11_0002"):
        blur = read_image(root / f"test/blur/{sid}.png").astype(float)
        sharp = read_image(root / f"test/sharp/{sid}.png").astype(float)
        mask = read_image(root / f"test/mask/{sid}.png")[..., 0] > 0
        r = rows[sid]
        assert r["mask_coverage"] == pytest.approx(mask.mean(), abs=1e-12)
        assert r["blur_mad"] == pytest.approx(np.abs(blur - sharp).mean(), abs=1e-9)
        assert r["saturated_fraction"] == pytest.approx((blur.max(axis=2) == 255).mean(), abs=1e-12)
        assert r["noise_sigma"] == pytest.approx(_immerkaer(blur.mean(axis=2)), rel=1e-9)
    sp = doc["splits"]["test"]
    assert sp["count"] == sum(SEQS.values()) and sp["image_sizes"] == {"20x30": sp["count"]}
    nf = [7 + 2 * (i % 2) for n in SEQS.values() for i in range(n)]
    assert sp["n_frames"]["mean"] == pytest.approx(np.mean(nf))
    saved = json.loads((root / "stats/stats.json").read_text())
    assert saved["splits"]["test"]["count"] == sp["count"]
    assert (root / "stats/mask_coverage.png").is_file() and (root / "stats/samples.csv").is_file()
    assert verify_dataset(root).ok  # tool outputs are not reported as extra files


def test_preview_contact_sheets(tmp_path: Path) -> None:
    root = _make(tmp_path / "ds")
    sheets = preview_dataset(root, per_sheet=5, tile_width=60, max_samples=12)
    assert [p.name for p in sheets] == ["test_000.png", "test_001.png", "test_002.png"]
    first = read_image(sheets[0])
    assert first.shape == (5 * 40, 3 * 60, 3)  # rows of blur | sharp | mask, 20x30 -> 40x60
    last = read_image(sheets[-1])
    assert last.shape[0] == 2 * 40
    res = CliRunner().invoke(main, ["dataset", "preview", str(root), "--out", str(tmp_path / "p")])
    assert res.exit_code == 0 and (tmp_path / "p" / "test_000.png").is_file()


def test_split_cli_and_bad_ratios(tmp_path: Path) -> None:
    root = _make(tmp_path / "ds")
    runner = CliRunner()
    res = runner.invoke(main, ["dataset", "split", str(root), "--ratios", "8,1,1"])
    assert res.exit_code == 0 and "12 sequence groups" in res.output
    res = runner.invoke(main, ["dataset", "split", str(root), "--ratios", "a,b"])
    assert res.exit_code != 0 and "--ratios" in res.output
    res = runner.invoke(main, ["dataset", "stats", str(root), "--no-plots", "--quiet"])
    assert res.exit_code == 0 and "test: 42 samples" in res.output
