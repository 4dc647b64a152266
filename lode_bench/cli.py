"""The ``lode-bench`` command line: a thin click group, one subcommand per stage.

All logic lives in the library; commands only parse arguments, call it, and print.
Errors caused by user input (:class:`~lode_bench.errors.LodeBenchError`) are printed as
one line naming the file or key, with exit status 2.
"""

from __future__ import annotations

import importlib
import json
import math
import sys
from pathlib import Path
from typing import Any

import click

from lode_bench import __version__
from lode_bench.errors import LodeBenchError


class _Group(click.Group):
    """Click group that turns LodeBenchError into a clean one-line message."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LodeBenchError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            ctx.exit(2)


# --------------------------------------------------------------------------- stages
# Stage commands live next to their code and are imported only when used, so that
# `lode-bench --help` and `lode-bench score` stay fast.
_STAGE_COMMANDS = {
    "synth": "lode_bench.synth.cli",
    "capture": "lode_bench.synth.cli",
    "align": "lode_bench.align.cli",
    "run": "lode_bench.bench.cli",
    "report": "lode_bench.report.cli",
    "leaderboard": "lode_bench.report.cli",
    "demo": "lode_bench.report.cli",
    "dataset": "lode_bench.datasets.tools_cli",
    "analyze": "lode_bench.analyze.cli",
    "nriqa": "lode_bench.metrics.nriqa_cli",
}


def _load_command(module: str, name: str) -> click.Command | None:
    """The click command called ``name`` defined in ``module``; warns (never crashes) if broken."""
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # a broken stage must not break the whole CLI
        click.secho(f"warning: command {name!r} unavailable ({module}: {type(exc).__name__}: {exc})",
                    fg="yellow", err=True)
        return None
    for obj in vars(mod).values():
        if isinstance(obj, click.Command) and obj.name == name:
            return obj
    return None


class _LazyGroup(_Group):
    """Group whose listed commands are imported on first use."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        cmd = super().get_command(ctx, name)
        if cmd is None and name in self._lazy:
            cmd = _load_command(self._lazy[name], name)
            if cmd is not None:
                self.add_command(cmd, name=name)
        return cmd



@click.group(cls=_LazyGroup, lazy=_STAGE_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lode-bench")
def main() -> None:
    """lode-bench: build deblurring datasets and score methods with the official protocols."""


# --------------------------------------------------------------------------- score
def _fmt(v: float, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "nan"
    if math.isinf(v):
        return "inf"
    return f"{v:.{digits}f}"


def _write_scores(path: Path, scores: list[Any], pairing: Any, summary: dict[str, Any],
                  protocol: Any) -> None:
    from lode_bench.io.atomic import atomic_write_json, atomic_write_text

    by_id = {p.image_id: p for p in pairing.pairs}
    rows = []
    for s in scores:
        p = by_id[s.image_id]
        rows.append({"image_id": s.image_id, "pred": str(p.pred) if p.pred else None,
                     "gt": str(p.gt), "mask": str(p.mask) if p.mask else None,
                     "status": "ok" if s.ok else "error", "error": s.error_message,
                     "mask_coverage": s.mask_coverage,
                     **{c: s.values.get(c, math.nan) for c in protocol.columns}})
    if path.suffix.lower() == ".json":
        def clean(v: Any) -> Any:
            if isinstance(v, float) and (math.isinf(v) or math.isnan(v)):
                return str(v)
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            return v
        atomic_write_json(path, {"summary": clean(summary), "images": [clean(r) for r in rows],
                                 "extra_predictions": pairing.extra_pred})
    else:
        import pandas as pd

        from lode_bench.io.csvcells import safe_cell

        frame = pd.DataFrame(rows)
        for col in frame.columns:  # text cells only: numbers stay numbers
            if frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col]):
                frame[col] = frame[col].map(safe_cell)
        frame.columns = [safe_cell(c) for c in frame.columns]
        atomic_write_text(path, frame.to_csv(index=False, float_format="%.10g"))


def _check_out_path(path: Path) -> None:
    """Raise LodeBenchError when ``path`` is a folder or lies under a file."""
    if path.is_dir():
        raise LodeBenchError(f"--out {path}: is a folder; give a .csv or .json file name")
    for parent in path.parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise LodeBenchError(f"--out {path}: {parent} is a file, not a folder")
            break


