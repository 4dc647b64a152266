"""Rank aggregation on small tables whose ranks are derived by hand in the comments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lode_bench.report.ranking import (
    DatasetScores,
    aggregate_ranks,
    dataset_ranks,
    rank_values,
    scores_from_frame,
)

NAN = math.nan


def test_rank_direction_higher_and_lower() -> None:
    # PSNR-like (higher better): 31 > 30 > 29 -> ranks 2, 1, 3
    assert rank_values(np.array([30.0, 31.0, 29.0]), True).tolist() == [2.0, 1.0, 3.0]
    # LPIPS-like (lower better): 0.1 best, 0.3 worst -> ranks 2, 3, 1
    assert rank_values(np.array([0.2, 0.3, 0.1]), False).tolist() == [2.0, 3.0, 1.0]


def test_ties_share_mean_rank() -> None:
    # 31, 31 tie for places 1-2 -> 1.5 each; 30 third; three-way tie of 5s -> 2 each
    assert rank_values(np.array([31.0, 30.0, 31.0]), True).tolist() == [1.5, 3.0, 1.5]
    assert rank_values(np.array([5.0, 5.0, 5.0]), False).tolist() == [2.0, 2.0, 2.0]
    # infinite PSNR is the best value; two infinities tie
    assert rank_values(np.array([math.inf, 40.0, math.inf]), True).tolist() == [1.5, 3.0, 1.5]


def test_missing_last_and_skip() -> None:
    v = np.array([NAN, 30.0, NAN, 32.0])
    # last: 32 -> 1, 30 -> 2, the two missing share places 3-4 -> 3.5
    assert rank_values(v, True, missing="last").tolist() == [3.5, 2.0, 3.5, 1.0]
    # skip: missing get no rank; the others ranked among themselves
    r = rank_values(v, True, missing="skip")
    assert np.isnan(r[0]) and np.isnan(r[2]) and r[1] == 2.0 and r[3] == 1.0
    with pytest.raises(ValueError, match="missing"):
        rank_values(v, True, missing="worst")  # type: ignore[arg-type]


def test_dataset_mean_rank_hand_table() -> None:
    # methods A, B, C; metrics PSNR (up), SSIM (up), LPIPS (down)
    # PSNR  30, 31, 29   -> 2, 1, 3
    # SSIM  .90, .90, .80 -> 1.5, 1.5, 3
    # LPIPS .20, .25, NaN -> 1, 2, 3 (missing last)
    # means: A (2+1.5+1)/3 = 1.5, B (1+1.5+2)/3 = 1.5, C 3
    means = np.array([[30, 31, 29], [0.9, 0.9, 0.8], [0.2, 0.25, NAN]])
    ranks, mean = dataset_ranks(means, [True, True, False])
    assert ranks.tolist() == [[2, 1, 3], [1.5, 1.5, 3], [1, 2, 3]]
    assert mean.tolist() == pytest.approx([1.5, 1.5, 3.0])
    # skip rule: C's LPIPS unranked, C's mean over PSNR and SSIM = 3
    _, mean_skip = dataset_ranks(means, [True, True, False], missing="skip")
    assert mean_skip.tolist() == pytest.approx([1.5, 1.5, 3.0])
    # a metric nobody has is dropped, not counted as a tie
    means2 = np.vstack([means[:1], [[NAN, NAN, NAN]]])
    r2, m2 = dataset_ranks(means2, [True, False])
    assert np.isnan(r2[1]).all() and m2.tolist() == [2.0, 1.0, 3.0]


def _ds(
    name: str,
    table: dict[str, dict[str, list[float]]],
    methods: list[str],
    directions: dict[str, bool],
) -> DatasetScores:
    frame = {
        k: {m: {f"img{i}": v for i, v in enumerate(vals)} for m, vals in per.items()}
        for k, per in table.items()
    }
    return scores_from_frame(name, frame, methods, directions)


def test_aggregate_across_datasets_hand_table() -> None:
    methods = ["A", "B", "C"]
    dirs = {"PSNR": True, "NIQE": False}
    # GoPro (PSNR only): means A 31, B 30, C 29 -> ranks 1, 2, 3
    gopro = _ds("gopro", {"PSNR": {"A": [31, 31], "B": [30, 30], "C": [29, 29]}}, methods, dirs)
    # RWBI (NIQE only, lower better): A 5, B 4, C absent -> 2, 1, 3 (missing last)
    rwbi = _ds("rwbi", {"NIQE": {"A": [5, 5, 5], "B": [4, 4, 4]}}, methods, dirs)
    res = aggregate_ranks([gopro, rwbi], methods, n_resamples=200, seed=1)
    assert res.dataset_rank.tolist() == [[1, 2, 3], [2, 1, 3]]
    # overall: A (1+2)/2 = 1.5, B (2+1)/2 = 1.5, C 3
    assert res.overall_rank.tolist() == [1.5, 1.5, 3.0]
    # constant per-image values: every resample gives the same ranks -> zero-width intervals
    assert res.overall_ci[:, 0].tolist() == res.overall_ci[:, 1].tolist() == [1.5, 1.5, 3.0]
    assert res.p_best.tolist() == pytest.approx([0.5, 0.5, 0.0])
    assert [res.methods[i] for i in res.order()] == ["A", "B", "C"]


def test_bootstrap_is_paired_and_reflects_uncertainty() -> None:
    methods = ["A", "B"]
    rng = np.random.default_rng(0)
    base = rng.normal(30, 3, size=40)
    # A beats B by 0.5 dB on every image: a paired resample never flips the order,
    # although the per-image spread (3 dB) is far larger than the gap
    clear = _ds("d", {"PSNR": {"A": list(base + 0.5), "B": list(base)}}, methods, {"PSNR": True})
    res = aggregate_ranks([clear], methods, n_resamples=300, seed=0)
    assert res.dataset_ci[0].tolist() == [[1, 1], [2, 2]]
    assert res.p_best.tolist() == [1.0, 0.0]
    # noisy gap: A better on average but not on every image -> interval spans both ranks
    gap = rng.normal(0.0, 2.0, 40)
    gap += 0.1 - gap.mean()  # mean gap 0.1 dB, standard error ~0.3 dB
    noisy = _ds("d", {"PSNR": {"A": list(base + gap), "B": list(base)}}, methods, {"PSNR": True})
    res2 = aggregate_ranks([noisy], methods, n_resamples=300, seed=0)
    assert res2.dataset_rank[0].tolist() == [1.0, 2.0]
    assert res2.dataset_ci[0, 0].tolist() == [1.0, 2.0]
    assert 0.0 < res2.p_best[0] < 1.0 and res2.p_best.sum() == pytest.approx(1.0)
    # reproducible with the same seed
    again = aggregate_ranks([noisy], methods, n_resamples=300, seed=0)
    assert np.array_equal(again.p_best, res2.p_best)


def test_images_missing_for_one_method_use_the_rest() -> None:
    methods = ["A", "B"]
    # A scored on img0 only (40); B on both (35, 45) -> means 40 vs 40 -> tie 1.5 / 1.5
    d = scores_from_frame(
        "d",
        {"PSNR": {"A": {"img0": 40.0}, "B": {"img0": 35.0, "img1": 45.0}}},
        methods,
        {"PSNR": True},
    )
    res = aggregate_ranks([d], methods, n_resamples=0)
    assert res.dataset_rank.tolist() == [[1.5, 1.5]]
    assert np.isnan(res.overall_ci).all()


def test_shape_errors() -> None:
    bad = DatasetScores("x", ["PSNR"], [True], np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match="does not match"):
        aggregate_ranks([bad], ["A", "B"])
