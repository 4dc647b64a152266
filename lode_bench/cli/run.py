"""``lode-bench run`` and ``lode-bench ls models|datasets`` (click commands; wired in ``lode_bench.cli``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from lode_bench.cli.base import EXIT_SOME_FAILED, EXIT_USAGE
from lode_bench.cli.options import (
    executor_options,
    lpips_option,
    quiet_option,
    split_option,
    workers_option,
)
from lode_bench.errors import LodeBenchError
from lode_bench.io.numbers import format_number

#: Exit status after Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130
#: Failed images whose message is printed in full (the rest: the CSV and the store).
SHOWN_ERRORS = 5


def summary_table(summaries: list[Any]) -> str:
    """Text table of run summaries (one line per model × dataset × protocol)."""
    cols: list[str] = []
    for s in summaries:
        cols += [c for c in s.means if c not in cols]
    head = [
        "model",
        "dataset",
        "protocol",
        "images",
        "ok",
        "errors",
        "resumed",
        "retried",
        *cols,
        "img/s",
        "s/img",
    ]
    body = []
    for s in summaries:
        if s.skipped:
            body.append(
                [
                    s.model,
                    s.dataset,
                    s.protocol,
                    "-",
                    "-",
                    "skipped",
                    "-",
                    "-",
                    *["-" for _ in cols],
                    "-",
                    "-",
                ]
            )
            continue
        body.append(
            [
                s.model,
                s.dataset,
                s.protocol,
                str(s.n_total),
                str(s.n_ok),
                str(s.n_error),
                str(s.n_skipped),
                str(s.n_retried),
                *[format_number(s.means.get(c), missing="-") for c in cols],
                format_number(s.timing.get("images_per_s"), 2, missing="-"),
                format_number(s.timing.get("mean_runtime_s"), 3, missing="-"),
            ]
        )
    widths = (
        [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(head)]
        if body
        else [len(h) for h in head]
    )
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*head), fmt.format(*["-" * w for w in widths])]
    lines += [fmt.format(*r) for r in body]
    return "\n".join(lines)


def _parse_opts(pairs: tuple[str, ...]) -> dict[str | None, dict[str, Any]]:
    """``KEY=VALUE`` (every torch model) or ``MODEL:KEY=VALUE`` (that model) -> {model: {key: value}}."""
    from lode_bench.io.yamlfile import loads_yaml  # YAML and the io package: not at --help time

    out: dict[str | None, dict[str, Any]] = {}
    for p in pairs:
        k, sep, v = p.partition("=")
        model, colon, key = k.rpartition(":")
        if not sep or not key:
            raise click.BadParameter(
                f"expected KEY=VALUE or MODEL:KEY=VALUE, got {p!r}", param_hint="--model-opt"
            )
        out.setdefault(model if colon else None, {})[key] = loads_yaml(v, f"--model-opt {k}")
    return out


def _spec_for(
    text: str, opts: dict[str | None, dict[str, Any]], random_weights: bool, seed: int
) -> Any:
    from lode_bench.models.card import get_model_card
    from lode_bench.models.loader import ModelSpec

    spec = ModelSpec.parse(text)
    card = get_model_card(spec.name)
    mine = dict(opts.get(None, {})) if card.kind == "torch" else {}
    for key, values in opts.items():
        if key is not None and get_model_card(key).name == card.name:
            mine.update(values)
    return ModelSpec(spec.name, spec.checkpoint, mine, random_weights, seed, spec.label)


@click.command("run")
@click.option(
    "--model",
    "-m",
    "models",
    multiple=True,
    metavar="NAME[=CHECKPOINT]",
    help="Model to run (repeatable); see `lode-bench ls models`. LABEL=NAME:CHECKPOINT "
    "(e.g. mymethod=folder:results/mymethod) stores the results as LABEL.",
)
@click.option(
    "--dataset",
    "-d",
    "datasets",
    multiple=True,
    metavar="KIND:PATH|DIR",
    help="Dataset (repeatable): gopro:PATH, gopro-gamma:PATH, realblur-j:PATH, folder:PATH, "
    "or a lode-bench dataset folder.",
)
@click.option("--protocol", "-p", "protocols", multiple=True, help="Scoring protocol (repeatable).")
@click.option(
    "--suite", type=click.Path(path_type=Path), help="Suite YAML (models × datasets × protocols)."
)
@click.option(
    "--store", required=True, type=click.Path(path_type=Path), help="Results store (SQLite file)."
)
@click.option(
    "--device", default=None, help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:1, mps."
)
@click.option(
    "--tile", type=click.IntRange(min=16), default=None, help="Tiled inference with this tile side."
)
@click.option(
    "--amp",
    is_flag=True,
    default=None,
    help="Mixed precision on a GPU (refused on the CPU, where bfloat16 autocast is slow).",
)
@click.option(
    "--save-outputs",
    type=click.Path(path_type=Path),
    default=None,
    help="Write outputs as PNG under DIR/<model>/<dataset>/<id>.png.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Only the first N images of each dataset.",
)
@split_option(
    help="Dataset split (default: the dataset kind's, test for most; every split of a "
    "lode-bench dataset folder).",
    default=None,
)
@workers_option(help="Scoring workers (default: CPU cores).")
@executor_options("scoring and CPU models")
@click.option(
    "--model-opt",
    "model_opts",
    multiple=True,
    metavar="[MODEL:]KEY=VALUE",
    help="Architecture option (YAML value), for every torch model or the named one.",
)
@click.option(
    "--random-weights", is_flag=True, help="Allow torch models without checkpoint (smoke runs)."
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--retry-errors", is_flag=True, help="Recompute images stored as errors.")
@lpips_option()
@click.option(
    "--no-flops",
    "no_flops",
    is_flag=True,
    help="Do not count FLOPs (saves one small forward pass).",
)
@click.option(
    "--allow-failures",
    is_flag=True,
    help="Exit 0 even when images failed (default: exit 1 when any image failed).",
)
@click.option(
    "--verify",
    "verify_hashes",
    is_flag=True,
    help="Recompute the sha256 of every file of a lode-bench dataset (default: files whose size "
    "and modification time match an earlier full check are trusted).",
)
@click.option(
    "--mask-threshold",
    type=float,
    default=None,
    metavar="T",
    help="Use mask pixels > T (the file's own values) and accept masks that are not "
    "black/white (refused by default), as `score --mask-threshold`.",
)
@click.option(
    "--allow-grey",
    is_flag=True,
    help="Score greyscale output files of folder/command models against colour ground "
    "truth (refused by default), as `score --allow-grey`.",
)
@quiet_option("No stage lines or progress.")
@click.pass_context
def run_command(
    ctx: click.Context,
    models: tuple[str, ...],
    datasets: tuple[str, ...],
    protocols: tuple[str, ...],
    suite: Path | None,
    store: Path,
    device: str | None,
    tile: int | None,
    amp: bool | None,
    save_outputs: Path | None,
    limit: int | None,
    split: str | None,
    workers: int | None,
    executor_name: str,
    ray_address: str | None,
    model_opts: tuple[str, ...],
    random_weights: bool,
    seed: int,
    retry_errors: bool,
    lpips_net: str | None,
    no_flops: bool,
    allow_failures: bool,
    verify_hashes: bool,
    mask_threshold: float | None,
    allow_grey: bool,
    quiet: bool,
) -> None:
    """Run models on datasets under protocols; one row per image in STORE; resumable.

    Exits 0 when every image scored, 1 when any image failed or a model was skipped
    (0 with --allow-failures), 2 for a usage or input error, 130 after Ctrl-C (finished
    images stay stored: the same command resumes).
    """
    try:
        summaries = _run(
            models,
            datasets,
            protocols,
            suite,
            store,
            quiet,
            executor_name,
            ray_address,
            workers,
            split,
            model_opts,
            random_weights,
            seed,
            {
                "device": device,
                "tile": tile,
                "amp": amp,
                "limit": limit,
                "lpips": lpips_net,
                "save_outputs": save_outputs,
                "retry_errors": retry_errors or None,
                "verify_hashes": verify_hashes or None,
                "flops": False if no_flops else None,
                "mask_threshold": mask_threshold,
                "allow_grey": allow_grey or None,
            },
        )
    except KeyboardInterrupt:
        _interrupted(store)
    except LodeBenchError as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(EXIT_USAGE)
    click.echo(summary_table(summaries))
    if _report_failures(summaries, store) and not allow_failures:
        ctx.exit(EXIT_SOME_FAILED)


def _run(
    models: tuple[str, ...],
    datasets: tuple[str, ...],
    protocols: tuple[str, ...],
    suite: Path | None,
    store: Path,
    quiet: bool,
    executor_name: str,
    ray_address: str | None,
    workers: int | None,
    split: str | None,
    model_opts: tuple[str, ...],
    random_weights: bool,
    seed: int,
    given: dict[str, Any],
) -> list[Any]:
    from lode_bench.bench.settings import RunSettings
    from lode_bench.bench.suite import SuiteRun, load_suite, run_suite
    from lode_bench.io.header import max_pixels
    from lode_bench.metrics.inputs import LOSSY_NOTE
    from lode_bench.parallel.choice import make_executor

    opts = _parse_opts(model_opts)
    max_pixels()  # a bad LODE_BENCH_MAX_PIXELS is one error, not one per image
    if suite is not None:
        if models or datasets or protocols:
            raise click.UsageError("give either --suite or --model/--dataset/--protocol")
        s = load_suite(suite)
        jobs, settings = s.runs, s.settings
    else:
        if not (models and datasets and protocols):
            raise click.UsageError("give --model, --dataset and --protocol (or --suite FILE)")
        specs = [_spec_for(m, opts, random_weights, seed) for m in models]
        jobs = [SuiteRun(m, d, p, split) for m in specs for d in datasets for p in protocols]
        settings = RunSettings()
    settings = settings.replace(**{k: v for k, v in given.items() if v is not None})
    if workers is not None:
        settings = settings.replace(workers=workers)
    warned: set[tuple[str, str]] = set()

    def report(summ: Any) -> None:
        if summ.n_lossy_outputs:
            click.echo(
                f"note: {summ.model} | {summ.dataset}: "
                + LOSSY_NOTE.format(n=summ.n_lossy_outputs),
                err=True,
            )
        for w in summ.warnings:
            if (summ.dataset, w) not in warned:
                warned.add((summ.dataset, w))
                click.echo(f"warning: {summ.dataset}: {w}", err=True)
        if summ.n_retried:
            click.echo(
                f"note: {summ.model} | {summ.dataset}: {summ.n_retried} image(s) resubmitted "
                "after a worker was lost",
                err=True,
            )

    ex = make_executor(executor_name, workers=settings.workers, address=ray_address)
    try:
        out = run_suite(
            jobs, store, settings=settings, executor=ex, progress=not quiet, on_summary=report
        )
    except KeyboardInterrupt:
        raise
    except BaseException:
        ex.close()
        raise
    ex.close()
    skipped = [s for s in out if s.skipped]
    if out and len(skipped) == len(out):  # nothing ran at all: an input error, one line
        raise LodeBenchError(skipped[0].skipped)
    return out


def _interrupted(store: Path) -> None:
    """Ctrl-C: one line, then exit at once (workers still busy with an image are not waited for)."""
    import os
    import sys
    import threading

    click.echo(
        f"\ninterrupted: every finished image is stored in {store}; run the same command again "
        "to resume",
        err=True,
    )
    busy = [
        t
        for t in threading.enumerate()
        if t is not threading.main_thread() and t.is_alive() and not t.daemon
    ]
    if busy:  # pool threads in the middle of an image would hold the exit until they finish
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
    sys.exit(EXIT_INTERRUPTED)


def _report_failures(summaries: list[Any], store: Path) -> bool:
    """Print failed-image counts by reason, the first messages and where the rest are; True if any failed."""
    from collections import Counter

    from lode_bench.bench.failures import failed_csv_path, write_failed_csv
    from lode_bench.bench.store import ResultsStore

    skipped = [s for s in summaries if s.skipped]
    failed = [s for s in summaries if not s.skipped and s.n_failed]
    for s in skipped:
        click.echo(f"error: {s.model} skipped: {s.skipped}", err=True)
    if not failed:
        return bool(skipped)
    total = sum(s.n_failed for s in failed)
    earlier = total - sum(s.n_error for s in failed)
    reasons: Counter[str] = Counter()
    for s in failed:
        reasons.update(s.error_reasons)
    click.echo(
        f"error: {total} image(s) failed in {len(failed)} run(s)"
        + (
            f" ({earlier} stored as errors by earlier runs; --retry-errors recomputes them)"
            if earlier
            else ""
        ),
        err=True,
    )
    for reason, n in reasons.most_common(10):
        click.echo(f"  {n:>6} × {reason}", err=True)
    shown = [(s, image_id, msg) for s in failed for image_id, msg in s.errors][:SHOWN_ERRORS]
    for s, image_id, msg in shown:
        click.echo(f"error: {s.model} | {s.dataset} | {image_id}: {msg}", err=True)
    with ResultsStore(store) as st:
        rows = [
            r
            for s in failed
            for r in st.rows(
                model=s.model,
                dataset_hash=s.dataset_hash,
                protocol=s.protocol.partition("@")[0],
                protocol_version=s.protocol.partition("@")[2],
                status="error",
            )
        ]
    csv_path = failed_csv_path(store)
    try:
        n = write_failed_csv(csv_path, rows)
        where = f"all {n} in {csv_path}"
    except OSError as exc:
        where = f"(could not write {csv_path}: {exc.strerror or exc})"
    logs = sorted({s.error_log for s in failed if s.error_log})
    click.echo(
        f"note: failed images: {where}; in the store, rows with status 'error'"
        + (f"; full error text in {', '.join(logs)}" if logs else ""),
        err=True,
    )
    return True
