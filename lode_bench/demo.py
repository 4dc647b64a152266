"""``lode-bench demo``: the whole pipeline from nothing but the install.

1. Build a small LODE-style dataset from the built-in sample: a global-blur set (camera
   pan over a photograph, with the exact motion kernel) and a local-blur set (objects
   moving over a static background, with blur masks).
2. Run the identity baseline, classical baselines and a learned model: unsharp masking
   on both sets, Wiener and Richardson–Lucy deconvolution with the **true** kernel on the
   global set (labelled ``[non-blind]``: they are given information a real method never
   has), and ``lode-tiny``, the project's own small network (weights shipped, trained on
   built-in samples of other seeds), run on the CPU through the torch path with tiles.
3. Score with the global protocol (``gopro``) and the local protocol (``lode``: masked
   PSNR_w/SSIM_w over the blurred region).
4. Write the report (tables, plots, visual comparisons) and two leaderboard sites whose
   submissions are exported from the results store and validated.

Everything lands under one folder; a second run resumes (finished samples and stored
results are skipped).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lode_bench.io.atomic import atomic_write_text

GLOBAL_PROTOCOL = "gopro"
LOCAL_PROTOCOL = "lode"
NON_BLIND = ("wiener", "richardson-lucy")
GLOBAL_MODELS = ("identity", "unsharp", "wiener", "richardson-lucy", "lode-tiny")
LOCAL_MODELS = ("identity", "unsharp", "lode-tiny")
# run options per model: the learned model runs on the CPU in 128 px tiles (padding, tiling,
# timing and FLOP counting of the torch path are all exercised at the default size)
RUN_OPTIONS: dict[str, dict[str, Any]] = {"lode-tiny": {"device": "cpu", "tile": 128}}
# torch CPU threads of those runs: a 0.4 M-parameter network gains little from intra-op
# threads, and they compete with the scoring threads (on a busy 2-core machine one thread
# was 20x faster per image than two)
TORCH_THREADS: dict[str, int] = {"lode-tiny": 1}


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch CPU threads (``None``: unchanged), then restore."""
    if n is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class DemoResult:
    """Where the demo wrote its outputs."""

    out_dir: Path
    datasets: dict[str, Path]
    store: Path
    report_index: Path
    sites: dict[str, Path]
    summaries: list[Any] = field(default_factory=list)
    seconds: float = 0.0


def store_label(model: str) -> str:
    """Name under which a demo model is stored (non-blind methods are labelled so)."""
    return f"{model} [non-blind]" if model in NON_BLIND else model


def leaderboard_definition(
    name: str,
    *,
    title: str,
    description: str,
    dataset: str,
    manifest_hash: str,
    image_ids: list[str],
    protocol: str,
    protocol_version: str,
    metrics: list[str],
    ranking: str,
) -> dict[str, Any]:
    """A ``leaderboard.yaml`` document for one dataset version."""
    return {
        "name": name,
        "title": title,
        "description": description,
        "protocol": {"name": protocol, "version": protocol_version},
        "metrics": metrics,
        "ranking": {"metric": ranking},
        "submissions": "submissions",
        "datasets": [
            {"name": dataset, "manifest_hash": manifest_hash, "image_ids": sorted(image_ids)}
        ],
    }


def demo_leaderboards(global_manifest: Any, local_manifest: Any) -> dict[str, dict[str, Any]]:
    """The two leaderboard definitions of the built-in sample (global and LODE-style local)."""
    from lode_bench.metrics.protocols import get_protocol

    g, loc = get_protocol(GLOBAL_PROTOCOL), get_protocol(LOCAL_PROTOCOL)
    return {
        "sample": leaderboard_definition(
            "sample",
            title="Built-in sample: global blur",
            description="Camera-pan blur synthesised from the built-in sample (lode-bench demo "
            "defaults). Scored with the GoPro protocol (PSNR and MATLAB-style RGB SSIM).",
            dataset=global_manifest.name,
            manifest_hash=global_manifest.manifest_hash,
            image_ids=[str(s["id"]) for s in global_manifest.samples],
            protocol=g.name,
            protocol_version=g.version,
            metrics=list(g.columns),
            ranking="PSNR",
        ),
        "lode-local": leaderboard_definition(
            "lode-local",
            title="LODE-style local deblurring (built-in sample)",
            description="Objects moving over a static background, blurred locally "
            "(BladeNet-style synthesis from the built-in sample). Ranked by the masked "
            "PSNR_w over the blurred region; the background must stay intact.",
            dataset=local_manifest.name,
            manifest_hash=local_manifest.manifest_hash,
            image_ids=[str(s["id"]) for s in local_manifest.samples],
            protocol=loc.name,
            protocol_version=loc.version,
            metrics=list(loc.columns),
            ranking="PSNR_w",
        ),
    }


def method_card(model: str) -> dict[str, Any]:
    """Submission method card from the registered model card."""
    from lode_bench.models.loader import ModelSpec

    card = ModelSpec.parse(model).card
    return {
        "name": store_label(model),
        "description": card.description,
        "paper": card.paper,
        "code": "",
        "training_set": card.training_set,
        "non_blind": bool(card.non_blind),
        "licence": card.licence,
    }


