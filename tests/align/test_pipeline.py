"""Whole-pair and whole-folder alignment: accuracy, photometry, bad input, dataset output."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from lode_bench.align.centroid import estimate_kernel, kernel_centroid
from lode_bench.align.dataset import align_dataset
from lode_bench.align.photometric import PhotometricConfig, identity_map
from lode_bench.align.pipeline import AlignConfig, SceneTransform, align_pair
from lode_bench.align.qc import QCRecord
from lode_bench.align.simulate import random_homography, simulate_pair
from lode_bench.align.transforms import corner_errors, translation_warp
from lode_bench.datasets.manifest import load_manifest
from lode_bench.io import read_image, read_mask, write_image

SHAPE = (192, 288)


def _photometric_error(
    rec: QCRecord, gain: np.ndarray, offset: np.ndarray, sharp_values: np.ndarray
) -> np.ndarray:
    """|fitted − true| sharp→blur map in grey levels, evaluated on the sharp image's values."""
    x = sharp_values.reshape(-1, 3).astype(np.float64)
    fitted = (x / 255 * np.array(rec.gain) + np.array(rec.offset)) * 255
    true = (x - offset) / gain  # simulate_pair: sharp = gain · scene + offset
    return np.abs(fitted - true)


def test_local_pair_photometric_error_below_one_grey_level(scenes, textures) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(13)
    for i in range(6):
        p = simulate_pair(
            scenes[i],
            (256, 384),
            rng,
            object_fraction=float(rng.uniform(0.05, 0.3)),
            object_texture=textures[i % 3],
            sharp_moment=-0.5,
            motion_length=24.0,
        )
        out = align_pair(p.blur, p.sharp, AlignConfig(local=True))
        assert out is not None and out.record.status == "ok", out and out.record
        err = _photometric_error(out.record, p.gain, p.offset, p.sharp[20:-20, 20:-20])
        assert err.mean() < 1.0 and np.percentile(err, 99) < 1.5, (
            err.mean(),
            np.percentile(err, 99),
        )


def test_meanstd_photometry_on_static_pair(scenes) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(14)
    p = simulate_pair(scenes[0], (256, 384), rng)
    cfg = AlignConfig(photometric=PhotometricConfig("meanstd"), centroid=False)
    out = align_pair(p.blur, p.sharp, cfg)
    assert out is not None
    err = _photometric_error(out.record, p.gain, p.offset, p.sharp[20:-20, 20:-20])
    assert err.mean() < 1.0


def _globally_blurred_pair(scene: np.ndarray, rng: np.random.Generator, kernel: np.ndarray):  # type: ignore[no-untyped-def]
    """blur = crop of (scene ⊛ K); sharp = scene warped by a known homography, re-exposed."""
    h, w = SHAPE
    s = scene.astype(np.float64)
    blurred = cv2.filter2D(
        s, -1, np.ascontiguousarray(kernel[::-1, ::-1]), borderType=cv2.BORDER_REFLECT
    )
    oy, ox = 30, 40
    warp = random_homography(SHAPE, rng, 6.0)
    to_scene = translation_warp(ox, oy) @ np.linalg.inv(warp)
    sharp = cv2.warpPerspective(s, to_scene, (w, h), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP)
    sharp = sharp * 0.9 + 4
    to8 = lambda x: np.rint(np.clip(x + rng.normal(0, 1, x.shape), 0, 255)).astype(np.uint8)  # noqa: E731
    return to8(blurred[oy : oy + h, ox : ox + w]), to8(sharp), warp


def test_global_pair_with_centroid_alignment(scenes) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(15)
    k = np.zeros((31, 31))
    k[15, 15:27] = 1.0  # one-sided horizontal motion of 12 px: centroid (+5.5, 0)
    k /= k.sum()
    assert kernel_centroid(k) == pytest.approx((5.5, 0.0))
    blur, sharp, warp = _globally_blurred_pair(scenes[0], rng, k)
    expected = warp @ translation_warp(-5.5, 0.0)  # the sharp image moved to the kernel centroid

    # per scene (RealBlur): geometry from a sharp reference pair, then the centroid shift
    scene = SceneTransform(
        reference="ref",
        warp=warp,
        photometric=identity_map(),
        motion="homography",
        init="reference",
    )
    cfg = AlignConfig(refine_shift=False, photometric=PhotometricConfig("meanstd"))
    out = align_pair(blur, sharp, cfg, scene=scene)
    assert out is not None
    np.testing.assert_allclose(out.record.centroid_shift, (5.5, 0.0), atol=0.25)
    assert corner_errors(np.array(out.record.warp).reshape(3, 3), expected, SHAPE).max() < 0.3
    np.testing.assert_allclose(
        kernel_centroid(estimate_kernel(out.blur, out.sharp, size=31)), (0, 0), atol=0.25
    )
    off = align_pair(blur, sharp, AlignConfig(refine_shift=False, centroid=False), scene=scene)
    assert off is not None and not off.record.centroid_shift
    assert corner_errors(np.array(off.record.warp).reshape(3, 3), expected, SHAPE).min() > 5.0

    # per pair: ECC already lands near the centroid; the centroid step removes the rest
    pp = align_pair(blur, sharp, AlignConfig())
    assert pp is not None
    assert corner_errors(np.array(pp.record.warp).reshape(3, 3), expected, SHAPE).max() < 0.4
    np.testing.assert_allclose(
        kernel_centroid(estimate_kernel(pp.blur, pp.sharp, size=31)), (0, 0), atol=0.25
    )


