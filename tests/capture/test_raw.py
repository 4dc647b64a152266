"""RAW/DNG decoding (rawpy) and high-bit-depth averaging (16-bit PNG, linear RAW frames)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lode_bench.capture.frames import FolderFrameSource, open_frame_source
from lode_bench.capture.response import CameraResponse, linear_to_srgb
from lode_bench.datasets.manifest import load_manifest
from lode_bench.io import read_image, write_image
from lode_bench.synth.averaging import FrameAccumulator, average_frames, lut16
from lode_bench.synth.pipeline import run_recipe
from lode_bench.synth.recipes import validate_recipe

BLACK, WHITE = 64, 4095


def _write_dng(path: Path, mosaic: np.ndarray, neutral: tuple = ((1, 2), (1, 1), (2, 3))) -> Path:
    """An uncompressed 16-bit RGGB DNG (pidng) holding ``mosaic`` as its raw values."""
    pytest.importorskip("pidng", reason="pidng (DNG writer) not installed")
    from pidng.core import RAW2DNG, DNGTags, Tag
    from pidng.defs import (
        CalibrationIlluminant,
        CFAPattern,
        DNGVersion,
        Orientation,
        PhotometricInterpretation,
    )

    h, w = mosaic.shape
    t = DNGTags()
    for tag, v in [
        (Tag.ImageWidth, w),
        (Tag.ImageLength, h),
        (Tag.TileWidth, w),
        (Tag.TileLength, h),
        (Tag.SamplesPerPixel, 1),
        (Tag.BitsPerSample, 16),
    ]:
        t.set(tag, v)
    t.set(Tag.Orientation, Orientation.Horizontal)
    t.set(Tag.PhotometricInterpretation, PhotometricInterpretation.Color_Filter_Array)
    t.set(Tag.CFARepeatPatternDim, [2, 2])
    t.set(Tag.CFAPattern, CFAPattern.RGGB)
    t.set(Tag.BlackLevel, [BLACK])
    t.set(Tag.WhiteLevel, [WHITE])
    # a non-trivial camera matrix (XYZ -> camera), so LibRaw's rgb_cam is not identity
    t.set(
        Tag.ColorMatrix1,
        [[9, 10], [-2, 10], [-1, 10], [-3, 10], [12, 10], [1, 10], [0, 10], [1, 10], [8, 10]],
    )
    t.set(Tag.CalibrationIlluminant1, CalibrationIlluminant.D65)
    t.set(Tag.AsShotNeutral, [list(n) for n in neutral])
    t.set(Tag.DNGVersion, DNGVersion.V1_4)
    t.set(Tag.DNGBackwardVersion, DNGVersion.V1_2)
    r = RAW2DNG()
    r.options(t, path="", compress=False)
    path.write_bytes(bytes(r.convert(mosaic.astype(np.uint16))))
    return path


def _mosaic(seed: int, h: int = 32, w: int = 48) -> np.ndarray:
    return np.random.default_rng(seed).integers(BLACK + 10, 1800, (h, w)).astype(np.uint16)


@pytest.fixture
def rawpy_mod():
    return pytest.importorskip("rawpy", reason="rawpy (extra 'raw') not installed")


def test_dng_linear_output_matches_mosaic(tmp_path: Path, rawpy_mod) -> None:
    from lode_bench.io.raw import read_raw

    mosaic = _mosaic(0)
    p = _write_dng(tmp_path / "a.dng", mosaic)
    lin_expected = (mosaic.astype(np.float64) - BLACK) / (WHITE - BLACK)
    tol = 1.0 / 65535  # LibRaw scales in 16-bit integers (one code of rounding)
    img = read_raw(p, colour="camera", white_balance="none", demosaic="linear")
    out = img.linear.astype(np.float64)
    assert out.shape == (32, 48, 3) and img.linear.dtype == np.float32
    sites = {0: (slice(0, None, 2), slice(0, None, 2)), 2: (slice(1, None, 2), slice(1, None, 2))}
    for c, (ys, xs) in sites.items():  # R and B sites keep their own mosaic value
        assert np.abs(out[ys, xs, c] - lin_expected[ys, xs]).max() <= tol
    for ys, xs in [(slice(0, None, 2), slice(1, None, 2)), (slice(1, None, 2), slice(0, None, 2))]:
        assert np.abs(out[ys, xs, 1] - lin_expected[ys, xs]).max() <= tol
    # camera white balance = 1 / AsShotNeutral = (2, 1, 1.5), smallest normalised to 1
    wb = read_raw(p, colour="camera", white_balance="camera", demosaic="linear")
    assert wb.meta["white_balance"] == pytest.approx([2.0, 1.0, 1.5])
    r = wb.linear[0::2, 0::2, 0].astype(np.float64)
    assert np.abs(r - 2 * lin_expected[0::2, 0::2]).max() <= 2 * tol
    b = wb.linear[1::2, 1::2, 2].astype(np.float64)
    assert np.abs(b - 1.5 * lin_expected[1::2, 1::2]).max() <= 2 * tol
    m = wb.meta
    assert m["black_level"] == [BLACK] * 4 and m["white_level"] == WHITE
    assert m["cfa_pattern"] == [[0, 1], [3, 2]] and m["colour_path"].startswith("raw:")


def test_dng_srgb_path_applies_recorded_colour_matrix(tmp_path: Path, rawpy_mod) -> None:
    from lode_bench.io.raw import read_raw

    p = _write_dng(tmp_path / "a.dng", _mosaic(1) // 2)
    cam = read_raw(p, colour="camera", demosaic="linear")
    srgb = read_raw(p, colour="srgb", demosaic="linear")
    matrix = np.array(srgb.meta["color_matrix"])
    assert not np.allclose(matrix, np.eye(3), atol=0.05)
    expected = np.clip(cam.linear.astype(np.float64) @ matrix.T, 0.0, 1.0)
    assert np.abs(srgb.linear - expected).max() <= 3.0 / 65535


def test_raw_error_messages(tmp_path: Path, rawpy_mod) -> None:
    from lode_bench.errors import ImageReadError
    from lode_bench.io.raw import read_raw

    bad = tmp_path / "bad.dng"
    bad.write_bytes(b"not a dng at all")
    with pytest.raises(ImageReadError, match="bad.dng"):
        read_raw(bad)
    with pytest.raises(ImageReadError, match="not found"):
        read_raw(tmp_path / "none.dng")


def test_raw_folder_through_global_recipe_is_linear_average(tmp_path: Path, rawpy_mod) -> None:
    from lode_bench.io.raw import read_raw

    folder = tmp_path / "burst"
    folder.mkdir()
    for i in range(5):
        _write_dng(folder / f"{i:03d}.dng", _mosaic(10 + i))
    src = open_frame_source(folder, fps=60)
    assert src.linear and src.bit_depth == "linear" and len(src) == 5
    recipe = validate_recipe(
        {
            "kind": "global",
            "frames": {"n": [5]},
            "tracks": {"blur": "identity", "blur_gamma": "gamma"},
        },
        name="r",
    )
    m = run_recipe(recipe, tmp_path / "ds", source=folder, progress=False, fps=60)
    (s,) = m.samples
    mean = np.mean(
        [read_raw(folder / f"{i:03d}.dng").linear.astype(np.float64) for i in range(5)], axis=0
    )
    expected = np.rint(np.clip(linear_to_srgb(mean), 0, 1) * 255)  # no camera response
    for role in ("blur", "blur_gamma"):  # linear frames: every track is the linear mean
        got = read_image(m.root / s["files"][role])
        assert np.abs(got.astype(np.float64) - expected).max() <= 1
        assert np.mean(got == expected) > 0.99
    assert s["bit_depth"] == "linear" and s["colour_path"].startswith("raw:")
    assert s["raw"]["white_level"] == WHITE and len(s["raw"]["color_matrix"]) == 3
    assert s["timestamps"] == [0.0, pytest.approx(4 / 60)]


def _frames16(n: int, seed: int = 0, h: int = 24, w: int = 32) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 65536, (h, w, 3))
    return [
        np.clip(base + rng.integers(-3000, 3000, (h, w, 3)), 0, 65535).astype(np.uint16)
        for _ in range(n)
    ]


@pytest.mark.parametrize("gamma", [None, 2.2])
def test_16bit_average_equals_float_average(gamma: float | None) -> None:
    frames = _frames16(7)
    x = [f.astype(np.float64) / 65535 for f in frames]
    if gamma is None:
        ref, response = np.mean(x, axis=0), CameraResponse("identity")
    else:
        ref = np.mean([v**gamma for v in x], axis=0) ** (1 / gamma)
        response = CameraResponse("gamma", gamma)
    acc = FrameAccumulator(response)
    for f in frames:
        acc.add(f)
    out8 = acc.mean_encoded_uint8().astype(np.float64)
    assert np.abs(out8 - ref * 255).max() <= 0.5 + 1e-9  # issue tolerance: 0.5 of an 8-bit level
    out16 = acc.mean_encoded_uint16().astype(np.float64)
    assert np.abs(out16 - ref * 65535).max() <= 0.5 + 1e-6
    # the old path (frames cut to 8 bits before averaging) is measurably off
    cut = [np.rint(f / 257.0).astype(np.uint8) for f in frames]
    old = average_frames(cut, response).astype(np.float64)
    assert np.abs(old - ref * 255).max() > 0.5


def test_16bit_table_response_interpolates_rows() -> None:
    table = np.stack([np.linspace(0, 1, 256) ** g for g in (1.8, 2.2, 2.6)], axis=1)
    resp = CameraResponse.from_table(table, extrapolate=False)
    luts = lut16(resp)
    v = np.array([0, 1, 257, 1000, 40000, 65535])
    for c in range(3):
        np.testing.assert_allclose(
            luts[c][v], np.interp(v / 257.0, np.arange(256), table[:, c]), rtol=0, atol=1e-15
        )


def test_16bit_folder_is_read_at_full_precision_and_written_16bit(tmp_path: Path) -> None:
    frames = _frames16(5, seed=3)
    folder = tmp_path / "f16"
    for i, f in enumerate(frames):
        write_image(folder / f"{i:03d}.png", f)
    src = FolderFrameSource(folder)
    assert src.bit_depth == "16" and src.read(2).dtype == np.uint16
    np.testing.assert_array_equal(src.read(2), frames[2])
    ref = np.mean([(f / 65535.0) ** 2.2 for f in frames], axis=0) ** (1 / 2.2)
    for bits in (8, 16):
        doc = {"kind": "global", "frames": {"n": [5]}, "response": "gamma"}
        if bits == 16:
            doc["bit_depth"] = 16
        m = run_recipe(
            validate_recipe(doc, name=f"r{bits}"),
            tmp_path / f"ds{bits}",
            source=folder,
            progress=False,
        )
        (s,) = m.samples
        blur = read_image(m.root / s["files"]["blur"], dtype="native")
        sharp = read_image(m.root / s["files"]["sharp"], dtype="native")
        peak = 255.0 if bits == 8 else 65535.0
        assert blur.dtype == (np.uint8 if bits == 8 else np.uint16)
        assert np.abs(blur - ref * peak).max() <= 0.5 + 1e-6
        expect_sharp = frames[2] if bits == 16 else np.rint(frames[2] / 257.0).astype(np.uint8)
        np.testing.assert_array_equal(sharp, expect_sharp)
        assert s["bit_depth"] == "16"
    assert load_manifest(tmp_path / "ds16").meta["output_bit_depth"] == 16


def test_8bit_accumulator_path_unchanged() -> None:
    rng = np.random.default_rng(5)
    frames = [rng.integers(0, 256, (16, 16, 3)).astype(np.uint8) for _ in range(9)]
    for resp in (CameraResponse("identity"), CameraResponse("gamma", 2.2)):
        acc = FrameAccumulator(resp)
        for f in frames:
            acc.add(f)
        if resp.kind == "identity":
            expected = np.rint(np.sum(frames, axis=0, dtype=np.uint32) / 9.0).astype(np.uint8)
        else:
            lut = resp.lut()
            s = np.zeros((16, 16, 3))
            for f in frames:
                s = s + lut[f, np.arange(3)]
            expected = np.rint(np.clip((s / 9) ** (1 / 2.2), 0, 1) * 255).astype(np.uint8)
        np.testing.assert_array_equal(acc.mean_encoded_uint8(), expected)


def test_window_must_not_mix_bit_depths() -> None:
    from lode_bench.synth.averaging import AveragingError

    acc = FrameAccumulator(CameraResponse())
    acc.add(np.zeros((4, 4, 3), np.uint16))
    with pytest.raises(AveragingError, match="mix bit depths"):
        acc.add(np.zeros((4, 4, 3), np.uint8))


def test_recipe_raw_options_reach_the_decoder(tmp_path: Path, rawpy_mod) -> None:
    from lode_bench.errors import ConfigError
    from lode_bench.io.raw import read_raw

    folder = tmp_path / "burst"
    folder.mkdir()
    for i in range(3):
        _write_dng(folder / f"{i:03d}.dng", _mosaic(20 + i))
    raw = {"colour": "camera", "white_balance": "none", "demosaic": "linear"}
    recipe = validate_recipe(
        {"kind": "global", "frames": {"n": [3]}, "response": "identity", "raw": raw}, name="r"
    )
    (s,) = run_recipe(recipe, tmp_path / "ds", source=folder, progress=False).samples
    assert s["raw"]["colour"] == "camera" and "wb none" in s["colour_path"]
    mean = np.mean(
        [read_raw(folder / f"{i:03d}.dng", **raw).linear.astype(np.float64) for i in range(3)],
        axis=0,
    )
    got = read_image(tmp_path / "ds" / s["files"]["blur"]).astype(np.float64)
    assert np.abs(got - np.rint(linear_to_srgb(mean) * 255)).max() <= 1
    with pytest.raises(ConfigError, match="'raw'"):
        validate_recipe({"kind": "global", "raw": {"demosaic": "magic"}}, name="bad")


def test_16bit_tiff_frames_full_precision(tmp_path: Path) -> None:
    frames = _frames16(3, seed=9)
    for i, f in enumerate(frames):
        write_image(tmp_path / "t" / f"{i:03d}.tif", f)
    src = FolderFrameSource(tmp_path / "t")
    np.testing.assert_array_equal(src.read(1), frames[1])
    assert src.bit_depth == "16"
