"""Crop selection against brute force; grids and plots survive hostile labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lode_bench.errors import ShapeMismatchError
from lode_bench.io.images import read_image
from lode_bench.report import plots
from lode_bench.report.stats import Interval
from lode_bench.report.summary import MethodRow, SummaryTable
from lode_bench.report.visuals import Box, _argmax_window, choose_crop, comparison_grid


def _brute_argmax(energy, h, w):
    best, arg = -1.0, None
    for y in range(energy.shape[0] - h + 1):
        for x in range(energy.shape[1] - w + 1):
            s = energy[y : y + h, x : x + w].sum()
            if s > best + 1e-9:
                best, arg = s, (y, x)
    return arg


def test_window_search_matches_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(10):
        e = rng.random((23, 31))
        h, w = int(rng.integers(1, 23)), int(rng.integers(1, 31))
        assert _argmax_window(e, h, w) == _brute_argmax(e, h, w)


def test_choose_crop_finds_the_blurred_patch_and_respects_the_mask():
    sharp = np.full((60, 80, 3), 100, np.uint8)
    blur = sharp.copy()
    blur[10:20, 50:62] = 200  # strongest difference
    blur[40:50, 5:15] = 150  # weaker one, inside the mask
    box = choose_crop(blur, sharp, size=12)
    energy = np.abs(blur.astype(int) - sharp.astype(int)).mean(axis=2)
    assert (box.y, box.x) == _brute_argmax(energy, 12, 12) == (8, 50)
    assert (box.h, box.w) == (12, 12)
    mask = np.zeros((60, 80), bool)
    mask[35:55, 0:20] = True
    mbox = choose_crop(blur, sharp, size=10, mask=mask)
    assert (mbox.y, mbox.x) == (40, 5)
    big = choose_crop(blur, sharp, size=500)
    assert (big.h, big.w) == (60, 80)
    with pytest.raises(ShapeMismatchError):
        choose_crop(blur, sharp[:, :10])


def _table(names):
    rows = [
        MethodRow(
            n, 3, 0, {"PSNR": Interval(25.0 + i, 24.5 + i, 25.5 + i, 3)}, runtime_s=0.1 * (i + 1)
        )
        for i, n in enumerate(names)
    ]
    return SummaryTable("d$et", "h", "p", "1", ["PSNR"], {"PSNR": True}, rows, 3)


def test_plots_render_with_mathtext_hostile_names():
    names = ["$\\frac{", "a$b", "<script>", "ok"]
    t = _table(names)
    frame = pd.DataFrame(
        [
            {
                "model": n,
                "dataset_hash": "h",
                "protocol": "p",
                "protocol_version": "1",
                "status": "ok",
                "image_id": str(k),
                "PSNR": 25.0 + k,
            }
            for n in names
            for k in range(3)
        ]
    )
    for png in (
        plots.metric_bars(t, "PSNR"),
        plots.pareto_plot(t, "PSNR"),
        plots.distribution_plot(frame, t, "PSNR"),
    ):
        assert png.startswith(b"\x89PNG")
    gains = pd.DataFrame(
        {
            "model": names,
            "image_id": ["1"] * 4,
            "value": [1.0] * 4,
            "baseline": [0.0] * 4,
            "gain": [1.0, 2.0, -1.0, 0.5],
            "mask_coverage": [0.1, 0.2, 0.3, 0.4],
        }
    )
    assert plots.gain_vs_coverage_plot(gains, "PSNR").startswith(b"\x89PNG")
    mat = pd.DataFrame(
        [[30.0, np.nan], [np.inf, 25.0]], index=["$x [train: a]", "y"], columns=["a", "b$"]
    )
    assert plots.heatmap_plot(mat, metric="PSNR").startswith(b"\x89PNG")


def test_comparison_grid_draws_every_panel(tmp_path):
    rng = np.random.default_rng(1)
    imgs = [(f"m{i}", rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)) for i in range(5)]
    png = comparison_grid(imgs, Box(5, 5, 30, 40), Box(10, 10, 8, 10), title="t", columns=3)
    p = tmp_path / "g.png"
    p.write_bytes(png)
    img = read_image(p)
    assert img.shape[1] > img.shape[0]  # 3 columns, 2 rows
    with pytest.raises(ShapeMismatchError):
        comparison_grid([("a", imgs[0][1]), ("b", imgs[1][1][:10])], Box(0, 0, 5, 5))
