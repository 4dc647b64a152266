"""``lode-bench run`` and ``lode-bench ls models|datasets`` (click commands; wired in ``lode_bench.cli``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from lode_bench.errors import LodeBenchError
from lode_bench.io.numbers import format_number
from lode_bench.io.yamlfile import loads_yaml


def summary_table(summaries: list[Any]) -> str:
    """Text table of run summaries (one line per model × dataset × protocol)."""
    cols: list[str] = []
    for s in summaries:
        cols += [c for c in s.means if c not in cols]
    head = ["model", "dataset", "protocol", "images", "ok", "errors", "resumed", "retried", *cols, "img/s",
            "s/img"]
    body = []
    for s in summaries:
        body.append([s.model, s.dataset, s.protocol, str(s.n_total), str(s.n_ok), str(s.n_error), str(s.n_skipped),
                     str(getattr(s, "n_retried", 0)),
                     *[format_number(s.means.get(c), missing="-") for c in cols],
                     format_number(s.timing.get("images_per_s"), 2, missing="-"),
                     format_number(s.timing.get("mean_runtime_s"), 3, missing="-")])
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(head)] if body else [len(h) for h in head]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*head), fmt.format(*["-" * w for w in widths])]
    lines += [fmt.format(*r) for r in body]
    return "\n".join(lines)


def _parse_opts(pairs: tuple[str, ...]) -> dict[str | None, dict[str, Any]]:
    """``KEY=VALUE`` (every torch model) or ``MODEL:KEY=VALUE`` (that model) -> {model: {key: value}}."""
    out: dict[str | None, dict[str, Any]] = {}
    for p in pairs:
        k, sep, v = p.partition("=")
        model, colon, key = k.rpartition(":")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE or MODEL:KEY=VALUE, got {p!r}", param_hint="--model-opt")
        out.setdefault(model if colon else None, {})[key] = loads_yaml(v, f"--model-opt {k}")
    return out


def _spec_for(text: str, opts: dict[str | None, dict[str, Any]], random_weights: bool, seed: int) -> Any:
    from lode_bench.models.card import get_model_card
    from lode_bench.models.loader import ModelSpec

    spec = ModelSpec.parse(text)
    card = get_model_card(spec.name)
    mine = dict(opts.get(None, {})) if card.kind == "torch" else {}
    for key, values in opts.items():
        if key is not None and get_model_card(key).name == card.name:
            mine.update(values)
    return ModelSpec(spec.name, spec.checkpoint, mine, random_weights, seed)


@click.command("run")
@click.option("--model", "-m", "models", multiple=True, metavar="NAME[=CHECKPOINT]",
              help="Model to run (repeatable); see `lode-bench ls models`.")
@click.option("--dataset", "-d", "datasets", multiple=True, metavar="KIND:PATH|DIR",
              help="Dataset (repeatable): gopro:PATH, gopro-gamma:PATH, realblur-j:PATH, folder:PATH, "
                   "or a lode-bench dataset folder.")
@click.option("--protocol", "-p", "protocols", multiple=True, help="Scoring protocol (repeatable).")
@click.option("--suite", type=click.Path(path_type=Path), help="Suite YAML (models × datasets × protocols).")
@click.option("--store", required=True, type=click.Path(path_type=Path), help="Results store (SQLite file).")
@click.option("--device", default=None, help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:1, mps.")
@click.option("--tile", type=click.IntRange(min=16), default=None, help="Tiled inference with this tile side.")
@click.option("--amp", is_flag=True, default=None, help="Mixed precision.")
@click.option("--save-outputs", type=click.Path(path_type=Path), default=None,
              help="Write outputs as PNG under DIR/<model>/<dataset>/<id>.png.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N images of each dataset.")
@click.option("--split", default=None, help="Dataset split (default: test).")
@click.option("--workers", "-j", type=click.IntRange(min=1), default=None,
              help="Scoring workers (default: CPU cores).")
@click.option("--executor", "executor_kind", type=click.Choice(["process", "thread", "serial", "ray"]),
              default="thread", show_default=True,
              help="Local pool, or a Ray cluster (torch models: one actor per GPU, loaded once).")
@click.option("--ray-address", default=None, metavar="HOST:PORT",
              help="Ray cluster to join (default with --executor ray: a private local Ray).")
@click.option("--model-opt", "model_opts", multiple=True, metavar="[MODEL:]KEY=VALUE",
              help="Architecture option (YAML value), for every torch model or the named one.")
@click.option("--random-weights", is_flag=True, help="Allow torch models without checkpoint (smoke runs).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--retry-errors", is_flag=True, help="Recompute images stored as errors.")
@click.option("--lpips", default=None, help="Add an LPIPS column (alex, vgg, squeeze).")
@click.option("--verify", "verify_hashes", is_flag=True,
              help="Recompute the sha256 of every file of a lode-bench dataset (default: files whose size "
                   "and modification time match an earlier full check are trusted).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def run_command(models: tuple[str, ...], datasets: tuple[str, ...], protocols: tuple[str, ...],
                suite: Path | None, store: Path, device: str | None, tile: int | None, amp: bool | None,
                save_outputs: Path | None, limit: int | None, split: str | None, workers: int | None,
                executor_kind: str, ray_address: str | None, model_opts: tuple[str, ...],
                random_weights: bool, seed: int,
                retry_errors: bool, lpips: str | None, verify_hashes: bool, quiet: bool) -> None:
    """Run models on datasets under protocols; one row per image in STORE; resumable."""
    from lode_bench.bench.suite import SuiteRun, load_suite, run_suite
    from lode_bench.io.header import max_pixels
    from lode_bench.parallel.choice import make_executor

    opts = _parse_opts(model_opts)
    settings: dict[str, Any] = {}
    try:
        max_pixels()  # a bad LODE_BENCH_MAX_PIXELS is one error, not one per image
        if suite is not None:
            if models or datasets or protocols:
                raise click.UsageError("give either --suite or --model/--dataset/--protocol")
            s = load_suite(suite)
            jobs, settings = s.runs, dict(s.settings)
        else:
            if not (models and datasets and protocols):
                raise click.UsageError("give --model, --dataset and --protocol (or --suite FILE)")
            specs = [_spec_for(m, opts, random_weights, seed) for m in models]
            jobs = [SuiteRun(m, d, p, split) for m in specs for d in datasets for p in protocols]
        cli = {"device": device, "tile": tile, "amp": amp, "limit": limit, "lpips": lpips}
        settings.update({k: v for k, v in cli.items() if v is not None})
        if retry_errors:
            settings["retry_errors"] = True
        if verify_hashes:
            settings["verify_hashes"] = True
        if workers is not None:
            settings["workers"] = workers
        warned: set[tuple[str, str]] = set()

        def report(summ: Any) -> None:
            for w in summ.warnings:
                if (summ.dataset, w) not in warned:
                    warned.add((summ.dataset, w))
                    click.echo(f"warning: {summ.dataset}: {w}", err=True)
            for image_id, msg in summ.errors[:3]:
                click.echo(f"error: {summ.model} {image_id}: {msg}", err=True)
            if summ.errors and summ.error_log:
                click.echo(f"note: full error text in {summ.error_log}", err=True)
            if summ.n_retried:
                click.echo(f"note: {summ.model} | {summ.dataset}: {summ.n_retried} image(s) resubmitted "
                           "after a worker was lost", err=True)

        with make_executor(executor_kind, workers=settings.pop("workers", None), address=ray_address) as ex:
            summaries = run_suite(jobs, store, executor=ex, save_outputs=save_outputs or settings.pop(
                "save_outputs", None), progress=not quiet, on_summary=report, **settings)
    except LodeBenchError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(summary_table(summaries))
