"""The metric catalog: every required name registered once, honest metadata, callable specs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lode_bench.metrics.base import METRICS, MetricSpec
from lode_bench.metrics.catalog import builtin_metric_specs
from lode_bench.metrics.psnr import psnr
from lode_bench.metrics.ssim import ssim_gaussian, ssim_matlab_2d, ssim_wang
from tests.metrics.metrics_data import real_pair

REQUIRED = {
    "psnr",
    "psnr_y",
    "ssim_wang",
    "ssim_wang_2009",
    "ssim_gaussian",
    "ssim_gaussian_y",
    "ssim_matlab_rgb",
    "ssim_matlab_grey",
    "ssim_skimage",
    "ms_ssim",
    "lpips_alex",
    "lpips_vgg",
    "realblur_aligned",
    "psnr_w",
    "ssim_w",
    "local_psnr_bladenet",
}


def test_builtins_load_on_first_lookup_and_are_complete() -> None:
    assert REQUIRED <= set(METRICS.names())
    for spec, _ in builtin_metric_specs():
        assert isinstance(METRICS.get(spec.name), MetricSpec)


def test_every_spec_resolves_to_a_callable() -> None:
    for spec, _ in builtin_metric_specs():
        assert callable(METRICS.get(spec.name).resolve()), spec.name


def test_metadata_is_honest() -> None:
    assert METRICS.get("lpips_alex").higher_is_better is False
    assert METRICS.get("psnr").value_range == (0.0, math.inf)
    assert METRICS.get("local_psnr_bladenet").legacy is True
    assert all(METRICS.get(n).needs_mask for n in ("psnr_w", "ssim_w", "local_psnr_bladenet"))
    assert METRICS.get("realblur_aligned").outputs == ("aligned_psnr", "aligned_ssim")
    assert METRICS.canonical("ssim3d") == "ssim_matlab_rgb"
    others = [s.name for s, _ in builtin_metric_specs() if s.name != "local_psnr_bladenet"]
    assert not any(METRICS.get(n).legacy for n in others)


def test_compute_applies_defaults() -> None:
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


def test_plugin_named_like_a_builtin_metric_is_refused(monkeypatch) -> None:
    """A plugin called ``psnr`` must not replace the built-in PSNR (it used to, silently)."""
    import sys
    import types
    from importlib import metadata

    from lode_bench.registry import Registry

    mod = types.ModuleType("lb_fake_metric_plugin")
    mod.SPEC = MetricSpec(
        name="psnr",
        fn=lambda p, t: 0.0,
        higher_is_better=True,
        value_range=(0.0, 1.0),
        colour="RGB",
        input_rule="any",
        description="fake",
    )
    monkeypatch.setitem(sys.modules, "lb_fake_metric_plugin", mod)
    eps = [
        metadata.EntryPoint(n, "lb_fake_metric_plugin:SPEC", "lode_bench.metrics")
        for n in ("psnr", "ssim_basicsr", "fancy")
    ]
    monkeypatch.setattr(
        metadata, "entry_points", lambda group=None: eps if group == "lode_bench.metrics" else []
    )
    reg = Registry(
        "metric",
        builtins=METRICS.builtins,
        entry_point_group=METRICS.entry_point_group,
        validate=lambda v: None,
    )
    with pytest.warns(
        UserWarning, match="ignoring metric plugin .* collides with the built-in"
    ) as rec:
        names = reg.names()
    assert sorted(str(w.message).split("'")[1] for w in rec) == ["psnr", "ssim_basicsr"]
    assert "fancy" in names and reg.get("fancy") is mod.SPEC
    assert reg.get("psnr").fn == "lode_bench.metrics.psnr:psnr" and reg.source("psnr") == "builtin"
    assert reg.canonical("ssim_basicsr") == "ssim_gaussian"  # a built-in alias is not taken either
    assert set(reg.plugin_errors) == {"psnr", "ssim_basicsr"}
