"""``lode-bench score``: score a folder of outputs against ground truth under a protocol."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import click

from lode_bench.cli.options import lpips_option, quiet_option, split_option, workers_option
from lode_bench.errors import LodeBenchError
from lode_bench.io.numbers import format_number

_SYMMETRY = (
    "Swapping --pred and --gt: PSNR, SSIM, MS-SSIM, LPIPS and the masked PSNR_w/SSIM_w "
    "are symmetric and give the same numbers; RealBlur's aligned metrics (protocol "
    "realblur, reloblur's aligned_PSNR) are not: they gain-correct and register the "
    "prediction onto the ground truth, so swapping changes them (`lode-bench ls metrics` "
    "marks them asymmetric). No-reference protocols rate the prediction alone."
)


def _write_scores(
    path: Path, scores: list[Any], pairing: Any, summary: dict[str, Any], protocol: Any
) -> None:
    from lode_bench.io.atomic import atomic_write_json, atomic_write_text

    by_id = {p.image_id: p for p in pairing.pairs}
    rows = []
    for s in scores:
        p = by_id[s.image_id]
        rows.append(
            {
                "image_id": s.image_id,
                "pred": str(p.pred) if p.pred else None,
                "gt": str(p.gt) if p.gt else None,
                "mask": str(p.mask) if p.mask else None,
                "status": "ok" if s.ok else "error",
                "error": s.error_message,
                "mask_coverage": s.mask_coverage,
                **{c: s.values.get(c, math.nan) for c in protocol.columns},
            }
        )
    if path.suffix.lower() == ".json":

        def clean(v: Any) -> Any:
            if isinstance(v, float) and (math.isinf(v) or math.isnan(v)):
                return str(v)
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            return v

        atomic_write_json(
            path,
            {
                "summary": clean(summary),
                "images": [clean(r) for r in rows],
                "extra_predictions": pairing.extra_pred,
            },
        )
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


def _is_dataset_spec(text: str) -> bool:
    """True when ``--gt`` names a dataset (``KIND:PATH`` or a lode-bench dataset folder)."""
    path = Path(text)
    if path.is_dir():
        return (path / "manifest.json").is_file()
    kind, sep, _ = text.partition(":")
    return bool(sep) and len(kind) > 1 and "/" not in kind and "\\" not in kind


def _load_gt(spec: str, split: str | None) -> Any:
    from lode_bench.datasets.registry import resolve_dataset

    index = resolve_dataset(spec, split=split)
    for w in index.warnings:
        click.secho(f"warning: {spec}: {w}", fg="yellow", err=True)
    return index


@click.command("score", epilog=_SYMMETRY)
@click.option(
    "--pred",
    "pred_dir",
    type=click.Path(path_type=Path),
    help="Folder of deblurred outputs: <id>.<ext>, nested (<seq>/<frame>.png) or flat "
    "(<seq>-<frame>.png, <seq>_<frame>.png).",
)
@click.option(
    "--gt",
    "gt_spec",
    metavar="DIR|KIND:PATH",
    help="Ground truth: a folder of sharp images, or a dataset (gopro:GOPRO_Large/test, "
    "realblur-j:PATH, reloblur:PATH, folder:PATH, any kind of `lode-bench ls datasets`, "
    "or a lode-bench dataset folder), whose loader gives the ids and the masks. "
    "It defines the image set.",
)
@click.option(
    "--example",
    default=None,
    metavar="SET/METHOD",
    help="Score a built-in real example instead of --pred/--gt, e.g. gopro/restormer "
    "(sets: gopro, realblur; methods: blur, hi-diff, restormer, stripformer).",
)
@click.option(
    "--mask",
    "mask_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder of blur masks (black/white PNG > 0, or LODE flow-magnitude .npy > 0.25 px); "
    "replaces a dataset's own masks.",
)
@click.option(
    "--mask-threshold",
    type=float,
    default=None,
    metavar="T",
    help="Use mask pixels > T (the file's own values) and accept masks that are not "
    "black/white (refused by default).",
)
@click.option(
    "--protocol", "-p", required=True, help="Protocol name (see `lode-bench ls protocols`)."
)
@lpips_option()
@click.option(
    "--out",
    "out_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Write per-image results here (.csv or .json).",
)
@click.option(
    "--recursive",
    is_flag=True,
    help="Folder --gt: pair by path relative to each folder, recursing.",
)
@split_option(
    help="Split of a dataset --gt (default: the kind's own, test for most).", default=None
)
@click.option(
    "--allow-grey",
    is_flag=True,
    help="Score greyscale predictions against colour ground truth (refused by default).",
)
@workers_option("Worker threads (default: cores, at most 8).")
@quiet_option("No progress bar.")
def score(
    pred_dir: Path | None,
    gt_spec: str | None,
    example: str | None,
    mask_dir: Path | None,
    mask_threshold: float | None,
    protocol: str,
    lpips_net: str | None,
    out_file: Path | None,
    recursive: bool,
    split: str | None,
    allow_grey: bool,
    workers: int | None,
    quiet: bool,
) -> None:
    """Score a folder of outputs against ground truth under a named protocol.

    Files are paired by id, never by listing order, exactly as `run --model folder=DIR`
    pairs them. Exits with status 1 when any image failed (missing prediction,
    unreadable file, size or channel mismatch, mask that is not black/white, ECC
    failure, ...), 2 for a usage or input error (nothing pairs, ambiguous names,
    missing LPIPS weights).
    """
    from lode_bench.io.header import max_pixels
    from lode_bench.metrics.inputs import LOSSY_NOTE
    from lode_bench.metrics.protocols import get_protocol, no_reference_message
    from lode_bench.metrics.scoring import pair_folders, pair_samples, score_pairs, summarise

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
        gt_spec = str(gt_dir)
    if pred_dir is None or gt_spec is None:
        raise click.UsageError("give --pred and --gt folders (or --example SET/METHOD)")
    proto = get_protocol(protocol)
    if lpips_net:
        from lode_bench.metrics.lpips_metric import find_backbone_weights

        find_backbone_weights(lpips_net)  # missing weights stop here, before any image
        proto = proto.with_lpips(lpips_net)
    proto, not_computed = proto.available()  # partial (NR) protocols: report missing files
    for col, why in not_computed.items():
        click.secho(f"warning: {col} not computed: {why}", fg="yellow", err=True)
    use_masks = mask_dir if proto.mask != "none" else None
    if _is_dataset_spec(gt_spec):
        data = _load_gt(gt_spec, split)
        if proto.needs_reference and any(s.sharp is None for s in data.samples):
            raise LodeBenchError(no_reference_message(proto, f"--gt {gt_spec}"))
        if proto.mask == "required" and mask_dir is None and not any(s.mask for s in data.samples):
            raise click.UsageError(
                f"protocol {proto.name!r} needs --mask DIR ({gt_spec} has no masks)"
            )
        pairing = pair_samples(data.samples, pred_dir, use_masks, where=gt_spec)
    else:
        if proto.mask == "required" and mask_dir is None:
            raise click.UsageError(f"protocol {proto.name!r} needs --mask DIR")
        pairing = pair_folders(pred_dir, gt_spec, use_masks, recursive=recursive)
    for key in pairing.extra_pred:
        click.secho(
            f"warning: prediction {key} has no ground truth in {gt_spec} (ignored)",
            fg="yellow",
            err=True,
        )
    if pairing.missing_pred:
        click.secho(
            f"warning: {len(pairing.missing_pred)} ground-truth image(s) have no "
            f"prediction in {pred_dir}: {', '.join(pairing.missing_pred[:10])}"
            + (" ..." if len(pairing.missing_pred) > 10 else ""),
            fg="yellow",
            err=True,
        )
    scores = list(
        score_pairs(
            pairing.pairs,
            proto,
            jobs=workers,
            progress=not quiet,
            allow_grey=allow_grey,
            mask_threshold=mask_threshold,
        )
    )
    summary = summarise(scores, proto, pairing.pairs)
    if out_file is not None:
        try:
            _write_scores(out_file, scores, pairing, summary, proto)
        except OSError as exc:
            raise LodeBenchError(
                f"--out {out_file}: cannot write ({exc.strerror or exc})"
            ) from None
    click.echo(f"\nprotocol {proto.id}: {proto.reproduces}")
    width = max(len(c) for c in proto.columns) + 2
    click.echo(f"{'metric':<{width}}{'mean':>12}  better")
    for col in proto.columns:
        arrow = "higher" if proto.higher_is_better(col) else "lower"
        click.echo(
            f"{col:<{width}}{format_number(summary['mean'][col], missing='nan'):>12}  {arrow}"
        )
    click.echo(f"images: {summary['n_ok']} scored, {summary['n_failed']} failed")
    for col, n in summary["n_infinite"].items():
        click.echo(
            f"note: {n} image(s) have infinite {col} (identical to ground truth); "
            "the mean is then inf"
        )
    if summary["n_lossy_predictions"]:
        click.echo(f"note: {LOSSY_NOTE.format(n=summary['n_lossy_predictions'])}")
    failed = [s for s in scores if not s.ok]
    for s in failed[:20]:
        click.secho(f"failed: {s.image_id}: {s.error_message}", fg="red", err=True)
    if len(failed) > 20:
        click.secho(f"... and {len(failed) - 20} more (see --out)", fg="red", err=True)
    if out_file is not None:
        click.echo(f"per-image results: {out_file}")
    if failed:
        sys.exit(1)
