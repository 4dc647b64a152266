"""Click command ``lode-bench analyze``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from lode_bench.cli.base import EXIT_SOME_FAILED, Command
from lode_bench.cli.options import READ_SPLIT_HELP, quiet_option, split_option, workers_option

__all__ = ["analyze_command"]


@click.command("analyze", cls=Command)
@click.argument("datasets", nargs=-1, required=True, metavar="[LABEL=]DATASET...")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (CSV, summary.json, figures).",
)
@split_option(READ_SPLIT_HELP, default=None)
@click.option(
    "--limit",
    type=click.IntRange(1),
    default=None,
    help="Only the first N samples of each dataset.",
)
@click.option(
    "--ksize",
    type=click.IntRange(3),
    default=31,
    show_default=True,
    help="Odd kernel side in px (largest measurable blur).",
)
@click.option(
    "--patch",
    type=click.IntRange(16),
    default=128,
    show_default=True,
    help="Patch side in px for the per-patch kernels.",
)
@click.option(
    "--no-blind",
    is_flag=True,
    help="Skip the blind extent estimate on paired sets (blur-only sets keep it).",
)
@workers_option("Threads (default: CPU cores).")
@quiet_option()
def analyze_command(
    datasets: tuple[str, ...],
    out: Path,
    split: str | None,
    limit: int | None,
    ksize: int,
    patch: int,
    no_blind: bool,
    workers: int | None,
    quiet: bool,
) -> None:
    """Blur-pattern statistics of DATASETs (gopro:PATH, folder:PATH, a manifest folder...;
    prefix LABEL= to name one in the outputs).

    Per sample: blur kernel by regularised least squares between sharp and blurry (paired
    sets), its extent/direction/anisotropy/non-linearity, blurred-area fraction at DIS-flow
    thresholds 0-5 px, saturated fraction and noise level; blind estimates are marked
    'estimated'. Exits 1 when some samples failed, 2 on bad input.
    """
    from lode_bench.analyze.dataset import analyze_datasets
    from lode_bench.analyze.sample import AnalyzeSettings

    if ksize % 2 == 0:
        raise click.BadParameter(f"must be odd, got {ksize}", param_hint="--ksize")
    settings = AnalyzeSettings(ksize=ksize, patch=patch, blind=not no_blind)
    progress = not quiet and not os.environ.get("LODE_BENCH_NO_PROGRESS")
    analyses = analyze_datasets(
        list(datasets),
        out,
        settings=settings,
        split=split,
        limit=limit,
        workers=workers,
        progress=progress,
    )
    failed = 0
    for a in analyses:
        s = a.summary()
        failed += s["n_error"]
        ext = (
            s["extent_px_median"]
            if s["extent_px_median"] is not None
            else s["extent_blind_px_median"]
        )
        div = s["diversity"]["diversity_bits"]
        click.echo(
            f"{a.label}: {s['n_ok']}/{s['n_samples']} samples, median extent "
            f"{'n/a' if ext is None else f'{ext:.1f} px'}"
            f"{' (estimated)' if s['extent_px_median'] is None and ext is not None else ''}, "
            f"diversity {'n/a' if div is None or div != div else f'{div:.2f} bits'}"
        )
        for r in a.rows:
            if r["status"] != "ok":
                click.echo(f"  failed {r['sample_id']}: {r['error']}", err=True)
    click.echo(f"-> {out / 'samples.csv'}, {out / 'comparison.png'}")
    if failed:
        sys.exit(EXIT_SOME_FAILED)
