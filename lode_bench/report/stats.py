"""Summary statistics for reports: means with percentile-bootstrap confidence intervals.

The dataset score is the **mean of per-image scores** (the field's rule). Its uncertainty
is a percentile bootstrap interval: resample the per-image values with replacement
``n_resamples`` times, take each resample's mean, and report the ``(1 - c)/2`` and
``(1 + c)/2`` quantiles of those means (c = confidence, 0.95 by default). The random
generator is seeded, so a report is reproducible byte for byte.

Infinite values (PSNR of an output identical to its target) are kept: the mean is then
``inf`` and the interval bounds come from order statistics of the resampled means, which
stay well defined with infinities. NaN values (failed images) are excluded and counted
separately by the callers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Columns whose smaller values are better when no metric metadata is available.
_LOWER_IS_BETTER_WORDS = (
    "lpips",
    "niqe",
    "brisque",
    "ilniqe",
    "pi",
    "mse",
    "mae",
    "runtime",
    "error",
    "dists",
    "fid",
)


@dataclass(frozen=True)
class Interval:
    """A mean and its bootstrap confidence interval.

    Attributes:
        mean: mean of the finite-or-infinite values (NaN when there are none).
        low: lower bound of the interval.
        high: upper bound of the interval.
        n: number of values used (NaNs excluded).
    """

    mean: float
    low: float
    high: float
    n: int


def bootstrap_means(
    values: np.ndarray, *, n_resamples: int = 2000, seed: int = 0, chunk: int = 4_000_000
) -> np.ndarray:
    """Means of ``n_resamples`` resamples (with replacement) of ``values``.

    The resample indices are drawn as ``rng.integers(0, n, size=(n_resamples, n))`` from
    ``numpy.random.default_rng(seed)`` (drawn in row blocks to bound memory; the blocks
    consume the generator in the same order as one big draw).

    Args:
        values: 1-D float array without NaN (may contain ``inf``).
        n_resamples: number of bootstrap resamples.
        seed: generator seed.
        chunk: largest number of indices drawn at once.

    Returns:
        float64 array of shape ``(n_resamples,)``.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    n = x.size
    if n == 0:
        return np.full(n_resamples, math.nan)
    rng = np.random.default_rng(seed)
    rows = max(1, chunk // n)
    out = np.empty(n_resamples, dtype=np.float64)
    start = 0
    while start < n_resamples:
        stop = min(n_resamples, start + rows)
        idx = rng.integers(0, n, size=(stop - start, n))
        out[start:stop] = x[idx].mean(axis=1)
        start = stop
    return out


def bootstrap_ci(
    values: np.ndarray | list[float],
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """Mean of ``values`` with a percentile-bootstrap confidence interval.

    Args:
        values: per-image scores; NaN entries are dropped.
        confidence: coverage of the interval, in (0, 1).
        n_resamples: bootstrap resamples.
        seed: generator seed (fixed so reports are reproducible).

    Returns:
        :class:`Interval`; with one value the interval is that value; with none, all NaN.

    Example:
        >>> iv = bootstrap_ci([30.0, 31.0, 29.5, 30.5])
        >>> round(iv.mean, 3), iv.low <= iv.mean <= iv.high
        (30.25, True)
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[~np.isnan(x)]
    n = int(x.size)
    if n == 0:
        return Interval(math.nan, math.nan, math.nan, 0)
    mean = float(np.mean(x))
    if n == 1 or np.all(x == x[0]):
        return Interval(mean, mean, mean, n)
    means = bootstrap_means(x, n_resamples=n_resamples, seed=seed)
    q = [(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0]
    if np.all(np.isfinite(means)):
        low, high = np.quantile(means, q, method="linear")
    else:
        low, high = np.quantile(means, q, method="nearest")
    return Interval(mean, float(low), float(high), n)


def fallback_higher_is_better(column: str) -> bool:
    """Direction of a metric column from its name (PSNR/SSIM up; LPIPS, NIQE, runtime down)."""
    words = column.lower().replace("-", "_").split("_")
    return not any(w in _LOWER_IS_BETTER_WORDS for w in words)


def higher_is_better(column: str, protocol: str | None = None) -> bool:
    """Direction of ``column``: from the named protocol's metric metadata when it can be
    looked up, otherwise from :func:`fallback_higher_is_better`."""
    if protocol:
        try:
            from lode_bench.metrics.protocols import get_protocol

            return bool(get_protocol(protocol).higher_is_better(column))
        except Exception:  # noqa: BLE001 - unknown protocol/column or metrics not importable
            pass
    return fallback_higher_is_better(column)


def protocol_columns(protocol: str | None) -> list[str]:
    """The protocol's metric columns in its own order ([] when it cannot be looked up)."""
    if not protocol:
        return []
    try:
        from lode_bench.metrics.protocols import get_protocol

        return list(get_protocol(protocol).columns)
    except Exception:  # noqa: BLE001
        return []


def best_indices(values: list[float], higher: bool) -> set[int]:
    """Indices of the best (ties included) among finite-or-infinite, non-NaN values."""
    finite = [(i, v) for i, v in enumerate(values) if v is not None and not math.isnan(v)]
    if not finite:
        return set()
    target = max(v for _, v in finite) if higher else min(v for _, v in finite)
    return {i for i, v in finite if v == target}


def pareto_front(points: list[tuple[float, float]], *, higher_quality: bool = True) -> list[int]:
    """Indices of the points not dominated in (runtime lower, quality better).

    Args:
        points: ``(runtime, quality)`` pairs; NaN entries are never on the front.
        higher_quality: whether larger quality values are better.

    Returns:
        Indices of the front, sorted by runtime.
    """
    sign = 1.0 if higher_quality else -1.0
    ok = [
        (i, r, sign * q) for i, (r, q) in enumerate(points) if not (math.isnan(r) or math.isnan(q))
    ]
    front = []
    for i, r, q in ok:
        dominated = any((r2 <= r and q2 >= q) and (r2 < r or q2 > q) for _, r2, q2 in ok)
        if not dominated:
            front.append((r, i))
    return [i for _, i in sorted(front)]
