"""Bootstrap intervals, directions, best marking and the Pareto front against references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from lode_bench.report.stats import (
    best_indices,
    bootstrap_ci,
    bootstrap_means,
    fallback_higher_is_better,
    higher_is_better,
    pareto_front,
)


def _slow_bootstrap_means(x: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """From the definition: one resample at a time, the same generator draws."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_resamples, x.size))
    return np.array([sum(x[j] for j in row) / x.size for row in idx])


def test_bootstrap_means_equal_slow_loop_including_chunking():
    x = np.random.default_rng(3).normal(30, 2, size=37)
    fast = bootstrap_means(x, n_resamples=500, seed=7, chunk=37 * 13)  # forces 13-row blocks
    slow = _slow_bootstrap_means(x, 500, 7)
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)


def test_bootstrap_ci_quantiles_of_the_resampled_means():
    x = np.random.default_rng(4).normal(0.9, 0.02, size=50)
    iv = bootstrap_ci(x, n_resamples=1000, seed=1)
    means = _slow_bootstrap_means(x, 1000, 1)
    assert iv.mean == pytest.approx(np.mean(x), abs=1e-15)
    assert iv.low == pytest.approx(np.quantile(means, 0.025), abs=1e-12)
    assert iv.high == pytest.approx(np.quantile(means, 0.975), abs=1e-12)
    assert iv.n == 50


def test_bootstrap_ci_agrees_with_scipy_percentile_bootstrap():
    # Different generators, so agreement is statistical: with 20000 resamples the Monte
    # Carlo error of a 2.5 % quantile of the mean is well below 2 % of the CI width.
    x = np.random.default_rng(5).gamma(2.0, 1.5, size=80)
    iv = bootstrap_ci(x, n_resamples=20000, seed=0)
    ref = sps.bootstrap(
        (x,),
        np.mean,
        n_resamples=20000,
        method="percentile",
        confidence_level=0.95,
        rng=np.random.default_rng(1),
    ).confidence_interval
    width = ref.high - ref.low
    assert abs(iv.low - ref.low) < 0.03 * width
    assert abs(iv.high - ref.high) < 0.03 * width


def test_bootstrap_ci_width_matches_normal_theory_for_large_n():
    x = np.random.default_rng(6).normal(0, 1, size=2000)
    iv = bootstrap_ci(x, n_resamples=4000)
    expected = 2 * 1.959964 * x.std(ddof=1) / math.sqrt(x.size)
    assert (iv.high - iv.low) == pytest.approx(expected, rel=0.08)


def test_bootstrap_ci_is_reproducible_and_seed_dependent():
    x = np.arange(20, dtype=float)
    assert bootstrap_ci(x, seed=3) == bootstrap_ci(x, seed=3)
    assert bootstrap_ci(x, seed=3).low != bootstrap_ci(x, seed=4).low


def test_degenerate_inputs():
    assert math.isnan(bootstrap_ci([]).mean)
    assert bootstrap_ci([float("nan"), 2.0]).n == 1
    one = bootstrap_ci([31.5])
    assert (one.mean, one.low, one.high) == (31.5, 31.5, 31.5)
    const = bootstrap_ci([0.5] * 9)
    assert (const.low, const.high) == (0.5, 0.5)
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, 2.0], confidence=1.0)


def test_infinite_values_give_infinite_mean_and_defined_bounds():
    x = [30.0, 31.0, math.inf, 29.0]
    iv = bootstrap_ci(x, n_resamples=500)
    assert iv.mean == math.inf
    assert not math.isnan(iv.low) and not math.isnan(iv.high)
    assert iv.high == math.inf
    assert 29.0 <= iv.low


def test_directions():
    assert higher_is_better("PSNR", "gopro") is True
    assert higher_is_better("SSIM_w", "lode") is True
    assert higher_is_better("LPIPS", "no-such-protocol") is False
    assert fallback_higher_is_better("PSNR_w") is True
    assert fallback_higher_is_better("MS-SSIM") is True
    assert fallback_higher_is_better("NIQE") is False
    assert fallback_higher_is_better("runtime_s") is False


def test_best_indices_ties_and_nan():
    assert best_indices([1.0, 3.0, 3.0, float("nan")], higher=True) == {1, 2}
    assert best_indices([0.3, 0.1, 0.2], higher=False) == {1}
    assert best_indices([float("nan")], higher=True) == set()
    assert best_indices([1.0, math.inf], higher=True) == {1}


def _brute_front(points, higher):
    s = 1 if higher else -1
    out = []
    for i, (r, q) in enumerate(points):
        if math.isnan(r) or math.isnan(q):
            continue
        if not any(
            j != i
            and not math.isnan(r2)
            and not math.isnan(q2)
            and r2 <= r
            and s * q2 >= s * q
            and (r2 < r or s * q2 > s * q)
            for j, (r2, q2) in enumerate(points)
        ):
            out.append(i)
    return sorted(out, key=lambda i: points[i][0])


@pytest.mark.parametrize("higher", [True, False])
def test_pareto_front_matches_brute_force(higher):
    rng = np.random.default_rng(9)
    for _ in range(20):
        pts = [(float(r), float(q)) for r, q in rng.uniform(0, 1, size=(12, 2)).round(1)]
        pts.append((math.nan, 0.5))
        assert pareto_front(pts, higher_quality=higher) == _brute_front(pts, higher)
    # hand case: (fast, bad), (slow, good) both on the front; (slow, bad) dominated
    assert pareto_front([(0.1, 20.0), (1.0, 30.0), (1.0, 25.0)]) == [0, 1]
