"""Every registered metric, straight from the registry: its value lies in its declared range,
identical images score best, and blurring moves the score the way ``higher_is_better`` says.

Full-reference metrics compare a real sharp TID2013 crop with itself and with two Gaussian
blurs of it (σ 1 and 3 px); no-reference metrics rate the sharp crop and its σ 3 blur.
Metrics whose model files are absent here are skipped with the reason the metric gives.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from lode_bench.metrics.base import METRICS, MetricSpec
from lode_bench.metrics.lpips_metric import LPIPSWeightsMissing
from tests.metrics.metrics_data import DATA, tid_pair

NAMES = METRICS.names()
FULL_REFERENCE = [n for n in NAMES if not METRICS.get(n).no_reference]
NO_REFERENCE = [n for n in NAMES if METRICS.get(n).no_reference]
NIQE_MODEL = DATA / "niqe" / "niqe_pris_params.npz"


@pytest.fixture(scope="module")
def sharp() -> np.ndarray:
    """192×256 crop of a real TID2013 reference (large enough for 5-scale MS-SSIM and NIQE)."""
    return np.ascontiguousarray(tid_pair("I04")[1][96:288, 128:384])


def blur(img: np.ndarray, sigma: float) -> np.ndarray:
    planes = [ndimage.gaussian_filter(img[..., c].astype(np.float64), sigma) for c in range(3)]
    return np.clip(np.rint(np.stack(planes, -1)), 0, 255).astype(np.uint8)


def declared(spec: MetricSpec, out: dict[str, float]) -> dict[str, float]:
    """The values the spec declares: its named outputs, or the one value under its name."""
    return {k: out[k] for k in spec.outputs} if spec.outputs else {spec.name: out[spec.name]}


def better(spec: MetricSpec, a: float, b: float) -> bool:
    return a > b if spec.higher_is_better else a < b


def in_range(spec: MetricSpec, v: float) -> bool:
    lo, hi = spec.value_range
    return not math.isnan(v) and lo <= v <= hi


def test_registry_lists_both_kinds():
    assert {"psnr", "ssim_gaussian", "psnr_w", "realblur_aligned"} <= set(FULL_REFERENCE)
    assert {"niqe", "brisque"} <= set(NO_REFERENCE)


@pytest.mark.parametrize("name", FULL_REFERENCE)
def test_full_reference_metric(name: str, sharp: np.ndarray) -> None:
    spec = METRICS.get(name)
    if spec.availability() is not None:
        pytest.skip(spec.availability())
    mask = np.zeros(sharp.shape[:2], bool)
    mask[48:144, 64:192] = True  # the metric only sees it when it is a masked metric
    kw = {"mask": mask} if spec.needs_mask else {}
    try:
        same, mild, strong = (
            declared(spec, spec.compute(x, sharp, **kw))
            for x in (sharp, blur(sharp, 1.0), blur(sharp, 3.0))
        )
    except LPIPSWeightsMissing as exc:
        pytest.skip(str(exc))
    for scores in (same, mild, strong):
        assert all(in_range(spec, v) for v in scores.values()), (scores, spec.value_range)
    for key in same:  # identical images score best, more blur scores worse
        assert better(spec, same[key], mild[key]) and better(spec, mild[key], strong[key]), (
            key,
            same[key],
            mild[key],
            strong[key],
        )
    if not spec.outputs:  # one value: identical images reach the declared best end of the range
        best = spec.value_range[1] if spec.higher_is_better else spec.value_range[0]
        assert same[name] == pytest.approx(best, abs=1e-9)


@pytest.mark.parametrize("name", NO_REFERENCE)
def test_no_reference_metric(name: str, sharp: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "LODE_BENCH_NIQE_MODEL", str(NIQE_MODEL)
    )  # the LIVE NIQE model shipped in tests
    spec = METRICS.get(name)
    reason = spec.availability()
    if reason is not None:
        pytest.skip(reason)
    crisp = declared(spec, spec.compute(sharp, None))
    soft = declared(spec, spec.compute(blur(sharp, 3.0), None))
    for scores in (crisp, soft):
        assert all(in_range(spec, v) for v in scores.values()), (scores, spec.value_range)
    for key in crisp:
        assert better(spec, crisp[key], soft[key]), (key, crisp[key], soft[key])
