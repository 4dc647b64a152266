"""``lode-bench synth``: synthesise a blur dataset from a recipe."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, cast

import click

from lode_bench.errors import LodeBenchError


def _size(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        h, w = (int(v) for v in value.lower().split("x"))
    except ValueError as exc:
        raise click.BadParameter(f"size must be HxW (e.g. 240x320), got {value!r}") from exc
    if h < 16 or w < 16:
        raise click.BadParameter(f"size must be at least 16x16, got {value!r}")
    return h, w


@click.command("synth")
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
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Override the recipe's seed.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many samples.")
@click.option(
    "--size", default=None, help="HxW of built-in scenes / resized backgrounds (default 240x320)."
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
@click.option(
    "--executor",
    "executor_name",
    type=click.Choice(["serial", "thread", "process", "ray"]),
    default="serial",
    show_default=True,
    help="Where samples are computed: here, a local pool, or a Ray cluster (one task per sequence).",
)
@click.option("--workers", "-j", type=click.IntRange(min=1), default=None,
              help="Local pool size (default: CPU cores).")
@click.option(
    "--ray-address", default=None, help="Ray cluster HOST:PORT (default: a private local Ray)."
)
@click.option("--overwrite", is_flag=True,
              help="Replace a dataset in --out made with another recipe, seed or size.")
@click.option(
    "--fps", type=click.FloatRange(min=0, min_open=True), default=None,
    help="Capture rate of frame folders without frames.json (default 240), or a video's true rate.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def synth(
    recipe: str | None,
    out_dir: Path | None,
    source: str,
    seed: int | None,
    limit: int | None,
    size: str | None,
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
    recipe, seed or size is refused unless --overwrite is given.
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
    from lode_bench.parallel.choice import make_executor

    executor = None
    try:
        executor = make_executor(executor_name, workers=workers, address=ray_address)
        if recipe == "builtin":
            m = build_builtin_dataset(
                out_dir,
                kind=cast(Literal["local", "global", "both"], kind),
                n_samples=limit or 8,
                size=_size(size) or (240, 320),
                seed=seed or 0,
                progress=not quiet,
                executor=executor,
                overwrite=overwrite,
            )
        else:
            m = run_recipe(
                load_recipe(recipe),
                out_dir,
                source=source,
                seed=seed,
                limit=limit,
                size=_size(size),
                progress=not quiet,
                executor=executor,
                overwrite=overwrite,
                fps=fps,
            )
    except LodeBenchError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        if executor is not None:
            executor.close()
    for src, t in sorted(m.meta.get("timing", {}).items()):
        vfr = ", variable frame rate" if t["variable_frame_rate"] else ""
        click.echo(f"{src}: irregular timing ({t['n_dropped']} dropped, "
                   f"{len(t['duplicated'])} duplicated{vfr}); windows chosen by time")
    click.echo(f"{len(m.samples)} samples in {out_dir} (manifest {m.manifest_hash[:12]})")
