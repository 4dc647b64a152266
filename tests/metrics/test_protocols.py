"""Protocols: each named bundle computes exactly its metrics, with the stated quantisation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from lode_bench.errors import LodeBenchError, ShapeMismatchError, UnknownNameError
from lode_bench.examples import example_dirs
from lode_bench.io import read_image
from lode_bench.metrics.masked import psnr_w, ssim_w
from lode_bench.metrics.protocols import get_protocol, list_protocols
from lode_bench.metrics.ssim import ssim_matlab_rgb

EXPECTED = {
    "gopro",
    "deepdeblur",
    "basicsr",
    "basicsr-y",
    "realblur",
    "reloblur",
    "lode",
    "lode-legacy",
    "iqa",
}


def _example(method="restormer", name="gopro"):
    pred_dir, gt_dir = example_dirs(name, method)
    stem = next(gt_dir.iterdir()).name
    return read_image(pred_dir / stem), read_image(gt_dir / stem)


def test_all_protocols_registered_with_docs():
    protos = {p.name: p for p in list_protocols()}
    assert EXPECTED <= set(protos)
    for p in protos.values():
        assert p.version and p.description and p.reproduces and p.columns
        for col in p.columns:
            assert isinstance(p.higher_is_better(col), bool)


def test_aliases_versions_and_unknown_names():
    assert get_protocol("gopro-matlab").name == "gopro"
    assert get_protocol("gopro@1").name == "gopro"
    with pytest.raises(LodeBenchError, match="version"):
        get_protocol("gopro@99")
    with pytest.raises(UnknownNameError, match="did you mean 'realblur'"):
        get_protocol("realblurr")


def test_gopro_is_rgb_psnr_plus_matlab_3d_ssim():
    pred, gt = _example()
    s = get_protocol("gopro").score(pred, gt)
    assert s.values["PSNR"] == pytest.approx(
        peak_signal_noise_ratio(gt, pred, data_range=255), abs=1e-10
    )
    assert s.values["SSIM"] == ssim_matlab_rgb(pred, gt)
    assert round(s.values["PSNR"], 4) == 25.3899  # published value of this crop


@pytest.mark.parametrize("name", ["basicsr", "deepdeblur"])
def test_per_channel_gaussian_protocols_match_skimage(name):
    pred, gt = _example("hi-diff")
    s = get_protocol(name).score(pred, gt)
    ref = structural_similarity(
        gt,
        pred,
        data_range=255,
        channel_axis=2,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
    )
    assert s.values["SSIM"] == pytest.approx(ref, abs=1e-9)
    assert round(s.values["SSIM"], 4) == 0.9206


def test_basicsr_y_uses_unrounded_bt601():
    pred, gt = _example()
    s = get_protocol("basicsr-y").score(pred, gt)

    def y(img):
        x = img.astype(np.float64) / 255.0
        return 16.0 + 65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]

    mse = np.mean((y(pred) - y(gt)) ** 2)
    assert s.values["PSNR"] == pytest.approx(10 * math.log10(255.0**2 / mse), abs=1e-10)


def test_prepare_clamps_and_rounds_and_refuses_nan():
    proto = get_protocol("gopro")
    out = proto.prepare(np.array([[[-0.2, 0.5, 1.3]]]), data_range=1.0)
    np.testing.assert_array_equal(out, [[[0, 128, 255]]])  # 127.5 rounds half to even -> 128
    with pytest.raises(LodeBenchError, match="NaN"):
        proto.prepare(np.array([[[np.nan, 0, 0]]]))


def test_masked_protocol_needs_mask_and_matches_functions(rng):
    pred, gt = _example()
    mask = np.zeros(gt.shape[:2], bool)
    mask[10:40, 20:90] = True
    proto = get_protocol("lode")
    with pytest.raises(LodeBenchError, match="needs a blur mask"):
        proto.score(pred, gt)
    with pytest.raises(ShapeMismatchError):
        proto.score(pred, gt, mask=mask[:-1])
    s = proto.score(pred, gt, mask=mask)
    assert s.values["PSNR_w"] == psnr_w(pred, gt, mask)
    assert s.values["SSIM_w"] == ssim_w(pred, gt, mask)
    assert s.mask_coverage == pytest.approx(mask.mean())
    legacy = get_protocol("lode-legacy").score(pred, gt, mask=mask)
    # BladeNet's local PSNR is the masked PSNR inflated by 10 log10(1 / coverage)
    assert legacy.values["local_PSNR_legacy"] == pytest.approx(
        s.values["PSNR_w"] + 10 * math.log10(1 / mask.mean()), abs=1e-9
    )


def test_realblur_ecc_failure_is_recorded_not_skipped():
    _, gt = _example(name="realblur")
    black = np.zeros_like(gt)  # no least-squares gain exists: the alignment cannot run
    s = get_protocol("realblur").score(black, gt, image_id="black")
    assert not s.ok and "PSNR" in s.errors and math.isnan(s.values["PSNR"])


def test_realblur_recovers_shift_where_naive_psnr_is_low():
    import cv2

    _, gt = _example(name="realblur")
    h = np.array([[1, 0.004, 1.6], [-0.003, 1, -1.2], [0, 0, 1]], np.float64)
    moved = cv2.warpPerspective(
        gt, h, (gt.shape[1], gt.shape[0]), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT
    )
    moved = np.clip(moved.astype(np.float64) * 0.9, 0, 255).round().astype(np.uint8)
    s = get_protocol("realblur").score(moved, gt)
    naive = peak_signal_noise_ratio(gt, moved, data_range=255)
    assert s.ok, s.errors
    assert naive < 25 and s.values["PSNR"] > naive + 8


def test_lpips_column_added():
    p = get_protocol("gopro").with_lpips("vgg")
    assert p.columns[-1] == "LPIPS-vgg" and p.higher_is_better("LPIPS-vgg") is False


def test_every_column_of_a_failed_metric_records_the_error():
    """The second output of a failed metric used to become NaN without an error."""
    _, gt = _example(name="realblur")
    s = get_protocol("realblur").score(np.zeros_like(gt), gt, image_id="black")
    assert set(s.errors) == {"PSNR", "SSIM"} and s.errors["SSIM"] == s.errors["PSNR"]
    assert math.isnan(s.values["SSIM"])


def test_masked_metric_without_a_mask_records_an_error_not_a_gap():
    from dataclasses import replace

    pred, gt = _example()
    s = replace(get_protocol("lode"), mask="optional").score(pred, gt)
    assert set(s.values) == {"PSNR", "SSIM", "PSNR_w", "SSIM_w"}
    assert math.isnan(s.values["PSNR_w"]) and not s.ok
    assert "needs a blur mask" in s.errors["PSNR_w"] and "needs a blur mask" in s.errors["SSIM_w"]
    assert (
        "PSNR" not in s.errors
        and s.values["PSNR"]
        == get_protocol("lode").score(pred, gt, mask=np.ones(gt.shape[:2], bool)).values["PSNR"]
    )


def test_an_output_the_metric_does_not_give_records_an_error():
    from dataclasses import replace

    from lode_bench.metrics.protocols import MetricCall

    pred, gt = _example(name="realblur")
    proto = replace(
        get_protocol("realblur"), calls=(MetricCall("X", "realblur_aligned", pick="nope"),)
    )
    s = proto.score(pred, gt)
    assert math.isnan(s.values["X"]) and "gave no value 'nope'" in s.errors["X"]
    assert "aligned_psnr" in s.errors["X"]