@main.command()
@click.option("--pred", "pred_dir", type=click.Path(path_type=Path),
              help="Folder of deblurred outputs.")
@click.option("--gt", "gt_dir", type=click.Path(path_type=Path),
              help="Folder of ground-truth sharp images (defines the image set).")
@click.option("--example", default=None, metavar="SET/METHOD",
              help="Score a built-in real example instead of --pred/--gt, e.g. gopro/restormer "
                   "(sets: gopro, realblur; methods: blur, hi-diff, restormer, stripformer).")
@click.option("--mask", "mask_dir", type=click.Path(path_type=Path), default=None,
              help="Folder of blur masks (PNG > 0, or LODE flow-magnitude .npy > 0.25 px).")
@click.option("--protocol", "-p", required=True, help="Protocol name (see `lode-bench ls protocols`).")
@click.option("--lpips", "lpips_net", type=click.Choice(["alex", "vgg", "squeeze"]), default=None,
              help="Add an LPIPS column (needs the ImageNet backbone weights file).")
@click.option("--out", "out_file", type=click.Path(path_type=Path), default=None,
              help="Write per-image results here (.csv or .json).")
@click.option("--recursive", is_flag=True, help="Pair by path relative to each folder, recursing.")
@click.option("--jobs", "-j", type=int, default=None, help="Worker threads (default: cores).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def score(pred_dir: Path | None, gt_dir: Path | None, example: str | None, mask_dir: Path | None, protocol: str,
          lpips_net: str | None, out_file: Path | None, recursive: bool, jobs: int | None,
          quiet: bool) -> None:
    """Score a folder of outputs against ground truth under a named protocol.

    Files are paired by name, never by listing order. Exits with status 1 when any
    image failed (missing prediction, unreadable file, size mismatch, ECC failure, ...).
    """
    from lode_bench.io.header import max_pixels
    from lode_bench.metrics.protocols import get_protocol
    from lode_bench.metrics.scoring import pair_folders, score_pairs, summarise

    max_pixels()  # a bad LODE_BENCH_MAX_PIXELS is one error, not one per image
    if out_file is not None:  # refuse an unwritable --out before scoring, not after
        _check_out_path(out_file)
    if example is not None:
        from lode_bench.examples import example_dirs

        set_name, _, method = example.partition("/")
        try:
            pred_dir, gt_dir = example_dirs(set_name, method or "restormer")
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--example") from None
    if pred_dir is None or gt_dir is None:
        raise click.UsageError("give --pred and --gt folders (or --example SET/METHOD)")
    proto = get_protocol(protocol)
    if lpips_net:
        proto = proto.with_lpips(lpips_net)
    proto, not_computed = proto.available()  # partial (NR) protocols: report missing files
    for col, why in not_computed.items():
        click.secho(f"warning: {col} not computed: {why}", fg="yellow", err=True)
    if proto.mask == "required" and mask_dir is None:
        raise click.UsageError(f"protocol {proto.name!r} needs --mask DIR")
    pairing = pair_folders(pred_dir, gt_dir, mask_dir if proto.mask != "none" else None,
                           recursive=recursive)
    if pairing.ambiguous:
        raise LodeBenchError("ambiguous file names: " + "; ".join(pairing.ambiguous))
    for key in pairing.extra_pred:
        click.secho(f"warning: prediction {key} has no ground truth in {gt_dir} (ignored)",
                    fg="yellow", err=True)
    if pairing.missing_pred:
        click.secho(f"warning: {len(pairing.missing_pred)} ground-truth image(s) have no "
                    f"prediction in {pred_dir}: {', '.join(pairing.missing_pred[:10])}"
                    + (" ..." if len(pairing.missing_pred) > 10 else ""), fg="yellow", err=True)
    scores = list(score_pairs(pairing.pairs, proto, jobs=jobs, progress=not quiet))
    summary = summarise(scores, proto)
    if out_file is not None:
        try:
            _write_scores(out_file, scores, pairing, summary, proto)
        except OSError as exc:
            raise LodeBenchError(f"--out {out_file}: cannot write ({exc.strerror or exc})") from None
    click.echo(f"\nprotocol {proto.id}: {proto.reproduces}")
    width = max(len(c) for c in proto.columns) + 2
    click.echo(f"{'metric':<{width}}{'mean':>12}  better")
    for col in proto.columns:
        arrow = "higher" if proto.higher_is_better(col) else "lower"
        click.echo(f"{col:<{width}}{_fmt(summary['mean'][col]):>12}  {arrow}")
    click.echo(f"images: {summary['n_ok']} scored, {summary['n_failed']} failed")
    for col, n in summary["n_infinite"].items():
        click.echo(f"note: {n} image(s) have infinite {col} (identical to ground truth); "
                   "the mean is then inf")
    failed = [s for s in scores if not s.ok]
    for s in failed[:20]:
        click.secho(f"failed: {s.image_id}: {s.error_message}", fg="red", err=True)
    if len(failed) > 20:
        click.secho(f"... and {len(failed) - 20} more (see --out)", fg="red", err=True)
    if out_file is not None:
        click.echo(f"per-image results: {out_file}")
    if failed:
        sys.exit(1)


