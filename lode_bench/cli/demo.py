"""``lode-bench demo``: the whole pipeline on the built-in samples, no download needed."""

from __future__ import annotations

from pathlib import Path

import click

from lode_bench.cli.base import Command
from lode_bench.cli.options import quiet_option, size_option, workers_option


@click.command("demo", cls=Command)
@click.option(
    "--out",
    "out",
    default="lode-bench-demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder.",
)
@click.option(
    "--samples",
    "n_samples",
    default=8,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Samples per blur kind.",
)
@size_option(
    "Image size, height x width (32 to 2048 px a side).",
    default="240x320",
    minimum=32,
    maximum=2048,
)
@click.option("--seed", default=0, show_default=True, type=int, help="Synthesis seed.")
@workers_option("Scoring workers (default: CPU cores).")
@quiet_option()
def demo_command(
    out: Path, n_samples: int, size: tuple[int, int], seed: int, workers: int | None, quiet: bool
) -> None:
    """Build a small local+global blur dataset, run baselines, write the report and sites.

    Exit status: 0 done; 2 for a usage or input error (one line).
    """
    from lode_bench.demo import run_demo
    from lode_bench.report.tables import to_markdown

    res = run_demo(
        out,
        n_samples=n_samples,
        size=size,
        seed=seed,
        workers=workers,
        echo=click.echo,
        progress=not quiet,
    )
    for t in res.summaries:
        click.echo(f"\n{t.title}\n{to_markdown(t)}")
