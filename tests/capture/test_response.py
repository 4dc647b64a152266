"""Camera responses, REDS-format inverse CRF tables, Robertson calibration, profiles."""

from __future__ import annotations

import numpy as np
import pytest

from lode_bench.capture.profiles import list_profiles, load_profile
from lode_bench.capture.response import (
    CameraResponse,
    extrapolate_reds_table,
    linear_to_srgb,
    load_inverse_crf_table,
    response_from_spec,
    save_inverse_crf_table,
    srgb_to_linear,
    table_lookup,
)
from lode_bench.capture.robertson import CalibrationError, calibrate_inverse_crf
from lode_bench.errors import ConfigError, ImageReadError, ShapeMismatchError, UnknownNameError


def test_srgb_curve_against_skimage_free_definition() -> None:
    # hand values of IEC 61966-2-1: 0.5 -> 0.21404114, 0.04045 -> 0.0031308
    np.testing.assert_allclose(
        srgb_to_linear(np.array([0.5, 0.04045, 1.0, 0.0])),
        [0.21404114048223255, 0.0031308049535603713, 1.0, 0.0],
        rtol=1e-12,
    )
    x = np.linspace(0, 1, 1001)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(x)), x, atol=1e-12)


def test_reds_extrapolation_rule_by_hand() -> None:
    inv = np.zeros((256, 3))
    inv[:, 0] = np.arange(256) ** 2 / 255.0**2
    inv[:, 1] = np.linspace(0, 1, 256)
    inv[251:, 2] = 7.0  # garbage above 250 must be replaced
    out = extrapolate_reds_table(inv)
    np.testing.assert_array_equal(out[:251], inv[:251])
    d = (inv[251] - inv[249]) / 2
    expected = inv[250].copy()
    for i in range(251, 256):
        expected = expected + d
        np.testing.assert_allclose(out[i], expected, rtol=0, atol=1e-15)
    # channel 2: inv[251] was 7, inv[249] 0 -> slope 3.5 per code from inv[250] = 0
    assert out[255, 2] == pytest.approx(5 * 3.5)


def test_table_lookup_rounds_and_clamps() -> None:
    table = np.stack([np.arange(256.0), 1000 + np.arange(256.0), 2000 + np.arange(256.0)], axis=1)
    x = np.array([[[0.5 / 255, 1.49 / 255, 300 / 255], [-0.2, 254.5 / 255, 2.0]]])
    out = table_lookup(table, x)
    # round(0.5) = 0 (half to even), round(1.49) = 1, 300 -> 255;
    # -0.2 -> 0; 254.5 -> 254 (half to even); 2.0 -> 255
    np.testing.assert_array_equal(out, [[[0, 1001, 2255], [0, 1254, 2255]]])


def test_table_file_round_trip_and_bgr_order(tmp_path) -> None:
    rgb = np.stack([np.linspace(0, 1, 256) ** g for g in (1.8, 2.2, 2.6)], axis=1)
    p = save_inverse_crf_table(tmp_path / "crf.txt", rgb, comment="test")
    back = load_inverse_crf_table(p)
    np.testing.assert_allclose(back, rgb, rtol=1e-9)
    raw = np.loadtxt(p)  # on disk: B G R columns, as REDS released its table
    np.testing.assert_allclose(raw[:, 0], rgb[:, 2], rtol=1e-9)
    np.save(tmp_path / "crf.npy", rgb[:, ::-1])
    np.testing.assert_allclose(load_inverse_crf_table(tmp_path / "crf.npy"), rgb)


def test_table_response_round_trip_codes() -> None:
    rgb = np.stack([np.linspace(0, 1, 256) ** g for g in (1.8, 2.2, 2.6)], axis=1)
    resp = CameraResponse.from_table(rgb, extrapolate=False)
    codes = np.arange(256, dtype=np.uint8)[None, :, None].repeat(3, axis=2)
    lin = resp.to_linear(codes)
    np.testing.assert_array_equal(lin[0], rgb)
    back = np.rint(resp.from_linear(lin) * 255).astype(np.uint8)
    np.testing.assert_array_equal(back, codes)


@pytest.mark.parametrize("bad", ["x.txt", "short.txt", "nan.txt"])
def test_bad_tables_are_refused(tmp_path, bad: str) -> None:
    p = tmp_path / bad
    if bad == "short.txt":
        p.write_text("0 0 0\n1 1 1\n")
    elif bad == "nan.txt":
        p.write_text("\n".join(["nan 0 0"] * 256))
    with pytest.raises(ImageReadError, match=bad.replace(".", r"\.")):
        load_inverse_crf_table(p)


