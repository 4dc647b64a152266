"""``lode-bench demo``: the whole pipeline on the built-in samples, no download needed."""

from __future__ import annotations

from pathlib import Path

import click

from lode_bench.errors import LodeBenchError


@click.command("demo")
@click.option("--out", "out", default="lode-bench-demo", show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
@click.option("--samples", "n_samples", default=8, show_default=True, type=click.IntRange(1, 64),
              help="Samples per blur kind.")
@click.option("--size", nargs=2, type=click.IntRange(32, 2048), default=(240, 320),
              show_default=True, metavar="H W", help="Image size.")
@click.option("--seed", default=0, show_default=True, type=int, help="Synthesis seed.")
@click.option("--workers", default=None, type=click.IntRange(1), help="Scoring processes.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def demo_command(out: Path, n_samples: int, size: tuple[int, int], seed: int,
                 workers: int | None, quiet: bool) -> None:
    """Build a small local+global blur dataset, run baselines, write the report and sites."""
    from lode_bench.demo import run_demo

    try:
        res = run_demo(out, n_samples=n_samples, size=(size[0], size[1]), seed=seed, workers=workers, echo=click.echo,
                       progress=not quiet)
    except LodeBenchError as exc:
        raise click.ClickException(str(exc)) from exc
    from lode_bench.report.tables import to_markdown

    for t in res.summaries:
        click.echo(f"\n{t.title}\n{to_markdown(t)}")
