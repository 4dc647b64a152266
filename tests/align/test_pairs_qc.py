"""Pair discovery by name and QC functions (PSNR against scikit-image, CSV, thresholds)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from lode_bench.align.pairs import PairingError, find_pairs, name_key
from lode_bench.align.qc import QCRecord, QCThresholds, apply_thresholds, masked_psnr, qc_table_csv


def _touch(p: Path) -> None:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"x")


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("0001.png", "0001"),
        ("blur_3.png", "3"),
        ("gt_3.png", "3"),
        ("07_blur.png", "07"),
        ("07_sharp.png", "07"),
        ("frame-gt.png", "frame"),
        ("blurred.png", "blurred"),
    ],
)
def test_name_key(name: str, key: str) -> None:
    assert name_key(Path(name)) == key


def test_scene_layout_pairs_by_name_not_order(tmp_path: Path) -> None:
    for n in ("blur_1.png", "blur_2.png", "blur_10.png"):
        _touch(tmp_path / "scene001" / "blur" / n)
    for n in ("gt_10.png", "gt_1.png"):  # gt_2 missing
        _touch(tmp_path / "scene001" / "gt" / n)
    _touch(tmp_path / "scene002" / "blur" / "a.png")
    _touch(tmp_path / "scene002" / "sharp" / "a.png")
    _touch(tmp_path / "scene002" / "sharp" / "b.png")
    _touch(tmp_path / "notes" / "readme.png")  # folder without the layout: ignored
    ps = find_pairs(tmp_path)
    got = {(p.pair_id, p.blur.name, p.sharp.name) for p in ps.pairs}
    assert got == {
        ("scene001/1", "blur_1.png", "gt_1.png"),
        ("scene001/10", "blur_10.png", "gt_10.png"),
        ("scene002/a", "a.png", "a.png"),
    }
    assert len(ps.unmatched) == 2
    assert any("blur_2.png" in u and "no sharp partner" in u for u in ps.unmatched)
    assert any("b.png" in u and "no blurry partner" in u for u in ps.unmatched)


def test_flat_layout_and_errors(tmp_path: Path) -> None:
    _touch(tmp_path / "flat" / "blur" / "x.png")
    _touch(tmp_path / "flat" / "sharp" / "x.png")
    ps = find_pairs(tmp_path / "flat")
    assert [p.pair_id for p in ps.pairs] == ["x"] and ps.pairs[0].scene == ""
    _touch(tmp_path / "dup" / "blur" / "1_blur.png")
    _touch(tmp_path / "dup" / "blur" / "blur_1.png")
    _touch(tmp_path / "dup" / "sharp" / "1.png")
    with pytest.raises(PairingError, match="same name key"):
        find_pairs(tmp_path / "dup")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PairingError, match="no pairs found"):
        find_pairs(tmp_path / "empty")
    with pytest.raises(PairingError, match="not found"):
        find_pairs(tmp_path / "missing")


def test_masked_psnr_against_skimage(photo: np.ndarray, rng: np.random.Generator) -> None:
    a = photo.astype(np.float64) / 255
    b = np.clip(a + rng.normal(0, 0.02, a.shape), 0, 1)
    ref = peak_signal_noise_ratio(a, b, data_range=1.0)
    assert masked_psnr(a, b) == pytest.approx(ref, abs=1e-10)
    m = np.zeros(a.shape[:2], bool)
    m[100:300, 50:400] = True
    ref_m = peak_signal_noise_ratio(a[100:300, 50:400], b[100:300, 50:400], data_range=1.0)
    assert masked_psnr(a, b, m) == pytest.approx(ref_m, abs=1e-10)
    assert masked_psnr(a, a) == float("inf")
    assert np.isnan(masked_psnr(a, b, np.zeros_like(m)))


def test_qc_record_roundtrip_csv_and_thresholds() -> None:
    r = QCRecord(
        id="s/1",
        scene="s",
        blur_source="s/blur/1.png",
        sharp_source="s/sharp/1.png",
        correlation=0.7,
        static_psnr=22.0,
        mask_coverage=0.6,
        crop=[0, 50, 0, 50],
        size=[100, 100],
        warp=[1.0, 0, 0, 0, 1, 0, 0, 0, 1],
        seconds=0.5,
    )
    apply_thresholds(r, QCThresholds(), local=True)
    assert r.status == "flagged"
    assert set(r.flags) == {"low_correlation", "low_static_psnr", "large_mask", "small_crop"}
    assert QCRecord.from_json(r.to_json()) == r
    bad = QCRecord(id="s/2", scene="s", blur_source="", sharp_source="", correlation=0.2)
    apply_thresholds(bad, QCThresholds(), local=False)
    assert bad.status == "failed" and "no_overlap" in bad.flags and "0.200" in bad.reason
    rows = list(csv.DictReader(io.StringIO(qc_table_csv([r, bad]))))
    assert [x["id"] for x in rows] == ["s/1", "s/2"]
    assert rows[0]["flags"] == "low_correlation;low_static_psnr;large_mask;small_crop"
    assert rows[1]["status"] == "failed" and rows[1]["static_psnr"] == ""
    assert float(rows[0]["correlation"]) == pytest.approx(0.7)
