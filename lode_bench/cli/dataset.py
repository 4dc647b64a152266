"""Click group ``lode-bench dataset``: ``verify``, ``stats``, ``split``, ``preview``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lode_bench.cli.base import EXIT_SOME_FAILED, Group
from lode_bench.cli.options import quiet_option

_DIR = click.Path(exists=True, file_okay=False, path_type=Path)
_OUT = click.Path(file_okay=False, path_type=Path)


@click.group("dataset", cls=Group)
def dataset() -> None:
    """Check, summarise, split and preview a lode-bench dataset (a folder with manifest.json).

    Exit status: 0 done; 1 when `verify` finds a problem file; 2 for a usage or input
    error (one line).
    """


@dataset.command("verify")
@click.argument("root", type=_DIR)
@quiet_option("Only the summary line, no progress bar.")
def verify(root: Path, quiet: bool) -> None:
    """Check every file against the manifest's sha256; list missing, changed and extra files.

    Exit status 1 when any file is missing, changed or extra.
    """
    from lode_bench.datasets.tools import verify_dataset

    rep = verify_dataset(root, progress=not quiet)
    lines = rep.lines()
    for line in lines if not quiet else lines[-1:]:
        click.echo(line)
    if not rep.ok:
        sys.exit(EXIT_SOME_FAILED)


@dataset.command("stats")
@click.argument("root", type=_DIR)
@click.option("--out", "out_dir", type=_OUT, default=None, help="Default: ROOT/stats.")
@click.option("--no-plots", is_flag=True, help="Skip the histogram PNGs.")
@quiet_option()
def stats(root: Path, out_dir: Path | None, no_plots: bool, quiet: bool) -> None:
    """Per split: counts, image sizes, frames, mask coverage, blur, saturation, noise; plots."""
    from lode_bench.datasets.tools import NUMERIC, dataset_stats

    doc = dataset_stats(root, out_dir=out_dir, plots=not no_plots, progress=not quiet)
    for name, e in doc["splits"].items():
        sizes = ", ".join(f"{k} ({v})" for k, v in e["image_sizes"].items())
        click.echo(f"{name}: {e['count']} samples; sizes {sizes or '-'}")
        for key in NUMERIC:
            if key in e:
                v = e[key]
                click.echo(
                    f"  {key:<19} mean {v['mean']:.4g}  median {v['median']:.4g}  "
                    f"[{v['min']:.4g}, {v['max']:.4g}]"
                )
    click.echo(f"written to {out_dir or root / 'stats'}")


@dataset.command("split")
@click.argument("root", type=_DIR)
@click.option(
    "--by",
    type=click.Choice(["sequence", "scene"]),
    default="sequence",
    show_default=True,
    help="Group that never straddles two splits.",
)
@click.option(
    "--ratios",
    default="0.8,0.1,0.1",
    show_default=True,
    help="train,val[,test] shares of the samples.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", "out_dir", type=_OUT, default=None, help="Default: ROOT/splits.")
def split(root: Path, by: str, ratios: str, seed: int, out_dir: Path | None) -> None:
    """Deterministic train/val/test split by sequence or scene, with list files."""
    from lode_bench.datasets.tools_split import split_dataset

    doc = split_dataset(root, by=by, ratios=ratios, seed=seed, out_dir=out_dir)
    counts = ", ".join(f"{k} {v}" for k, v in doc["counts"].items())
    click.echo(
        f"{len(doc['groups'])} {by} groups -> {counts} samples; "
        f"lists in {out_dir or root / 'splits'}"
    )


@dataset.command("preview")
@click.argument("root", type=_DIR)
@click.option("--out", "out_dir", type=_OUT, default=None, help="Default: ROOT/preview.")
@click.option("--per-sheet", type=click.IntRange(1, 200), default=12, show_default=True)
@click.option(
    "--max-samples",
    type=click.IntRange(1),
    default=48,
    show_default=True,
    help="Per split, evenly spread.",
)
@click.option(
    "--width",
    "tile_width",
    type=click.IntRange(32, 2048),
    default=256,
    show_default=True,
    help="Tile width (px).",
)
def preview(
    root: Path, out_dir: Path | None, per_sheet: int, max_samples: int, tile_width: int
) -> None:
    """Contact sheets per split (blur | sharp | mask) to look at before training."""
    from lode_bench.datasets.tools_split import preview_dataset

    sheets = preview_dataset(
        root, out_dir=out_dir, per_sheet=per_sheet, tile_width=tile_width, max_samples=max_samples
    )
    click.echo(f"{len(sheets)} contact sheet(s) in {out_dir or root / 'preview'}")