def run_demo(
    out_dir: str | Path,
    *,
    n_samples: int = 8,
    size: tuple[int, int] = (240, 320),
    seed: int = 0,
    workers: int | None = None,
    progress: bool = True,
    n_resamples: int = 2000,
    echo: Callable[[str], None] = print,
) -> DemoResult:
    """Build the sample datasets, run the baselines, and write the report and sites.

    Args:
        out_dir: output folder (``datasets/``, ``results.sqlite``, ``outputs/``, ``report/``,
            ``leaderboards/``, ``site/``).
        n_samples: samples per blur kind.
        size: image (H, W).
        seed: synthesis seed.
        workers: scoring processes (default: the runner's choice).
        progress: show progress bars.
        n_resamples: bootstrap resamples of the report.
        echo: where stage messages go.

    Returns:
        A :class:`DemoResult` naming every output.
    """
    from lode_bench.bench.runner import run_benchmark
    from lode_bench.bench.store import ResultsStore
    from lode_bench.report.builder import build_report
    from lode_bench.report.site import build_site
    from lode_bench.report.submission import export_submission
    from lode_bench.synth.builtin_dataset import build_builtin_dataset

    t0 = time.perf_counter()
    out = Path(out_dir)
    roots = {
        "global": out / "datasets" / "lode-sample-global",
        "local": out / "datasets" / "lode-sample-local",
    }
    echo(
        f"[1/4] building the sample datasets ({n_samples} global + {n_samples} local, "
        f"{size[0]}×{size[1]}) in {out / 'datasets'}"
    )
    manifests = {
        k: build_builtin_dataset(
            root,
            kind="global" if k == "global" else "local",
            n_samples=n_samples,
            size=size,
            seed=seed,
            progress=progress,
            name=root.name,
        )
        for k, root in roots.items()
    }
    store = out / "results.sqlite"
    plan = [("global", m, GLOBAL_PROTOCOL) for m in GLOBAL_MODELS] + [
        ("local", m, LOCAL_PROTOCOL) for m in LOCAL_MODELS
    ]
    echo(f"[2/4] running {len(plan)} model × protocol combinations into {store}")
    outputs: dict[str, Path] = {}
    for kind, model, protocol in plan:
        save = out / "outputs" / roots[kind].name / model
        with _torch_threads(TORCH_THREADS.get(model)):
            summary = run_benchmark(
                model,
                str(roots[kind]),
                protocol,
                store,
                save_outputs=save,
                progress=progress,
                workers=workers,
                label=store_label(model),
                **RUN_OPTIONS.get(model, {}),
            )
        outputs[f"{roots[kind].name}/{store_label(model)}"] = save
        means = ", ".join(f"{k} {v:.4g}" for k, v in summary.means.items())
        echo(
            f"      {store_label(model):28s} {roots[kind].name:20s} {protocol:5s} "
            f"scored {summary.n_scored}/{summary.n_total}  {means}"
        )
    _demo_nr(out, roots["global"], store, size, progress, workers, echo)
    echo("[3/4] blur-pattern statistics of both sets and the report")
    from lode_bench.analyze.dataset import analyze_datasets

    analyze_datasets(
        [f"{k}={root}" for k, root in roots.items()],
        out / "analysis",
        workers=workers,
        progress=progress,
    )
    datasets = {m.name: m.root for m in manifests.values()}
    report = build_report(
        store,
        out / "report",
        datasets=datasets,
        outputs=outputs,
        progress=progress,
        n_resamples=n_resamples,
        analysis=[out / "analysis"],
    )
    echo("[4/4] exporting submissions and building the leaderboard sites")
    sites: dict[str, Path] = {}
    boards = demo_leaderboards(manifests["global"], manifests["local"])
    with ResultsStore(store) as st:
        for name, doc in boards.items():
            root = out / "leaderboards" / name
            atomic_write_text(root / "leaderboard.yaml", yaml.safe_dump(doc, sort_keys=False))
            kind = "global" if name == "sample" else "local"
            for model in GLOBAL_MODELS if kind == "global" else LOCAL_MODELS:
                export_submission(
                    st,
                    model=store_label(model),
                    leaderboard=name,
                    method=method_card(model),
                    datasets=[manifests[kind].manifest_hash],
                    protocol=doc["protocol"]["name"],
                    out=root / "submissions" / f"{model}.json",
                )
            site = build_site(root, out / "site" / name, progress=progress, n_resamples=n_resamples)
            if site.rejected:
                echo(
                    f"      warning: {len(site.rejected)} submission(s) rejected on {name}: "
                    + "; ".join(p for v in site.rejected for p in v.problems)
                )
            sites[name] = site.out_dir / "index.html"
    seconds = time.perf_counter() - t0
    echo(f"done in {seconds:.0f} s")
    echo(f"  report:       {report.index}")
    for path in sites.values():
        echo(f"  leaderboard:  {path}")
    return DemoResult(
        out_dir=out,
        datasets=roots,
        store=store,
        report_index=report.index,
        sites=sites,
        summaries=report.tables,
        seconds=seconds,
    )


def _demo_nr(
    out: Path,
    root: Path,
    store: Path,
    size: tuple[int, int],
    progress: bool,
    workers: int | None,
    echo: Callable[[str], None],
) -> None:
    """A no-reference (NIQE) column on the global set where a model file is present; else say how."""
    from lode_bench.bench.runner import run_benchmark
    from lode_bench.metrics.niqe import NIQEModelMissing, find_niqe_model

    try:
        find_niqe_model("live")
    except NIQEModelMissing as exc:
        echo(f"      no NR column (NIQE): {exc}")
        return
    if (size[0] // 96) * (size[1] // 96) < 2:
        echo(
            "      no NR column (NIQE): images need at least two 96×96 blocks (use --size 192x192 or larger)"
        )
        return
    for model in GLOBAL_MODELS:
        summary = run_benchmark(
            model,
            str(root),
            "nr-niqe",
            store,
            progress=progress,
            workers=workers,
            label=store_label(model),
        )
        echo(
            f"      {store_label(model):28s} {root.name:20s} nr-niqe scored "
            f"{summary.n_scored}/{summary.n_total}  NIQE {summary.means.get('NIQE', float('nan')):.4g}"
        )
