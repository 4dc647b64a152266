"""``lode-bench report``: tables, plots and visual comparisons from a results store."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lode_bench.cli.base import Command
from lode_bench.cli.options import quiet_option
from lode_bench.errors import LodeBenchError


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    out = {}
    for v in values:
        key, sep, val = v.partition("=")
        if not sep or not key or not val:
            raise click.BadParameter(f"expected NAME=PATH, got {v!r}", param_hint=option)
        out[key] = val
    return out


def _progress() -> bool:
    return sys.stderr.isatty()


@click.command("report", cls=Command)
@click.option(
    "--store",
    "store",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite results store written by `lode-bench run`.",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (tables, plots, index.html).",
)
@click.option(
    "--confidence",
    default=0.95,
    show_default=True,
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    help="Bootstrap interval coverage.",
)
@click.option(
    "--resamples",
    default=2000,
    show_default=True,
    type=click.IntRange(100),
    help="Bootstrap resamples per mean.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Bootstrap seed.")
@click.option(
    "--baseline",
    default="identity",
    show_default=True,
    help="Model whose per-image scores define the gain (the blurry input).",
)
@click.option("--no-visuals", is_flag=True, help="Skip crop comparisons.")
@click.option(
    "--dataset-root",
    multiple=True,
    metavar="NAME=DIR",
    help="Dataset folder for pictures, where the run table does not name it.",
)
@click.option(
    "--outputs",
    multiple=True,
    metavar="[DATASET/]MODEL=DIR",
    help="Folder of a model's saved outputs (on every dataset, or on DATASET only), "
    "where the run table does not name it.",
)
@click.option(
    "--generalisation/--no-generalisation",
    "generalisation",
    default=None,
    help="Cross-dataset section (wide table, rank aggregation, domain drop); "
    "default: when the store holds two or more datasets.",
)
@click.option(
    "--train-set",
    "train_set",
    multiple=True,
    metavar="MODEL=SET",
    help="Training set of MODEL (overrides the run table and the model card).",
)
@click.option(
    "--rank-missing",
    type=click.Choice(["last", "skip"]),
    default="last",
    show_default=True,
    help="Ranking of a missing value: share the last places, or leave it out.",
)
@click.option(
    "--analysis",
    "analysis",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Output folder of `lode-bench analyze` to include (blur-pattern statistics).",
)
@quiet_option("No progress bars (default: shown on a terminal).")
def report_command(
    store: Path,
    out: Path,
    confidence: float,
    resamples: int,
    seed: int,
    baseline: str,
    no_visuals: bool,
    dataset_root: tuple[str, ...],
    outputs: tuple[str, ...],
    generalisation: bool | None = None,
    train_set: tuple[str, ...] = (),
    rank_missing: str = "last",
    analysis: tuple[Path, ...] = (),
    quiet: bool = False,
) -> None:
    """Tables (Markdown, LaTeX, CSV, HTML), plots and visual comparisons from a store.

    The report covers every run in the store, whichever split it was run on.
    Exit status: 0 done; 2 for a usage or input error (one line).
    """
    from lode_bench.report.builder import build_report

    if not store.is_file():
        raise LodeBenchError(f"{store}: results store not found")
    res = build_report(
        store,
        out,
        confidence=confidence,
        n_resamples=resamples,
        seed=seed,
        baseline=baseline,
        visuals=not no_visuals,
        datasets=_pairs(dataset_root, "--dataset-root"),
        outputs=_pairs(outputs, "--outputs"),
        progress=_progress() and not quiet,
        generalisation=generalisation,
        train_sets=_pairs(train_set, "--train-set"),
        rank_missing=rank_missing,
        analysis=analysis,
    )
    for note in res.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"{len(res.tables)} table(s), {len(res.files)} file(s) -> {res.index}")
