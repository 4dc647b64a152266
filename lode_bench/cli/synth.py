"""``lode-bench synth``: synthesise a blur dataset from a recipe."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, cast

import click

from lode_bench.cli.base import Command
from lode_bench.cli.options import (
    DEFAULT_SPLIT,
    executor_options,
    quiet_option,
    size_option,
    split_option,
    workers_option,
)
from lode_bench.errors import LodeBenchError


def _with_split(recipe: Any, split: str) -> Any:
    """``recipe`` as if its file said ``split: SPLIT`` (validated and hashed again)."""
    from lode_bench.io.yamlfile import load_yaml
    from lode_bench.synth.recipes import validate_recipe

    if recipe.split == split:
        return recipe
    if recipe.source_path is None:  # pragma: no cover - recipes from files always have one
        raise LodeBenchError(f"recipe {recipe.name!r}: --split needs a recipe file")
    doc = load_yaml(recipe.source_path)
    return validate_recipe({**doc, "split": split}, path=recipe.source_path)


@click.command("synth", cls=Command)
@click.argument("recipe", required=False)
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Dataset folder."
)
@click.option(
    "--source",
    default="builtin",
    show_default=True,
    help="'builtin', a frame folder, a folder of sequence folders, a video, or an object library.",
)
@click.option(
    "--seed", type=click.IntRange(min=0), default=None, help="Override the recipe's seed."
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="At most this many samples."
)
@size_option("Image size of built-in scenes / resized backgrounds (default 240x320).")
@split_option(
    "Split the samples are written to (default: the recipe's 'split' key: train for "
    f"the shipped recipes, which make training sets; {DEFAULT_SPLIT} for 'builtin').",
    default=None,
)
@click.option(
    "--kind",
    type=click.Choice(["local", "global", "both"]),
    default="both",
    show_default=True,
    help="For RECIPE 'builtin': which samples the quick built-in dataset holds.",
)
@click.option(
    "--list", "list_only", is_flag=True, help="List the shipped recipes and camera profiles."
)
@executor_options("synthesis tasks (one per sequence)")
@workers_option("Local pool size (default: CPU cores).")
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace a dataset in --out made with another recipe, seed, size or split.",
)
@click.option(
    "--fps",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Capture rate of frame folders without frames.json (default 240), or a video's true rate.",
)
@quiet_option("No progress bar.")
def synth(
    recipe: str | None,
    out_dir: Path | None,
    source: str,
    seed: int | None,
    limit: int | None,
    size: tuple[int, int] | None,
    split: str | None,
    kind: str,
    list_only: bool,
    executor_name: str,
    workers: int | None,
    ray_address: str | None,
    overwrite: bool,
    fps: float | None,
    quiet: bool,
) -> None:
    """Synthesise a blur dataset with RECIPE (a name from configs/synth or a YAML file).

    RECIPE 'builtin' makes the quick built-in LODE-style dataset (global samples with
    their exact blur kernel, local samples with masks). Re-running on the same --out
    skips finished samples and resumes an interrupted run; a folder made with another
    recipe, seed, size or split is refused unless --overwrite is given.

    Exit status: 0 done; 2 bad recipe, source, option or output folder (one line).
    A sample that cannot be made (an unreadable frame) stops the run with status 2;
    a re-run resumes after the samples already written.
    """
    from lode_bench.capture.profiles import list_profiles
    from lode_bench.synth.builtin_dataset import build_builtin_dataset
    from lode_bench.synth.pipeline import run_recipe
    from lode_bench.synth.recipes import list_recipes, load_recipe

    if list_only:
        click.echo("recipes:  " + ", ".join(list_recipes() + ["builtin"]))
        click.echo("profiles: " + ", ".join(list_profiles()))
        return
    if recipe is None or out_dir is None:
        raise click.UsageError("give a RECIPE and --out DIR (or --list)")
    if recipe == "builtin" and split not in (None, DEFAULT_SPLIT):
        raise click.BadParameter(
            f"the built-in set is always split {DEFAULT_SPLIT!r}", param_hint="--split"
        )
    rec = None if recipe == "builtin" else load_recipe(recipe)
    if rec is not None and split is not None:
        rec = _with_split(rec, split)
    from lode_bench.parallel.choice import make_executor

    executor = None
    try:
        executor = make_executor(executor_name, workers=workers, address=ray_address)
        if rec is None:
            m = build_builtin_dataset(
                out_dir,
                kind=cast(Literal["local", "global", "both"], kind),
                n_samples=limit or 8,
                size=size or (240, 320),
                seed=seed or 0,
                progress=not quiet,
                executor=executor,
                overwrite=overwrite,
            )
        else:
            m = run_recipe(
                rec,
                out_dir,
                source=source,
                seed=seed,
                limit=limit,
                size=size,
                progress=not quiet,
                executor=executor,
                overwrite=overwrite,
                fps=fps,
            )
    finally:
        if executor is not None:
            executor.close()
    for src, t in sorted(m.meta.get("timing", {}).items()):
        vfr = ", variable frame rate" if t["variable_frame_rate"] else ""
        click.echo(
            f"{src}: irregular timing ({t['n_dropped']} dropped, "
            f"{len(t['duplicated'])} duplicated{vfr}); windows chosen by time"
        )
    click.echo(f"{len(m.samples)} samples in {out_dir} (manifest {m.manifest_hash[:12]})")
