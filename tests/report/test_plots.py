"""Plots: units on the axes, point labels inside the frame, a Pareto front through its
members, best/worst rows labelled; runtimes of identity and precomputed outputs never
marked fastest (and "–" for the latter)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from lode_bench.bench.store import ResultRow, ResultsStore
from lode_bench.report import builder, plots, tables
from lode_bench.report.summary import summarize
from lode_bench.report.visuals import Box, best_worst_figure

#: model -> (card, mean PSNR, runtime s); "mine" is a folder of precomputed outputs whose
#: recorded time (a file read) would otherwise make it the fastest and best method.
MODELS = {
    "identity": ("identity", 20.0, 0.001),
    "fast-net": ("nafnet", 26.0, 0.05),
    "slow-net": ("restormer", 27.5, 1.2),
    "dominated": ("mprnet", 25.0, 0.5),
    "mine": ("folder", 30.0, 0.0001),
}


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    store = tmp_path / "r.sqlite"
    with ResultsStore(store) as st:
        for m, (card, mu, rt) in MODELS.items():
            st.start_run(
                f"run-{m}",
                model=m,
                dataset="set",
                dataset_hash="h" * 64,
                protocol="gopro",
                protocol_version="1",
                extra={"model_card": {"name": card, "kind": "x"}},
            )
            st.put(
                [
                    ResultRow(
                        m,
                        "set",
                        "h" * 64,
                        "gopro",
                        "1",
                        f"img{i}",
                        metrics={
                            "PSNR": float(mu + 0.1 * rng.normal()),
                            "SSIM": float(0.8 + 0.01 * rng.normal()),
                        },
                        runtime_s=rt,
                        run_id=f"run-{m}",
                    )
                    for i in range(6)
                ]
            )
        results, runs = st.results_frame(), st.runs_frame()
    (t,) = summarize(results, runs, n_resamples=100)
    return t, results


@pytest.fixture
def figures(monkeypatch):
    made = []
    monkeypatch.setattr(plots, "figure_png", lambda fig: made.append(fig) or b"")
    return made


def test_axes_carry_units(table, figures):
    t, results = table
    plots.metric_bars(t, "PSNR")
    plots.distribution_plot(results, t, "PSNR")
    plots.pareto_plot(t, "PSNR")
    plots.metric_bars(t, "SSIM")
    gains = pd.DataFrame({"model": ["a", "a"], "gain": [1.0, 2.0], "mask_coverage": [0.1, 0.2]})
    plots.gain_vs_coverage_plot(gains, "PSNR")
    bars, dist, pareto, ssim, gain = (f.axes[0] for f in figures)
    assert bars.get_ylabel() == dist.get_ylabel() == pareto.get_ylabel() == "PSNR (dB) ↑"
    assert pareto.get_xlabel() == "runtime per image (s) ↓"
    assert ssim.get_ylabel() == "SSIM ↑"
    assert gain.get_ylabel() == "PSNR gain over identity (dB)"
    plots.heatmap_plot(pd.DataFrame([[20.0]], index=["m"], columns=["set"]), metric="PSNR")
    assert figures[-1].axes[1].get_ylabel() == "PSNR (dB)"  # the colour bar


def test_pareto_front_is_a_line_through_its_members(table):
    t, _ = table
    fig = plots.pareto_figure(t, "PSNR")
    ax = fig.axes[0]
    (front,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("Pareto front")]
    runtimes = {r.model: r.runtime_s for r in t.rows}
    # fast-net and slow-net only: identity is a reference, "mine" is not timed, and
    # "dominated" (0.5 s, 25 dB) is slower and worse than fast-net (0.05 s, 26 dB)
    assert list(front.get_xdata()) == [runtimes["fast-net"], runtimes["slow-net"]]
    labels = sorted(tx.get_text() for tx in ax.texts)
    assert labels == ["dominated", "fast-net", "identity", "slow-net"]
    assert "not timed, precomputed: mine" in ax.get_title()


def test_point_labels_stay_inside_the_frame(table):
    t, _ = table
    fig = plots.pareto_figure(t, "PSNR")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    ax = fig.axes[0]
    frame = ax.get_window_extent(renderer)
    assert ax.texts
    for tx in ax.texts:
        box = tx.get_window_extent(renderer)
        assert frame.x0 - 1 <= box.x0 and box.x1 <= frame.x1 + 1, tx.get_text()
        assert frame.y0 - 1 <= box.y0 and box.y1 <= frame.y1 + 1, tx.get_text()


def test_runtime_best_skips_identity_and_precomputed_outputs(table):
    t, _ = table
    idx = {r.model: i for i, r in enumerate(t.rows)}
    assert t.best("runtime_s") == {idx["fast-net"]}
    md = tables.to_markdown(t)
    line = {ln.split(" | ")[0].strip("| "): ln for ln in md.splitlines()}
    assert "| **0.05** |" in line["fast-net"]
    assert "**0.001**" not in line["identity"] and "| 0.001 |" in line["identity"]
    assert "| – |" in line["mine"] and "0.0001" not in line["mine"]
    html = tables.to_html(t)
    assert html.count('<td class="best" data-sort="0.0') == 1  # fast-net's runtime only
    assert '<td class="best" data-sort="0.00' not in html
    assert "1e-04" not in tables.to_latex(t)
    (mine_csv,) = [
        r for r in tables.to_csv(t).splitlines() if ",mine," in r or r.startswith("mine,")
    ]
    assert "0.0001" not in mine_csv
    doc = builder.summary_dict(t)
    assert {r["model"]: r["runtime_s"] for r in doc["rows"]}["mine"] is None
    json.dumps(doc)


def test_best_and_worst_rows_are_labelled():
    img = np.zeros((16, 16, 3), np.uint8)
    items = [
        (f"img{i}", g, [("blurry input", img), ("m", img)], Box(0, 0, 16, 16))
        for i, g in enumerate((2.5, 1.0, -0.5))
    ]
    fig = best_worst_figure(items, metric="PSNR", labels=["best 1", "best 2", "worst 1"])
    ylabels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert ylabels == [
        "best 1: img0\nPSNR gain +2.50 dB",
        "best 2: img1\nPSNR gain +1.00 dB",
        "worst 1: img2\nPSNR gain -0.50 dB",
    ]
    with pytest.raises(ValueError, match="2 labels for 3 rows"):
        best_worst_figure(items, metric="PSNR", labels=["best 1", "worst 1"])


def test_report_labels_best_and_worst_images(bench, tmp_path, monkeypatch):
    seen = []
    real = builder.best_worst_grid

    def spy(items, **kw):
        seen.append((len(items), kw.get("labels")))
        return real(items, **kw)

    monkeypatch.setattr(builder, "best_worst_grid", spy)
    builder.build_report(
        bench.store, tmp_path / "r", n_resamples=200, progress=False, outputs=bench.outputs
    )
    assert seen
    for n, labels in seen:
        assert labels is not None and len(labels) == n
        assert labels[0] == "best 1"
        assert all(x.split()[0] in ("best", "worst") for x in labels)
