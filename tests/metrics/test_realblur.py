"""RealBlur aligned metrics: recovery of a known misalignment, scoring against the official
script's skimage computation, and ECC failures."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from skimage.metrics import structural_similarity

from lode_bench.errors import LodeBenchError, ShapeMismatchError
from lode_bench.metrics.psnr import psnr
from lode_bench.metrics.realblur import ECCAlignmentError, align_to_target, realblur_aligned
from tests.metrics.metrics_data import tid_pair

TRUE_H = np.array([[1.002, 0.003, 1.3], [-0.002, 0.998, -0.8], [1e-6, -2e-6, 1.0]])


@pytest.fixture(scope="module")
def misaligned() -> tuple[np.ndarray, np.ndarray]:
    """A real photograph and a copy warped by a small homography with a 0.85 gain (uint8)."""
    _, ref = tid_pair("I19")
    h, w = ref.shape[:2]
    warped = cv2.warpPerspective(
        ref.astype(np.float32),
        TRUE_H,
        (w, h),
        flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REFLECT,
    )
    out = np.clip(np.rint(warped * 0.85), 0, 255).astype(np.uint8)
    return out, ref


def test_known_misalignment_is_recovered(misaligned: tuple[np.ndarray, np.ndarray]) -> None:
    out, ref = misaligned
    naive = psnr(out, ref)
    res = realblur_aligned(out, ref)
    assert set(res) == {"aligned_psnr", "aligned_ssim", "ecc_rho"}
    assert naive < 17.0
    assert res["aligned_psnr"] > 30.0
    assert res["aligned_ssim"] > 0.97
    assert 0.99 < res["ecc_rho"] <= 1.0
    # the estimated warp moves image points where the true one does (within 0.2 px)
    _, _, _, warp, _ = align_to_target(out / 255.0, ref / 255.0)
    h, w = ref.shape[:2]
    pts = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1], [w / 2, h / 2]], np.float64)
    est = cv2.perspectiveTransform(pts[None], warp.astype(np.float64))[0]
    true = cv2.perspectiveTransform(pts[None], TRUE_H)[0]
    assert np.abs(est - true).max() < 0.2


def official_scores(zr: np.ndarray, xr: np.ndarray, cr: np.ndarray) -> tuple[float, float]:
    """compute_psnr / compute_ssim of evaluate_RealBlur.py on the aligned arrays, written here
    against current skimage (channel_axis replaces the removed multichannel=True)."""
    err = np.sum((xr - zr) ** 2, dtype=np.float64) / np.sum(cr)
    p = 10 * np.log10(1.0 / err)
    # skimage 0.17.2 (pinned by the script) converted inputs to float64; current skimage would
    # compute float32 inputs in float32, which moves SSIM by ~2e-4, so convert explicitly.
    _, smap = structural_similarity(
        xr.astype(np.float64),
        zr.astype(np.float64),
        channel_axis=2,
        gaussian_weights=True,
        use_sample_covariance=False,
        data_range=1.0,
        full=True,
    )
    smap = smap * cr
    pad = (2 * int(3.5 * 1.5 + 0.5) + 1 - 1) // 2
    s = smap[pad:-pad, pad:-pad, :].sum(axis=(0, 1)) / cr[pad:-pad, pad:-pad, :].sum(axis=(0, 1))
    return float(p), float(np.mean(s))


@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_scores_match_official_computation(
    misaligned: tuple[np.ndarray, np.ndarray], precision: str
) -> None:
    out, ref = misaligned
    dtype = np.float64 if precision == "float64" else np.float32
    # inputs as the official script makes them: float32 values of uint8 / 255
    zr, xr, cr, _, _ = align_to_target(
        (out / 255.0).astype(np.float32).astype(dtype),
        (ref / 255.0).astype(np.float32).astype(dtype),
        precision=precision,
    )
    exp_psnr, exp_ssim = official_scores(zr, xr, cr)
    res = realblur_aligned(out, ref, precision=precision)
    assert res["aligned_psnr"] == pytest.approx(exp_psnr, abs=1e-9)
    assert res["aligned_ssim"] == pytest.approx(exp_ssim, abs=1e-9)


def test_float32_and_float64_agree_closely(misaligned: tuple[np.ndarray, np.ndarray]) -> None:
    out, ref = misaligned
    a = realblur_aligned(out, ref)
    b = realblur_aligned(out, ref, precision="float32")
    assert abs(a["aligned_psnr"] - b["aligned_psnr"]) < 1e-3
    assert abs(a["aligned_ssim"] - b["aligned_ssim"]) < 1e-5


@pytest.mark.parametrize("precision", ["float64", "float32"])
@pytest.mark.parametrize("normalisation", ["valid", "all"])
def test_identical_images_give_inf_like_the_official_script(precision, normalisation) -> None:
    """The official script (float32 throughout): gain exactly 1, ECC the identity, the cubic
    warp reproduces the image, squared error 0, PSNR = inf (a float32 residue gave ~157 dB)."""
    for name, crop in (("I04", np.s_[100:260, 150:390]), ("I03", np.s_[:, :])):
        ref = tid_pair(name)[1][crop]
        res = realblur_aligned(
            ref, ref.copy(), precision=precision, psnr_normalisation=normalisation
        )
        assert math.isinf(res["aligned_psnr"]) and res["aligned_psnr"] > 0, res
        assert res["aligned_ssim"] == pytest.approx(1.0, abs=1e-12)


def test_protocols_give_inf_on_identical_images() -> None:
    from lode_bench.metrics.protocols import get_protocol

    ref = tid_pair("I04")[1][100:260, 150:390]
    assert math.isinf(get_protocol("realblur@2").score(ref, ref).values["PSNR"])
    mask = np.zeros(ref.shape[:2], dtype=bool)
    mask[40:90, 60:150] = True
    got = get_protocol("reloblur@2").score(ref, ref, mask=mask).values
    assert math.isinf(got["aligned_PSNR"]) and math.isinf(got["PSNR"])


def test_ecc_failure_raises_with_reason() -> None:
    _, ref = tid_pair("I04")
    ref = ref[:128, :160]
    constant = np.full_like(ref, 128)
    with pytest.raises(ECCAlignmentError, match="ECC alignment failed"):
        realblur_aligned(constant, ref)
    with pytest.raises(ECCAlignmentError, match="all black"):
        realblur_aligned(np.zeros_like(ref), ref)
    assert issubclass(ECCAlignmentError, LodeBenchError)


def test_realblur_bad_inputs() -> None:
    a = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(ShapeMismatchError):
        realblur_aligned(a, np.zeros((32, 33, 3), np.uint8))
    bad = np.zeros((32, 32, 3))
    bad[3, 3, 0] = np.inf
    with pytest.raises(LodeBenchError, match="NaN or infinite"):
        realblur_aligned(bad, a)
    with pytest.raises(LodeBenchError, match="H×W×3"):
        realblur_aligned(np.zeros((32, 32)), np.zeros((32, 32)))


def test_reloblur_normalisation_relation(misaligned: tuple[np.ndarray, np.ndarray]) -> None:
    out, ref = misaligned
    valid = realblur_aligned(out, ref)
    allpix = realblur_aligned(out, ref, psnr_normalisation="all")
    _, _, cr, _, _ = align_to_target(out / 255.0, ref / 255.0)
    assert cr.sum() < cr.size  # the warp leaves an invalid border
    expected = valid["aligned_psnr"] + 10 * math.log10(cr.size / cr.sum())
    assert allpix["aligned_psnr"] == pytest.approx(expected, abs=1e-9)
    assert allpix["aligned_ssim"] == valid["aligned_ssim"]
    with pytest.raises(LodeBenchError, match="psnr_normalisation"):
        realblur_aligned(out, ref, psnr_normalisation="pixels")
