"""``lode-bench nriqa``: no-reference metrics (fit a NIQE model, score a folder, check files)."""

from __future__ import annotations

import math
from pathlib import Path

import click

from lode_bench.cli.base import Group
from lode_bench.cli.options import quiet_option
from lode_bench.errors import LodeBenchError


@click.group(name="nriqa", cls=Group)
def nriqa() -> None:
    """No-reference quality metrics: NIQE models and pyiqa-backed metrics.

    Exit status: 0 done; 2 for a usage or input error (one line).
    """


@nriqa.command(name="fit-niqe")
@click.argument("sharp_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--out",
    "out_file",
    type=click.Path(path_type=Path),
    required=True,
    help="Model file to write: .npz (BasicSR layout) or .mat (LIVE layout).",
)
@click.option(
    "--sharpness-threshold",
    type=float,
    default=0.75,
    show_default=True,
    help="Keep blocks sharper than this fraction of each image's sharpest block.",
)
@click.option("--block", type=int, default=96, show_default=True, help="Block side in pixels.")
@quiet_option("No progress bar.")
def fit_niqe(
    sharp_dir: Path, out_file: Path, sharpness_threshold: float, block: int, quiet: bool
) -> None:
    """Fit a NIQE pristine model from a folder of sharp images (LIVE procedure)."""
    from tqdm import tqdm

    from lode_bench.io import list_images, read_image
    from lode_bench.metrics.niqe import fit_niqe_model

    files = list_images(sharp_dir)
    if not files:
        raise LodeBenchError(f"{sharp_dir}: no images found")
    imgs = (
        read_image(p, dtype="uint8")
        for p in tqdm(files, desc="fit-niqe", unit="img", disable=quiet)
    )
    model = fit_niqe_model(
        imgs, sharpness_threshold=sharpness_threshold, block=block, source=str(sharp_dir)
    )
    model.save(out_file)
    click.echo(f"NIQE model from {len(files)} image(s) -> {out_file}")


@nriqa.command(name="score")
@click.argument("image_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--metric",
    "-m",
    "metrics",
    multiple=True,
    required=True,
    help="Registered NR metric (niqe, brisque, maniqa, ...) or pyiqa:<name>; repeatable.",
)
@click.option(
    "--weights",
    "weights_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder with the model files (default: $LODE_BENCH_NRIQA_WEIGHTS).",
)
@click.option("--batch-size", type=int, default=8, show_default=True, help="pyiqa batch size.")
@click.option(
    "--device", default=None, help="torch device for pyiqa metrics (default: CUDA if present)."
)
def score_nr(
    image_dir: Path,
    metrics: tuple[str, ...],
    weights_dir: Path | None,
    batch_size: int,
    device: str | None,
) -> None:
    """Rate every image of a folder with no-reference metrics and print the means."""
    from lode_bench.io import list_images, read_image
    from lode_bench.metrics.protocols import metric_spec

    files = list_images(image_dir)
    if not files:
        raise LodeBenchError(f"{image_dir}: no images found")
    imgs = [read_image(p, dtype="uint8") for p in files]
    for name in metrics:
        spec = metric_spec(name)
        if not spec.no_reference:
            raise LodeBenchError(f"metric {name!r} is full-reference; use `lode-bench score`")
        if spec.fn == "lode_bench.metrics.nriqa:pyiqa_score":
            from lode_bench.metrics.nriqa import get_scorer

            scorer = get_scorer(
                spec.defaults["name"],
                weights_dir=str(weights_dir) if weights_dir else None,
                device=device,
                batch_size=batch_size,
            )
            vals = scorer.score_batch(imgs)
        else:
            vals = [spec.compute(im, None)[spec.name] for im in imgs]
        finite = [v for v in vals if not math.isnan(v)]
        arrow = "higher" if spec.higher_is_better else "lower"
        mean = sum(finite) / len(finite) if finite else math.nan
        click.echo(f"{spec.name:<14}{mean:>12.4f}  ({arrow} is better, {len(finite)} image(s))")


@nriqa.command(name="check")
@click.option("--protocol", "-p", default="nr-glow", show_default=True, help="Protocol to check.")
def check(protocol: str) -> None:
    """Say which columns of a no-reference protocol can run here, and why the others cannot."""
    from lode_bench.metrics.protocols import get_protocol

    proto = get_protocol(protocol)
    for c in proto.calls:
        from lode_bench.metrics.protocols import metric_spec

        reason = metric_spec(c.metric).availability(**dict(c.params))
        click.echo(f"{c.column:<10} {'ok' if reason is None else 'missing: ' + reason}")