def test_response_specs() -> None:
    assert response_from_spec("gamma").gamma == 2.2
    assert response_from_spec("gamma-2.4").gamma == 2.4
    assert response_from_spec({"kind": "srgb"}).kind == "srgb"
    with pytest.raises(ConfigError, match="unknown value 'gama'"):
        response_from_spec("gama")
    with pytest.raises(ConfigError, match="bogus"):
        response_from_spec({"kind": "gamma", "bogus": 1})


def _synthetic_exposures(gamma: float = 2.2) -> tuple[list[np.ndarray], list[float]]:
    """A scene of known irradiance shot by a camera with code = 255 * (E t) ** (1 / gamma)."""
    h, w = 64, 96
    y, x = np.mgrid[0:h, 0:w]
    irr = np.stack(
        [
            0.02 + 0.98 * (x / (w - 1)) ** 2 * ((y + 8) / (h + 8)),
            0.02 + 0.9 * (y / (h - 1)),
            0.03 + 0.8 * ((x + y) / (w + h - 2)),
        ],
        axis=2,
    )
    times = [1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0, 2.0]
    rng = np.random.default_rng(0)
    imgs = []
    for t in times:
        e = np.clip(irr * t * (1 + 0.002 * rng.standard_normal(irr.shape)), 0, 1)
        imgs.append(np.rint(255 * e ** (1 / gamma)).astype(np.uint8))
    return imgs, times


def test_robertson_recovers_known_response() -> None:
    imgs, times = _synthetic_exposures(2.2)  # 6 exposures 1 stop apart: dense enough
    table = calibrate_inverse_crf(imgs, times, method="robertson")
    assert table.shape == (256, 3)
    true = (np.arange(256) / 255.0) ** 2.2
    true = true / true[128]
    codes = np.arange(40, 231)
    for c in range(3):
        rel = np.abs(table[codes, c] - true[codes]) / true[codes]
        assert np.median(rel) < 0.05, (c, np.median(rel))  # tolerance: 5 % median relative error
        assert np.all(np.diff(table[codes[::8], c]) > 0)  # increasing over 8-code steps


def test_robertson_bad_input() -> None:
    imgs, times = _synthetic_exposures()
    with pytest.raises(CalibrationError, match="at least 2"):
        calibrate_inverse_crf(imgs[:1], times[:1])
    with pytest.raises(CalibrationError, match="distinct"):
        calibrate_inverse_crf(imgs[:2], [1.0, 1.0])
    with pytest.raises(ShapeMismatchError, match="exposure 1"):
        calibrate_inverse_crf([imgs[0], imgs[1][:10]], times[:2])


def test_shipped_profiles_load() -> None:
    names = list_profiles()
    assert {"srgb", "gamma22", "srgb-table", "realblur-camera", "rsblur-camera"} <= set(names)
    for n in names:
        prof = load_profile(n)
        assert prof.response.lut().shape == (256, 3)
    assert load_profile("realblur-camera").noise == {"beta1": 8.8915e-5, "beta2": 2.9430e-5}
    assert load_profile("rsblur-camera").noise == {"beta1": 1.0e-4, "beta2": 9.1504e-4}
    tab = load_profile("srgb-table").response
    np.testing.assert_allclose(tab.lut()[:251], CameraResponse("srgb").lut()[:251], atol=1e-9)
    with pytest.raises(UnknownNameError, match="nikon"):
        load_profile("nikon")


def test_profile_with_unknown_key(tmp_path) -> None:
    p = tmp_path / "cam.yaml"
    p.write_text("name: cam\nresponse: srgb\nnoize: {beta1: 1}\n")
    with pytest.raises(ConfigError, match="noize"):
        load_profile(p)


def test_calibrate_crf_cli_writes_table_and_profile(tmp_path) -> None:
    from click.testing import CliRunner

    from lode_bench.cli.capture import capture
    from lode_bench.io import write_image

    imgs, times = _synthetic_exposures(2.2)
    paths = []
    for i, img in enumerate(imgs):
        p = tmp_path / f"exp{i}.png"
        write_image(p, img)
        paths.append(str(p))
    out, prof = tmp_path / "cam_crf.txt", tmp_path / "cam.yaml"
    args = ["calibrate-crf", *paths, "--times", ",".join(str(t) for t in times)]
    res = CliRunner().invoke(capture, [*args, "--out", str(out), "--profile", str(prof)])
    assert res.exit_code == 0, res.output
    table = load_inverse_crf_table(out)
    np.testing.assert_allclose(table, calibrate_inverse_crf(imgs, times), rtol=1e-8)
    resp = load_profile(prof).response
    assert resp.kind == "table"
    # the profile applies REDS' >250 extrapolation on load
    np.testing.assert_allclose(resp.lut(), extrapolate_reds_table(table), rtol=1e-8)
    bad = CliRunner().invoke(capture, [*args[:-2], "--times", "1,2", "--out", str(out)])
    assert bad.exit_code != 0 and "exposure times" in bad.output