def test_bad_pairs_are_failed_with_reasons(scenes) -> None:  # type: ignore[no-untyped-def]
    a = scenes[0][: SHAPE[0], : SHAPE[1]]
    far = scenes[0][-SHAPE[0] :, -SHAPE[1] :]  # same photograph, a region not overlapping ``a``
    cases = [
        ({"size_mismatch"}, a, scenes[1][:60, :90], "blur is 288×192 but sharp is 90×60"),
        ({"alignment_failed"}, a, np.full_like(a, 100), "ECC did not converge"),
        ({"no_overlap", "alignment_failed"}, a, far, ""),
        ({"no_overlap", "alignment_failed"}, a, scenes[3][: SHAPE[0], : SHAPE[1]], ""),
    ]
    for flags, b, s, why in cases:
        rec = QCRecord(id="x", scene="", blur_source="", sharp_source="")
        assert align_pair(b, s, AlignConfig(), record=rec) is None
        assert rec.status == "failed" and set(rec.flags) & flags, rec
        assert rec.reason and why in rec.reason, rec.reason


def _write_pair(root: Path, scene: str, key: str, blur: np.ndarray, sharp: np.ndarray) -> None:
    write_image(root / scene / "blur" / f"{key}.png", blur)
    write_image(root / scene / "sharp" / f"{key}.png", sharp)


