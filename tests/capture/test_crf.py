"""CRF calibration against known curves: Robertson, Debevec, auto choice, warnings, EXIF, CLI."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lode_bench.capture.response import load_inverse_crf_table
from lode_bench.capture.robertson import (
    CalibrationError,
    CalibrationWarning,
    calibrate_crf,
    calibrate_inverse_crf,
    exif_exposure_time,
)
from lode_bench.cli.capture import capture
from lode_bench.io import write_image

Curve = Callable[[np.ndarray], np.ndarray]


def _radiance(h: int = 96, w: int = 128) -> np.ndarray:
    """A static scene spanning about 14 stops: a log ramp plus random blocks, per channel."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:h, 0:w]
    l2 = (x / (w - 1)) * 12 - 12
    l2 = np.clip(l2 + rng.uniform(-2, 2, (h // 8, w // 8)).repeat(8, 0).repeat(8, 1), -13, 1)
    chans = [l2 + 0.3 * np.sin(y / 7.0), l2 - 0.2, l2 + 0.1 * np.cos(x / 5.0)]
    e = 2.0 ** np.stack(chans, axis=2)
    return e / e.max() * 4.0  # the brightest pixels clip in the longer exposures


def _gamma(e: np.ndarray) -> np.ndarray:
    return np.clip(e, 0, 1) ** (1 / 2.2)


def _gamma_inv(z: np.ndarray) -> np.ndarray:
    return z**2.2


def _logistic(v: np.ndarray | float) -> np.ndarray:
    return 1 / (1 + np.exp(-(np.asarray(v) + 6) / 1.6))


def _s_curve(e: np.ndarray) -> np.ndarray:
    """S-shaped (film-like) response: a logistic in log2 exposure, 0 at 2^-14, 1 at 1."""
    lo, hi = _logistic(-14), _logistic(0)
    return (_logistic(np.log2(np.clip(e, 2.0**-14, 1.0))) - lo) / (hi - lo)


def _s_inv(z: np.ndarray) -> np.ndarray:
    lo, hi = _logistic(-14), _logistic(0)
    y = z * (hi - lo) + lo
    return 2.0 ** (-6 - 1.6 * np.log(1 / y - 1))


CURVES = {"gamma": (_gamma, _gamma_inv), "s-shaped": (_s_curve, _s_inv)}
FIVE_2STOPS = [1 / 256, 1 / 64, 1 / 16, 1 / 4, 1.0]


def _brackets(curve: Curve, times: list[float], *, scale: float = 1.0) -> list[np.ndarray]:
    """8-bit exposures of the scene: code = round(255 * curve(E * t)), 0.2 % sensor noise."""
    rng = np.random.default_rng(1)
    e = _radiance() * scale
    return [
        np.rint(
            255 * curve(np.clip(e * t * (1 + 0.002 * rng.standard_normal(e.shape)), 0, 1))
        ).astype(np.uint8)
        for t in times
    ]


def _median_rel_error(table: np.ndarray, inv: Curve) -> list[float]:
    """Median relative error over codes 10..245 per channel (both curves scaled at code 128)."""
    codes = np.arange(10, 246)
    true = inv(np.arange(256) / 255.0)
    true = true / true[128]
    t = table / table[128].mean()
    return [float(np.median(np.abs(t[codes, c] - true[codes]) / true[codes])) for c in range(3)]


@pytest.mark.parametrize("curve", sorted(CURVES))
def test_five_brackets_two_stops_apart_within_two_percent(curve: str) -> None:
    """Tolerance: median relative error <= 2 % per channel (Debevec reaches about 0.5 %)."""
    fwd, inv = CURVES[curve]
    imgs = _brackets(fwd, FIVE_2STOPS)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CalibrationWarning)  # auto: no warning for this set
        table = calibrate_inverse_crf(imgs, FIVE_2STOPS)
    assert max(_median_rel_error(table, inv)) <= 0.02
    res = calibrate_crf(imgs, FIVE_2STOPS, method="auto")
    assert res.method == "debevec" and res.warnings == []
    assert res.residuals["debevec"] < res.residuals["robertson"]
    deb = calibrate_crf(imgs, FIVE_2STOPS, method="debevec", smoothness=10.0)
    assert max(_median_rel_error(deb.table, inv)) <= 0.02
    # Robertson alone is several per cent off on such sparse brackets, and says so
    with pytest.warns(CalibrationWarning, match="too sparse for Robertson"):
        rob = calibrate_crf(imgs, FIVE_2STOPS, method="robertson")
    assert rob.method == "robertson" and max(_median_rel_error(rob.table, inv)) > 0.05


@pytest.mark.parametrize("curve", sorted(CURVES))
def test_readme_example_three_brackets(curve: str) -> None:
    """0.01, 0.04, 0.16 s on a scene bright enough to reach white: within 2 %."""
    fwd, inv = CURVES[curve]
    times = [0.01, 0.04, 0.16]
    imgs = _brackets(fwd, times, scale=25.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CalibrationWarning)
        table = calibrate_inverse_crf(imgs, times)
    assert max(_median_rel_error(table, inv)) <= 0.02


def test_smoothness_is_used() -> None:
    imgs = _brackets(_gamma, FIVE_2STOPS)
    a = calibrate_crf(imgs, FIVE_2STOPS, method="debevec", smoothness=10.0).table
    b = calibrate_crf(imgs, FIVE_2STOPS, method="debevec", smoothness=300.0).table
    assert np.abs(a - b).max() > 1e-3
    assert max(_median_rel_error(b, _gamma_inv)) > max(_median_rel_error(a, _gamma_inv))


def test_auto_falls_back_to_robertson_when_debevec_is_oversmoothed() -> None:
    """Dense 1-stop brackets, λ = 1000: Debevec's curve is far off; auto keeps Robertson."""
    dense = [1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0]
    imgs = _brackets(_gamma, dense, scale=4.0)
    auto = calibrate_crf(imgs, dense, method="auto", smoothness=1000.0)
    deb = calibrate_crf(imgs, dense, method="debevec", smoothness=1000.0)
    assert auto.method == "robertson"
    assert max(_median_rel_error(auto.table, _gamma_inv)) <= 0.02
    assert max(_median_rel_error(deb.table, _gamma_inv)) > 0.2
    # on sparse brackets Robertson is not eligible, whatever its spread
    sparse = calibrate_crf(_brackets(_gamma, FIVE_2STOPS), FIVE_2STOPS, smoothness=100.0)
    assert sparse.method == "debevec"


def test_bracket_warnings() -> None:
    two = [0.01, 0.04]
    with pytest.warns(CalibrationWarning, match="only 2 exposures"):
        calibrate_crf(_brackets(_gamma, two, scale=25.0), two)
    sparse = [1 / 512, 1 / 64, 1 / 8, 1.0]  # 3-stop steps
    with pytest.warns(CalibrationWarning, match="3.00-stop step"):
        calibrate_crf(_brackets(_gamma, sparse), sparse)
    dark = [0.01, 0.02, 0.04]  # never reaches the top codes
    with pytest.warns(CalibrationWarning, match="no exposure reaches code"):
        calibrate_crf(_brackets(_gamma, dark), dark)
    dense = [1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error", CalibrationWarning)
        res = calibrate_crf(_brackets(_gamma, dense, scale=4.0), dense)
    assert res.warnings == []


def test_bad_calibration_arguments() -> None:
    imgs = _brackets(_gamma, FIVE_2STOPS)
    with pytest.raises(CalibrationError, match="method"):
        calibrate_crf(imgs, FIVE_2STOPS, method="mitsunaga")
    with pytest.raises(CalibrationError, match="lambda"):
        calibrate_crf(imgs, FIVE_2STOPS, method="debevec", smoothness=0.0)
    with pytest.raises(CalibrationError, match="distinct"):
        calibrate_crf(imgs[:2], [0.1, 0.1])


def _write_with_exif(path: Path, img: np.ndarray, seconds: float | None) -> None:
    from PIL import Image, TiffImagePlugin

    exif = Image.Exif()
    if seconds is not None:
        frac = TiffImagePlugin.IFDRational(1, round(1 / seconds))
        exif[0x8769] = {33434: frac}  # Exif IFD: ExposureTime
    Image.fromarray(img).save(path, exif=exif.tobytes())


def test_exposure_times_from_exif_in_the_cli(tmp_path: Path) -> None:
    imgs = _brackets(_s_curve, FIVE_2STOPS)
    paths = []
    for i, (img, t) in enumerate(zip(imgs, FIVE_2STOPS, strict=True)):
        p = tmp_path / f"exp{i}.png"
        _write_with_exif(p, img, t)
        paths.append(str(p))
    assert [exif_exposure_time(p) for p in paths] == pytest.approx(FIVE_2STOPS, rel=1e-12)
    out = tmp_path / "crf.txt"
    res = CliRunner().invoke(capture, ["calibrate-crf", *paths, "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "debevec" in res.output
    np.testing.assert_allclose(
        load_inverse_crf_table(out), calibrate_inverse_crf(imgs, FIVE_2STOPS), rtol=1e-8
    )
    assert "(EXIF)" in out.read_text()
    # a file without an exposure time: a clear error naming it and --times
    bare = tmp_path / "bare.png"
    _write_with_exif(bare, imgs[0], None)
    bad = CliRunner().invoke(capture, ["calibrate-crf", *paths[1:], str(bare), "--out", str(out)])
    assert bad.exit_code != 0 and "bare.png" in bad.output and "--times" in bad.output


def test_cli_method_choice_and_warning(tmp_path: Path) -> None:
    imgs = _brackets(_gamma, FIVE_2STOPS)
    paths = []
    for i, img in enumerate(imgs):
        p = tmp_path / f"e{i}.png"
        write_image(p, img)
        paths.append(str(p))
    out = tmp_path / "crf.txt"
    times = ",".join(f"{t:.10g}" for t in FIVE_2STOPS)
    args = ["calibrate-crf", *paths, "--times", times, "--out", str(out)]
    res = CliRunner().invoke(capture, [*args, "--method", "robertson"])
    assert res.exit_code == 0, res.output
    assert "too sparse for Robertson" in res.output
    with pytest.warns(CalibrationWarning):
        rob = calibrate_crf(imgs, FIVE_2STOPS, method="robertson").table
    np.testing.assert_allclose(load_inverse_crf_table(out), rob, rtol=1e-8)
    res = CliRunner().invoke(capture, [*args, "--method", "debevec", "--smoothness", "30"])
    assert res.exit_code == 0 and "lambda 30" in out.read_text()
    bad = CliRunner().invoke(capture, [*args, "--method", "debevec", "--smoothness", "-1"])
    assert bad.exit_code != 0 and "lambda" in bad.output