# --------------------------------------------------------------------------- ls
@main.group(name="ls", cls=_Group)
def ls() -> None:
    """List registered protocols, metrics, models or datasets."""


@ls.command(name="protocols")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def ls_protocols(as_json: bool) -> None:
    """Named scoring protocols and whose numbers each reproduces."""
    from lode_bench.metrics.protocols import DEPTH16_TEXT, PROTOCOLS, list_protocols

    protos = list_protocols()
    if as_json:
        click.echo(json.dumps([{"name": p.name, "version": p.version, "columns": p.columns,
                                "mask": p.mask, "reproduces": p.reproduces,
                                "depth16": p.depth16, "notes": p.notes,
                                "description": p.description} for p in protos], indent=2))
        return
    for p in protos:
        aliases = PROTOCOLS.aliases(p.name)
        click.secho(f"{p.name}@{p.version}", bold=True, nl=False)
        click.echo(f"  (aliases: {', '.join(aliases)})" if aliases else "")
        click.echo(f"  columns:    {', '.join(p.columns)}" + (f"   [mask {p.mask}]" if p.mask != "none" else ""))
        click.echo(f"  reproduces: {p.reproduces}")
        click.echo(f"  16-bit:     {DEPTH16_TEXT[p.depth16]}")
        if p.notes:
            click.echo(f"  notes:      {p.notes}")
        click.echo(f"  {p.description}\n")


@ls.command(name="metrics")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def ls_metrics(as_json: bool) -> None:
    """Every metric variant with its direction, range and colour rule."""
    from lode_bench.metrics.base import METRICS
    from lode_bench.metrics.catalog import register_builtin_metrics

    register_builtin_metrics()
    specs = [s for _, s in METRICS.items()]
    if as_json:
        click.echo(json.dumps([{"name": s.name, "higher_is_better": s.higher_is_better,
                                "range": list(s.value_range), "colour": s.colour,
                                "input": s.input_rule, "needs_mask": s.needs_mask,
                                "legacy": s.legacy, "no_reference": s.no_reference,
                                "description": s.description,
                                "reference": s.reference} for s in specs], indent=2,
                               default=str))
        return
    for s in specs:
        lo, hi = s.value_range
        flags = " [needs mask]" * s.needs_mask + " [LEGACY]" * s.legacy + " [no reference]" * s.no_reference
        click.secho(s.name, bold=True, nl=False)
        click.echo(f"  {'↑ higher' if s.higher_is_better else '↓ lower'} is better, "
                   f"range [{lo:g}, {hi:g}], colour: {s.colour}{flags}")
        click.echo(f"  {s.description}")
        if s.reference:
            click.echo(f"  reference: {s.reference}")
        click.echo("")



@ls.command(name="models")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def ls_models(as_json: bool) -> None:
    """Registered models (built-ins and plugins) with their cards."""
    from lode_bench.bench.cli import format_entries, ls_entries

    click.echo(json.dumps(ls_entries("models"), indent=2) if as_json else format_entries("models"))


@ls.command(name="datasets")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def ls_datasets(as_json: bool) -> None:
    """Dataset kinds that `lode-bench run --dataset KIND:PATH` understands."""
    from lode_bench.bench.cli import format_entries, ls_entries

    click.echo(json.dumps(ls_entries("datasets"), indent=2) if as_json else format_entries("datasets"))



if __name__ == "__main__":  # pragma: no cover
    main()
