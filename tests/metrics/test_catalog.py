"""The metric catalog: every required name registered once, honest metadata, callable specs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lode_bench.metrics.base import METRICS, MetricSpec
from lode_bench.metrics.catalog import builtin_metric_specs, register_builtin_metrics
from lode_bench.metrics.psnr import psnr
from lode_bench.metrics.ssim import ssim_gaussian, ssim_matlab_2d, ssim_wang
from tests.metrics.metrics_data import real_pair

REQUIRED = {
    "psnr", "psnr_y", "ssim_wang", "ssim_wang_2009", "ssim_gaussian", "ssim_gaussian_y",
    "ssim_matlab_rgb", "ssim_matlab_grey", "ssim_skimage", "ms_ssim", "lpips_alex", "lpips_vgg",
    "realblur_aligned", "psnr_w", "ssim_w", "local_psnr_bladenet",
}


def test_register_is_idempotent_and_complete() -> None:
    register_builtin_metrics()
    register_builtin_metrics()
    assert REQUIRED <= set(METRICS.names())
    for spec, _ in builtin_metric_specs():
        assert isinstance(METRICS.get(spec.name), MetricSpec)


def test_every_spec_resolves_to_a_callable() -> None:
    register_builtin_metrics()
    for spec, _ in builtin_metric_specs():
        assert callable(METRICS.get(spec.name).resolve()), spec.name


def test_metadata_is_honest() -> None:
    register_builtin_metrics()
    assert METRICS.get("lpips_alex").higher_is_better is False
    assert METRICS.get("psnr").value_range == (0.0, math.inf)
    assert METRICS.get("local_psnr_bladenet").legacy is True
    assert all(METRICS.get(n).needs_mask for n in ("psnr_w", "ssim_w", "local_psnr_bladenet"))
    assert METRICS.get("realblur_aligned").outputs == ("aligned_psnr", "aligned_ssim")
    assert METRICS.canonical("ssim3d") == "ssim_matlab_rgb"
    others = [s.name for s, _ in builtin_metric_specs() if s.name != "local_psnr_bladenet"]
    assert not any(METRICS.get(n).legacy for n in others)


def test_compute_applies_defaults() -> None:
    register_builtin_metrics()
    out, gt = real_pair("gopro", "restormer")
    assert METRICS.get("psnr").compute(out, gt)["psnr"] == psnr(out, gt)
    assert METRICS.get("psnr_y").compute(out, gt)["psnr_y"] == psnr(out, gt, colour="y")
    assert METRICS.get("ssim_gaussian_y").compute(out, gt)["ssim_gaussian_y"] == ssim_gaussian(
        out, gt, colour="y"
    )
    assert METRICS.get("ssim_wang_2009").compute(out, gt)["ssim_wang_2009"] == ssim_wang(
        out, gt, downsample=True
    )
    assert METRICS.get("ssim_torchmetrics").compute(out, gt)["ssim_torchmetrics"] == ssim_matlab_2d(
        out, gt, padding="reflect"
    )
    mask = np.zeros(gt.shape[:2], bool)
    mask[10:40, 20:100] = True
    vals = METRICS.get("psnr_w").compute(out, gt, mask=mask)
    assert vals["psnr_w"] > 0
    with pytest.raises(Exception, match="needs a mask"):
        METRICS.get("ssim_w").compute(out, gt)
