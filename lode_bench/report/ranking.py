"""Rank aggregation across metrics and datasets, with a bootstrap over images.

GLOWDeblur-style summary of a methods × datasets × metrics table:

1. **Per dataset and metric**, methods are ranked (1 = best); the direction comes from the
   metric's ``higher_is_better``. Ties share the mean of the ranks they span (two methods
   tied for first both get 1.5).
2. **Per dataset**, a method's rank is the mean of its metric ranks.
3. **Across datasets**, a method's rank is the mean of its per-dataset ranks.

Missing values (a method without a score for a metric on a dataset) follow one of two
stated rules, ``missing=``:

* ``"last"`` (default): missing values are worse than every present value and tie among
  themselves, so they share the trailing ranks. A method that skips a hard dataset
  cannot profit from skipping it.
* ``"skip"``: a missing value gets no rank; the method's mean is taken over the ranks it
  has (the others are ranked among themselves).

A metric that no method has on a dataset is dropped there. Infinite values are ordinary
values (``inf`` PSNR is the best possible; two ``inf`` tie).

The uncertainty of each rank is a paired bootstrap over images: one resample of a
dataset's image ids (with replacement) is applied to every method and metric of that
dataset, the per-image values are averaged over the resample (NaN entries ignored),
and the whole aggregation is recomputed; datasets are resampled independently. The
percentile interval of the resampled ranks is reported, and the frequency with which
each method comes first.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

MissingRule = Literal["last", "skip"]


def rank_values(
    values: np.ndarray, higher_is_better: bool, *, missing: MissingRule = "last"
) -> np.ndarray:
    """Ranks (1 = best) of the last axis of ``values``; ties share the mean rank.

    Args:
        values: (..., M) scores of M methods; NaN = missing.
        higher_is_better: direction of the metric.
        missing: ``"last"`` (missing share the trailing ranks) or ``"skip"`` (missing
            get NaN and the present values are ranked among themselves).

    Returns:
        float64 array of the same shape; ranks in [1, M].

    Example:
        >>> rank_values(np.array([30.0, 31.0, 31.0, np.nan]), True).tolist()
        [3.0, 1.5, 1.5, 4.0]
    """
    if missing not in ("last", "skip"):
        raise ValueError(f"missing must be 'last' or 'skip', got {missing!r}")
    x = np.asarray(values, dtype=np.float64)
    key = -x if higher_is_better else x  # smaller key is better
    present = ~np.isnan(x)
    ki, kj = key[..., :, None], key[..., None, :]
    pi, pj = present[..., :, None], present[..., None, :]
    with np.errstate(invalid="ignore"):
        both = pi & pj
        better = both & (kj < ki)  # better[..., i, j]: method j beats method i
        tie = both & (kj == ki)
    if missing == "last":
        better = better | (pj & ~pi)
        tie = tie | (~pi & ~pj)
    n_better = better.sum(axis=-1)
    n_tie = tie.sum(axis=-1) - np.where(present | (missing == "last"), 1, 0)  # minus itself
    ranks = 1.0 + n_better + 0.5 * n_tie
    if missing == "skip":
        ranks = np.where(present, ranks, np.nan)
    return ranks


def _nanmean_last(a: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(a)
    n = ok.sum(axis=-1)
    s = np.where(ok, a, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def dataset_ranks(
    means: np.ndarray, directions: Sequence[bool], *, missing: MissingRule = "last"
) -> tuple[np.ndarray, np.ndarray]:
    """Metric ranks and their mean for one dataset.

    Args:
        means: (..., K, M) mean score of metric k for method m (NaN = missing).
        directions: K booleans, ``higher_is_better`` per metric.
        missing: the missing-value rule (see module docstring).

    Returns:
        ``(metric_ranks, mean_rank)``: (..., K, M) ranks (a metric that no method has is
        all NaN) and the (..., M) mean over the metrics (NaN where a method has none).
    """
    x = np.asarray(means, dtype=np.float64)
    if x.shape[-2] != len(directions):
        raise ValueError(f"{x.shape[-2]} metric rows but {len(directions)} directions")
    ranks = np.full(x.shape, np.nan)
    for k, hib in enumerate(directions):
        v = x[..., k, :]
        r = rank_values(v, bool(hib), missing=missing)
        ranks[..., k, :] = np.where(np.isnan(v).all(axis=-1, keepdims=True), np.nan, r)
    return ranks, _nanmean_last(np.moveaxis(ranks, -2, -1))


@dataclass
class DatasetScores:
    """Per-image scores of several methods on one dataset.

    Attributes:
        name: dataset label.
        metrics: metric names (K).
        directions: ``higher_is_better`` per metric (K).
        values: (K, M, N) per-image values for M methods and N images; NaN = missing.
    """

    name: str
    metrics: list[str]
    directions: list[bool]
    values: np.ndarray

    def means(self, idx: np.ndarray | None = None) -> np.ndarray:
        """(K, M) means over images, or (B, K, M) over the resamples ``idx`` (B, N)."""
        v = self.values
        if idx is None:
            return _nanmean_last(v)
        sub = v[:, :, idx]  # (K, M, B, N)
        return np.moveaxis(_nanmean_last(sub), -1, 0)


@dataclass
class RankResult:
    """Outcome of :func:`aggregate_ranks` (M methods, D datasets).

    Attributes:
        methods: method names (M).
        datasets: dataset labels (D).
        metric_ranks: dataset -> (K, M) rank per metric.
        dataset_rank: (D, M) mean metric rank per dataset.
        overall_rank: (M,) mean over datasets.
        dataset_ci: (D, M, 2) bootstrap percentile interval of ``dataset_rank``.
        overall_ci: (M, 2) bootstrap interval of ``overall_rank``.
        p_best: (M,) fraction of resamples in which the method has the best overall rank
            (ties split evenly).
        missing: the missing-value rule used.
        n_resamples, confidence, seed: bootstrap settings.
    """

    methods: list[str]
    datasets: list[str]
    metric_ranks: dict[str, np.ndarray]
    dataset_rank: np.ndarray
    overall_rank: np.ndarray
    dataset_ci: np.ndarray
    overall_ci: np.ndarray
    p_best: np.ndarray
    missing: MissingRule
    n_resamples: int
    confidence: float
    seed: int
    metrics: dict[str, list[str]] = field(default_factory=dict)

    def order(self) -> list[int]:
        """Method indices, best overall rank first (NaN last, then by name)."""
        return sorted(
            range(len(self.methods)),
            key=lambda i: (
                np.isnan(self.overall_rank[i]),
                np.nan_to_num(self.overall_rank[i], nan=0.0),
                self.methods[i].lower(),
            ),
        )


def aggregate_ranks(
    datasets: Sequence[DatasetScores],
    methods: Sequence[str],
    *,
    missing: MissingRule = "last",
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    chunk: int = 20_000_000,
) -> RankResult:
    """Per-dataset and overall mean ranks with a paired bootstrap over images.

    Args:
        datasets: per-image scores; every ``values`` has M = ``len(methods)`` on axis 1.
        methods: method names.
        missing: missing-value rule (see module docstring).
        n_resamples: bootstrap resamples (0 = no intervals; they are then NaN).
        confidence: interval coverage in (0, 1).
        seed: generator seed (``numpy.random.default_rng(seed)``), so reports reproduce.
        chunk: largest number of gathered values held at once.

    Returns:
        :class:`RankResult`.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    m = len(methods)
    for d in datasets:
        if d.values.ndim != 3 or d.values.shape[1] != m or d.values.shape[0] != len(d.metrics):
            raise ValueError(
                f"dataset {d.name!r}: values shape {d.values.shape} does not match "
                f"{len(d.metrics)} metrics × {m} methods × images"
            )
    metric_ranks: dict[str, np.ndarray] = {}
    drank = np.full((len(datasets), m), np.nan)
    for i, d in enumerate(datasets):
        metric_ranks[d.name], drank[i] = dataset_ranks(d.means(), d.directions, missing=missing)
    overall = _nanmean_last(drank.T)
    dci = np.full((len(datasets), m, 2), np.nan)
    oci = np.full((m, 2), np.nan)
    p_best = np.full(m, np.nan)
    if n_resamples > 0 and datasets:
        rng = np.random.default_rng(seed)
        boot = np.full((n_resamples, len(datasets), m), np.nan)
        for i, d in enumerate(datasets):
            n = d.values.shape[2]
            if n == 0:
                continue
            per = max(1, chunk // max(1, d.values.shape[0] * m * n))
            start = 0
            while start < n_resamples:
                stop = min(n_resamples, start + per)
                idx = rng.integers(0, n, size=(stop - start, n))
                _, boot[start:stop, i] = dataset_ranks(d.means(idx), d.directions, missing=missing)
                start = stop
        q = [(1 - confidence) / 2, (1 + confidence) / 2]
        ob = _nanmean_last(np.moveaxis(boot, 1, 2))  # (B, M) overall rank per resample
        with warnings.catch_warnings():  # all-NaN columns (a method nowhere scored) give NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            dci = np.moveaxis(np.nanquantile(boot, q, axis=0), 0, -1)
            oci = np.moveaxis(np.nanquantile(ob, q, axis=0), 0, -1)
        best = np.nanmin(np.where(np.isnan(ob), np.inf, ob), axis=1, keepdims=True)
        win = (ob == best) & ~np.isnan(ob)
        p_best = (win / np.maximum(win.sum(axis=1, keepdims=True), 1)).mean(axis=0)
    return RankResult(
        methods=list(methods),
        datasets=[d.name for d in datasets],
        metric_ranks=metric_ranks,
        dataset_rank=drank,
        overall_rank=overall,
        dataset_ci=dci,
        overall_ci=oci,
        p_best=p_best,
        missing=missing,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
        metrics={d.name: list(d.metrics) for d in datasets},
    )


def scores_from_frame(
    name: str,
    frame: Mapping[str, Mapping[str, Mapping[str, float]]],
    methods: Sequence[str],
    directions: Mapping[str, bool],
) -> DatasetScores:
    """Build :class:`DatasetScores` from ``{metric: {method: {image_id: value}}}``.

    Images are the union of every id seen; absent entries are NaN.
    """
    metrics = list(frame)
    ids = sorted({i for per in frame.values() for vals in per.values() for i in vals})
    pos = {i: n for n, i in enumerate(ids)}
    vals = np.full((len(metrics), len(methods), len(ids)), np.nan)
    for k, metric in enumerate(metrics):
        for j, method in enumerate(methods):
            for image_id, v in frame[metric].get(method, {}).items():
                vals[k, j, pos[image_id]] = v
    return DatasetScores(
        name=name, metrics=metrics, directions=[bool(directions[c]) for c in metrics], values=vals
    )
