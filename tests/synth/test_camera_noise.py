"""RSBlur raw noise model per Bayer site, per-image noise draws, camera CCM and white balance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lode_bench.capture.profiles import load_profile
from lode_bench.errors import ConfigError
from lode_bench.synth.bayer import demosaic_malvar, mosaic
from lode_bench.synth.builtin import builtin_photo, fit_photo
from lode_bench.synth.degrade import (
    DegradationParams,
    apply_rsblur_degradations,
    develop_raw,
    simulate_raw,
)
from lode_bench.synth.recipes import load_recipe, validate_recipe
from lode_bench.synth.samples import _degradation_params

PATCH = 256  # 128×128 = 16384 samples per Bayer site and level: sampling error of a variance ~1.1 %
LEVELS = np.geomspace(2e-3, 0.4, 22)  # 22 signal levels in linear sRGB, from read- to shot-limited


def _flat_patches() -> np.ndarray:
    """22 grey flat patches stacked vertically (PATCH×PATCH each), linear sRGB."""
    img = np.repeat(LEVELS, PATCH)[:, None, None] * np.ones((1, PATCH, 3))
    return np.ascontiguousarray(img)


@pytest.mark.parametrize("camera", ["realblur-camera", "rsblur-camera"])
def test_raw_variance_follows_shot_plus_read_noise_at_every_bayer_site(camera: str) -> None:
    """Measured variance at R, Gr, Gb, B follows beta1'·x + beta2'² (draws fixed by the seed).

    Tolerance: 5 % per site and level (the sampling error of a 16384-sample variance is
    about 1.1 %, so 5 % is > 4 sigma). The profile's own values, CCM and gain ranges are
    used; for the RSBlur camera the lowest levels are dominated by read noise.
    """
    prof = load_profile(camera)
    b1, b2 = prof.noise["beta1"], prof.noise["beta2"]
    params = DegradationParams(
        saturation=None,
        noise=(b1, b2),
        ccm=prof.ccms(),
        red_gain=tuple(prof.white_balance["red_gain"]),  # type: ignore[arg-type]
        blue_gain=tuple(prof.white_balance["blue_gain"]),  # type: ignore[arg-type]
    )
    cap = simulate_raw(_flat_patches(), np.random.default_rng(11), params)
    info = cap.info
    assert 0.5 * b1 <= info["beta1"] <= 1.5 * b1 and 0.5 * b2 <= info["beta2"] <= 1.5 * b2
    again = simulate_raw(_flat_patches(), np.random.default_rng(11), params).info
    assert again == info  # the per-image draws are fixed by the seed
    assert simulate_raw(_flat_patches(), np.random.default_rng(12), params).info != info
    beta1, beta2 = info["beta1"], info["beta2"]
    worst = 0.0
    for li in range(len(LEVELS)):
        rows = slice(li * PATCH, (li + 1) * PATCH)
        for dy in (0, 1):
            for dx in (0, 1):
                clean = cap.clean[rows, :][dy::2, dx::2]
                noisy = cap.raw[rows, :][dy::2, dx::2]
                x = float(clean.mean())
                assert np.ptp(clean) < 1e-12 and x > 0  # flat patch, positive raw value
                model = beta1 * x + beta2**2
                err = abs(float(np.var(noisy - clean)) / model - 1.0)
                worst = max(worst, err)
                assert err < 0.05, (camera, li, dy, dx, x, err)
                # after white balance (× gain g) the variance is g²·(beta1'·x + beta2'²)
                g = float(cap.gains[rows, :][dy::2, dx::2].mean())
                wb = float(np.var((noisy - clean) * g))
                assert wb == pytest.approx(g * g * model, rel=0.05)
    # read noise matters for the RSBlur camera at the lowest levels: the old variance model
    # (beta1·x + beta2, i.e. std sqrt(beta2)) is far off there
    if camera == "rsblur-camera":
        low = cap.raw[:PATCH:2, ::2] - cap.clean[:PATCH:2, ::2]
        x = float(cap.clean[:PATCH:2, ::2].mean())
        assert np.var(low) < 0.2 * (beta1 * x + beta2)
    assert worst < 0.05


def test_noise_draws_span_half_to_one_and_a_half_of_the_published_values() -> None:
    params = DegradationParams(saturation=None, noise=(1e-4, 9.1504e-4), bayer=False)
    img = np.full((4, 4, 3), 0.3)
    draws = [simulate_raw(img, np.random.default_rng(i), params).info for i in range(400)]
    r1 = np.array([d["beta1"] for d in draws]) / 1e-4
    r2 = np.array([d["beta2"] for d in draws]) / 9.1504e-4
    for r in (r1, r2):
        assert 0.5 <= r.min() < 0.55 and 1.45 < r.max() <= 1.5
        assert r.mean() == pytest.approx(1.0, abs=0.05)


# ---------------------------------------------------------------- CCM and white balance
C = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 2.0]])  # camera RGB -> linear sRGB


def test_ccm_and_white_balance_give_the_hand_derived_raw() -> None:
    """lin (0.2, 0.3, 0.4), C above: cam = C^-1 lin = (0.2 - 0.15, 0.3, 0.2) = (0.05, 0.3, 0.2).

    With red gain 2 and blue gain 1.6 (fixed ranges), the RGGB raw is R = 0.05 / 2 = 0.025,
    G = 0.3, B = 0.2 / 1.6 = 0.125.
    """
    img = np.broadcast_to(np.array([0.2, 0.3, 0.4]), (8, 8, 3)).copy()
    params = DegradationParams(
        saturation=None,
        noise=None,
        ccm=C,
        patterns=("RGGB",),
        red_gain=(2.0, 2.0),
        blue_gain=(1.6, 1.6),
    )
    cap = simulate_raw(img, np.random.default_rng(0), params)
    np.testing.assert_allclose(cap.raw[0::2, 0::2], 0.025, atol=1e-15)
    np.testing.assert_allclose(cap.raw[0::2, 1::2], 0.3, atol=1e-15)
    np.testing.assert_allclose(cap.raw[1::2, 0::2], 0.3, atol=1e-15)
    np.testing.assert_allclose(cap.raw[1::2, 1::2], 0.125, atol=1e-15)
    # without the CCM the raw is the image itself divided by the gains
    plain = simulate_raw(
        img,
        np.random.default_rng(0),
        DegradationParams(
            saturation=None,
            noise=None,
            patterns=("RGGB",),
            red_gain=(2.0, 2.0),
            blue_gain=(1.6, 1.6),
        ),
    )
    np.testing.assert_allclose(plain.raw[0::2, 0::2], 0.1, atol=1e-15)
    np.testing.assert_allclose(plain.raw[1::2, 1::2], 0.25, atol=1e-15)
    np.testing.assert_allclose(develop_raw(cap), img, atol=1e-14)  # flat: Malvar is exact


def test_output_with_ccm_is_c_malvar_of_the_camera_mosaic() -> None:
    """Noise-free output = clip(C · Malvar(mosaic(C^-1 · lin))), and differs from no CCM."""
    img = fit_photo(builtin_photo("coffee"), (48, 64)).astype(np.float64) / 255
    img = img**2.2 * 0.8
    with_ccm = DegradationParams(saturation=None, noise=None, ccm=C)
    out, info = apply_rsblur_degradations(img, np.random.default_rng(4), with_ccm)
    p = info["bayer_pattern"]
    cam = img @ np.linalg.inv(C).T
    ref = np.clip(demosaic_malvar(mosaic(cam, p), p) @ C.T, 0, 1)
    np.testing.assert_allclose(out, ref, atol=1e-12)
    plain, info2 = apply_rsblur_degradations(
        img, np.random.default_rng(4), DegradationParams(saturation=None, noise=None)
    )
    assert info2["bayer_pattern"] == p
    assert np.abs(out - plain).max() > 1e-3  # demosaicking in camera space is not the same


@pytest.mark.parametrize("camera", ["realblur-camera", "rsblur-camera"])
def test_round_trip_without_noise_is_exact(camera: str) -> None:
    """sRGB -> camera -> mosaic -> ÷gains -> ×gains -> Malvar -> sRGB returns the image.

    Exact (1e-12) everywhere without the Bayer step; with it, on per-channel affine ramps
    away from the 2-pixel filter border (where Malvar reproduces any such ramp).
    """
    prof = load_profile(camera)
    wb = prof.white_balance
    params = DegradationParams(
        saturation=None,
        noise=None,
        ccm=prof.ccms(),
        red_gain=tuple(wb["red_gain"]),  # type: ignore[arg-type]
        blue_gain=tuple(wb["blue_gain"]),  # type: ignore[arg-type]
    )
    yy, xx = np.mgrid[0:40, 0:48] / 60.0
    ramp = np.dstack([0.2 + 0.5 * xx, 0.3 + 0.3 * yy, 0.25 + 0.2 * xx + 0.2 * yy])
    for seed in range(4):  # every Bayer pattern / drawn CCM
        out, info = apply_rsblur_degradations(ramp, np.random.default_rng(seed), params)
        assert "red_gain" in info
        np.testing.assert_allclose(out[2:-2, 2:-2], ramp[2:-2, 2:-2], atol=1e-12)
    photo = fit_photo(builtin_photo("chelsea"), (32, 40)).astype(np.float64) / 255
    no_bayer = DegradationParams(saturation=None, noise=None, bayer=False, ccm=prof.ccms())
    out, _ = apply_rsblur_degradations(photo, np.random.default_rng(0), no_bayer)
    np.testing.assert_allclose(out, photo, atol=1e-12)


def test_shipped_camera_ccms_are_white_preserving_and_invertible() -> None:
    real = load_profile("realblur-camera").ccms()
    rs = load_profile("rsblur-camera").ccms()
    assert (
        real is not None and rs is not None and real.shape == (1, 3, 3) and rs.shape == (19, 3, 3)
    )
    np.testing.assert_allclose(real[0].sum(axis=1), 1.0, atol=1e-8)  # LibRaw A7R3: white -> white
    assert np.all(np.abs(rs.sum(axis=2) - 1.0) < 0.15)  # colour-checker fits: near white
    for m in (*real, *rs):  # grey stays positive in camera space
        assert np.all(np.linalg.inv(m) @ np.ones(3) > 0)


# ---------------------------------------------------------------- recipes and profiles
def test_recipe_camera_supplies_ccm_and_white_balance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = load_recipe("rsblur-like")
    params = _degradation_params(r)
    assert params is not None and params.ccm is not None
    np.testing.assert_array_equal(params.ccm, load_profile("realblur-camera").ccms())
    rs = validate_recipe({"kind": "global", "degradations": {"camera": "profile:rsblur-camera"}})
    prs = _degradation_params(rs)
    assert prs is not None and prs.ccm is not None and prs.ccm.shape == (19, 3, 3)
    assert list(prs.red_gain) == load_profile("rsblur-camera").white_balance["red_gain"]
    own = validate_recipe(
        {
            "kind": "global",
            "degradations": {"camera": "profile:rsblur-camera", "red_gain": [2.0, 2.1]},
        }
    )
    assert own.degradations is not None
    assert list(own.degradations.red_gain) == [2.0, 2.1]  # an explicit range wins
    assert own.recipe_hash != rs.recipe_hash
    none = validate_recipe({"kind": "global", "degradations": {}})
    assert _degradation_params(none).ccm is None  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="degradations.camera"):
        validate_recipe({"kind": "global", "degradations": {"camera": "rsblur-camera"}})
    with pytest.raises(ConfigError, match="degradations.camera"):
        validate_recipe({"kind": "global", "degradations": {"camera": "profile:nikon"}})
    # the CCM's numbers enter the recipe hash (profiles named from a private profile folder:
    # ``profile:`` takes plain names only)
    import lode_bench.capture.profiles as profiles_mod

    monkeypatch.setattr(profiles_mod, "profiles_dir", lambda: tmp_path)
    p = tmp_path / "cam.yaml"
    p.write_text("name: cam\nccm: [[1, 0, 0], [0, 1, 0], [0, 0, 1]]\n")
    q = tmp_path / "cam2.yaml"
    q.write_text("name: cam\nccm: [[1, 0.1, 0], [0, 1, 0], [0, 0, 1]]\n")
    h1 = validate_recipe({"kind": "global", "degradations": {"camera": "profile:cam"}})
    h2 = validate_recipe({"kind": "global", "degradations": {"camera": "profile:cam2"}})
    assert h1.recipe_hash != h2.recipe_hash
    # so do the noise numbers of a profile named by ``noise: profile:<name>``
    n1, n2 = tmp_path / "n1.yaml", tmp_path / "n2.yaml"
    n1.write_text("name: n\nnoise: {beta1: 1.0e-4, beta2: 1.0e-3}\n")
    n2.write_text("name: n\nnoise: {beta1: 1.0e-4, beta2: 2.0e-3}\n")
    r1 = validate_recipe({"kind": "global", "degradations": {"noise": "profile:n1"}})
    r2 = validate_recipe({"kind": "global", "degradations": {"noise": "profile:n2"}})
    assert r1.recipe_hash != r2.recipe_hash


@pytest.mark.parametrize(
    "text, msg",
    [
        ("ccm: [[1, 0], [0, 1]]\n", "3×3 matrix"),
        ("ccm: [[1, 0, 0], [0, 1, 0], [0, 0, 0]]\n", "invertible"),
        ("ccm: [[1, a, 0]]\n", "3×3 matrix"),
        ("white_balance: {red_gain: [2.4, 1.9]}\n", "white_balance.red_gain"),
        ("white_balance: {red_gain: 2}\n", "white_balance.red_gain"),
    ],
)
def test_bad_profile_camera_keys(tmp_path: Path, text: str, msg: str) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("name: bad\n" + text)
    with pytest.raises(ConfigError, match=msg) as exc:
        load_profile(p)
    assert "bad.yaml" in str(exc.value)