@pytest.fixture
def capture_folder(tmp_path: Path, scenes, textures) -> Path:  # type: ignore[no-untyped-def]
    """Two scenes of local-blur pairs plus every kind of bad input."""
    rng = np.random.default_rng(31)
    root = tmp_path / "captures"
    for scene, n in (("s1", 2), ("s2", 1)):
        for i in range(n):
            p = simulate_pair(
                scenes[i + (scene == "s2")],
                SHAPE,
                rng,
                object_fraction=0.15,
                object_texture=textures[i],
                motion_length=20.0,
            )
            _write_pair(root, scene, f"{i:03d}", p.blur, p.sharp)
    good = simulate_pair(scenes[2], SHAPE, rng)
    _write_pair(root, "s2", "corrupt", good.blur, good.sharp)
    data = (root / "s2" / "sharp" / "corrupt.png").read_bytes()
    (root / "s2" / "sharp" / "corrupt.png").write_bytes(data[: len(data) // 2])  # truncated PNG
    _write_pair(root, "s2", "tiny", good.blur, good.sharp[:40, :50])
    _write_pair(root, "s2", "flat", good.blur, np.full_like(good.sharp, 90))
    write_image(root / "s2" / "blur" / "lonely.png", good.blur)
    return root


def test_align_dataset_writes_layout_qc_and_lists_failures(
    capture_folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "aligned"
    lines: list[str] = []
    rep = align_dataset(
        capture_folder, out, AlignConfig(local=True), name="demo", progress=False, log=lines.append
    )
    by_id = {r.id: r for r in rep.records}
    assert set(by_id) == {"s1/000", "s1/001", "s2/000", "s2/corrupt", "s2/tiny", "s2/flat"}
    assert (
        by_id["s2/corrupt"].flags == ["read_error"]
        and "truncated PNG" in by_id["s2/corrupt"].reason
    )
    assert "size_mismatch" in by_id["s2/tiny"].flags
    assert "alignment_failed" in by_id["s2/flat"].flags
    for good in ("s1/000", "s1/001", "s2/000"):
        assert by_id[good].status == "ok", by_id[good]
    assert len(rep.unmatched) == 1 and "lonely.png" in rep.unmatched[0]
    assert any(line.startswith("FAILED s2/corrupt") for line in lines)
    assert any(line.startswith("UNMATCHED") for line in lines)

    man = load_manifest(out)
    assert man.name == "demo" and not man.verify(check_hashes=True)
    assert sorted(s["id"] for s in man.samples) == ["s1/000", "s1/001", "s2/000"]
    assert {f["id"] for f in man.meta["failed"]} == {"s2/corrupt", "s2/tiny", "s2/flat"}
    s = man.samples[0]
    assert set(s["files"]) == {"blur", "sharp", "mask"}
    b = read_image(man.path_of(s, "blur"))
    m = read_mask(man.path_of(s, "mask"))
    assert b.shape[:2] == m.shape == tuple(s["size"])
    assert s["mask_coverage"] == pytest.approx(m.mean())
    assert s["align"]["crop"][1] - s["align"]["crop"][0] == b.shape[0]

    rows = list(csv.DictReader(rep.qc_csv.open(encoding="utf-8")))
    assert len(rows) == 6 and {r["status"] for r in rows} == {"ok", "failed"}
    assert read_image(out / "qc_overview.png").shape[2] == 3

    # a second run resumes: nothing rewritten, same manifest
    mtime = man.path_of(s, "sharp").stat().st_mtime_ns
    rep2 = align_dataset(capture_folder, out, AlignConfig(local=True), name="demo", progress=False)
    assert load_manifest(out).manifest_hash == man.manifest_hash
    assert man.path_of(s, "sharp").stat().st_mtime_ns == mtime
    assert [r.status for r in rep2.records] == [r.status for r in rep.records]


def test_per_scene_mode_uses_reference_transform(tmp_path: Path, scenes) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(41)
    warp = random_homography(SHAPE, rng, 6.0)
    root = tmp_path / "rig"
    for i in range(3):
        p = simulate_pair(
            scenes[i], SHAPE, rng, warp=warp, gain_range=(0.85, 0.85), offset_range=(6.0, 6.0)
        )
        _write_pair(root, "scene7", f"{i}", p.blur, p.sharp)
    rep = align_dataset(
        root,
        tmp_path / "out",
        AlignConfig(mode="per-scene", centroid=False, reference="1"),
        progress=False,
        overview_count=0,
    )
    assert rep.overview is None
    for r in rep.records:
        assert r.status == "ok" and r.init == "scene reference 1"
        assert corner_errors(np.array(r.warp).reshape(3, 3), warp, SHAPE).max() < 0.3
        np.testing.assert_allclose(r.gain, [1 / 0.85] * 3, rtol=0.02)


def test_per_scene_reference_failure_fails_the_scene(tmp_path: Path, scenes) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "rig"
    a = scenes[0][: SHAPE[0], : SHAPE[1]]
    _write_pair(root, "sc", "0", a, np.full_like(a, 50))
    _write_pair(root, "sc", "1", a, a)
    rep = align_dataset(root, tmp_path / "out", AlignConfig(mode="per-scene"), progress=False)
    assert [r.status for r in rep.records] == ["failed", "failed"]
    assert all("reference pair sc/0 failed" in r.reason for r in rep.records)


def test_blur_to_sharp_direction_changes_the_blurry_image(scenes) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(16)
    p = simulate_pair(scenes[1], (256, 384), rng)
    cfg = AlignConfig(
        photometric=PhotometricConfig("lstsq", direction="blur-to-sharp"), centroid=False
    )
    out = align_pair(p.blur, p.sharp, cfg)
    assert out is not None
    # the fitted map takes the blurry image to the sharp one's exposure: sharp = gain·blur + offset
    np.testing.assert_allclose(out.record.gain, p.gain, rtol=0.01)
    np.testing.assert_allclose(np.array(out.record.offset) * 255, p.offset, atol=1.0)
    y0, y1, x0, x1 = out.record.crop
    assert np.abs(out.blur.astype(float) - p.blur[y0:y1, x0:x1]).mean() > 5.0


def test_slightly_different_sizes_are_aligned(scenes) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    p = simulate_pair(scenes[0], (256, 384), rng)
    for sharp in (p.sharp[:-6, :-5], np.pad(p.sharp, ((0, 6), (0, 8), (0, 0)), mode="reflect")):
        out = align_pair(p.blur, sharp, AlignConfig(centroid=False))
        assert out is not None and out.record.status == "ok"
        assert out.blur.shape == out.sharp.shape
        assert (
            corner_errors(np.array(out.record.warp).reshape(3, 3), p.warp, (256, 384)).max() < 0.3
        )


def test_photometric_error_on_saturated_pairs(scenes, textures) -> None:  # type: ignore[no-untyped-def]
    """Scenes brightened 1.1–1.3× so highlights clip at 255 (up to ~20 % of a channel):
    p99 of |fitted − true| sharp→blur map ≤ 2 grey levels on static, unclipped pixels."""
    rng = np.random.default_rng(5)
    for i in range(6):
        scene = scenes[i].astype(np.float64) * float(rng.uniform(1.1, 1.3))
        p = simulate_pair(
            scene,
            (256, 384),
            rng,
            object_fraction=float(rng.uniform(0.05, 0.3)),
            object_texture=textures[i % 3],
            sharp_moment=-0.5,
            motion_length=24.0,
        )
        out = align_pair(p.blur, p.sharp, AlignConfig(local=True))
        assert out is not None and out.record.status == "ok", out and out.record
        inner = (slice(20, -20), slice(20, -20))
        vals = p.sharp[inner][~p.moving[inner]].astype(np.float64)  # N×3 static pixels
        true = (vals - p.offset) / p.gain
        ok = (vals > 0) & (vals < 255) & (true < 254.5)  # unclipped in both images
        err = _photometric_error(out.record, p.gain, p.offset, vals)
        assert np.percentile(err[ok], 99) <= 2.0, (i, np.percentile(err[ok], 99), out.record.gain)
