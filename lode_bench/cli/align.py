"""``lode-bench align``: align a folder of captured blurry/sharp pairs into a dataset."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lode_bench.cli.base import EXIT_SOME_FAILED, Command
from lode_bench.cli.options import (
    DEFAULT_SPLIT,
    executor_options,
    quiet_option,
    split_option,
    workers_option,
)

# lode_bench.align.transforms.MOTION_MODELS, spelled out so that ``lode-bench --help`` does
# not import OpenCV (tests/test_api.py checks that the two agree)
MOTION_CHOICES = ("translation", "euclidean", "affine", "homography")


@click.command("align", cls=Command)
@click.argument("input_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output dataset folder (a partial run there is resumed).",
)
@click.option(
    "--mode",
    type=click.Choice(["per-pair", "per-scene"]),
    default="per-pair",
    show_default=True,
    help="One registration per pair, or one per scene from its reference pair.",
)
@click.option(
    "--reference",
    default=None,
    help="Name key of each scene's reference pair in per-scene mode (default: first by name).",
)
@click.option(
    "--motion", type=click.Choice(MOTION_CHOICES), default="homography", show_default=True
)
@click.option(
    "--init",
    "init",
    type=click.Choice(["phase", "features", "identity"]),
    default="phase",
    show_default=True,
    help="Initialisation of ECC.",
)
@click.option(
    "--iterations",
    type=click.IntRange(1, 10000),
    default=300,
    show_default=True,
    help="Maximum ECC iterations per pyramid level.",
)
@click.option(
    "--local/--global",
    "local",
    default=False,
    show_default=True,
    help="Local blur (moving objects masked, blur masks written) or global blur.",
)
@click.option(
    "--photometric",
    type=click.Choice(["auto", "meanstd", "lstsq", "none"]),
    default="auto",
    show_default=True,
    help="auto: meanstd (RealBlur) for global, lstsq on static pixels for local.",
)
@click.option(
    "--curve/--no-curve",
    default=False,
    show_default=True,
    help="Also fit a monotone per-channel tone curve.",
)
@click.option(
    "--direction",
    type=click.Choice(["sharp-to-blur", "blur-to-sharp"]),
    default="sharp-to-blur",
    show_default=True,
    help="Which image's photometry is changed.",
)
@click.option(
    "--centroid/--no-centroid",
    default=None,
    help="Centroid alignment (default: on for --global, off for --local).",
)
@click.option(
    "--kernel-size",
    type=int,
    default=65,
    show_default=True,
    help="Odd side (px) of the blur kernel estimated for centroid alignment.",
)
@click.option(
    "--mask-method",
    type=click.Choice(["diff", "flow", "union", "intersection"]),
    default="diff",
    show_default=True,
)
@click.option(
    "--mask-threshold",
    type=float,
    default=None,
    help="Absolute difference threshold in [0,1] (default: automatic from the noise).",
)
@click.option(
    "--flow-threshold",
    type=float,
    default=1.0,
    show_default=True,
    help="Flow magnitude (px) above which a pixel moves.",
)
@click.option(
    "--flow-method",
    type=click.Choice(["dis", "deepflow"]),
    default="dis",
    show_default=True,
    help="Optical flow of the flow masks (deepflow: as LODE; needs opencv-contrib-python-headless).",
)
@click.option(
    "--save-flow/--no-save-flow",
    default=False,
    show_default=True,
    help="Write each pair's flow-magnitude map (LODE-style, px) as .npy next to its mask (--local).",
)
@click.option(
    "--min-area",
    type=click.IntRange(0),
    default=200,
    show_default=True,
    help="Mask regions smaller than this (px) are dropped.",
)
@click.option(
    "--min-correlation",
    type=float,
    default=0.8,
    show_default=True,
    help="Flag pairs whose ECC correlation is lower.",
)
@split_option(f"Split the aligned pairs are written to (default: {DEFAULT_SPLIT}).")
@click.option("--name", default=None, help="Dataset name (default: the input folder's name).")
@click.option(
    "--overview-count",
    type=click.IntRange(0),
    default=6,
    show_default=True,
    help="Worst pairs shown in qc_overview.png.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Count pairs flagged by QC as failed too (exit status 1 when any was flagged).",
)
@executor_options("alignment tasks (one per scene)")
@workers_option("Local pool size (default: CPU cores).")
@quiet_option()
def align_command(
    input_dir: Path,
    out_dir: Path,
    mode: str,
    reference: str | None,
    motion: str,
    init: str,
    iterations: int,
    local: bool,
    photometric: str,
    curve: bool,
    direction: str,
    centroid: bool | None,
    kernel_size: int,
    mask_method: str,
    mask_threshold: float | None,
    flow_threshold: float,
    flow_method: str,
    save_flow: bool,
    min_area: int,
    min_correlation: float,
    split: str,
    name: str | None,
    overview_count: int,
    strict: bool,
    executor_name: str,
    workers: int | None,
    ray_address: str | None,
    quiet: bool,
) -> None:
    """Align captured blurry/sharp pairs in INPUT_DIR and write an aligned dataset.

    INPUT_DIR holds <scene>/blur/* and <scene>/sharp/* (or a flat blur/ and sharp/);
    files pair by name. Writes the dataset, qc.csv and qc_overview.png to --out.

    Exit status: 0 when every pair was aligned (pairs flagged by QC are written and
    listed in qc.csv: a result, not a failure, unless --strict); 1 when some pairs
    failed (unreadable image, no registration found: each is listed, the others are
    written); 2 for a usage or input error (one line).
    """
    from lode_bench.align.dataset import align_dataset
    from lode_bench.align.geometric import GeometricConfig
    from lode_bench.align.masks import MaskConfig
    from lode_bench.align.photometric import PhotometricConfig
    from lode_bench.align.pipeline import AlignConfig
    from lode_bench.align.qc import QCThresholds
    from lode_bench.errors import ConfigError

    method = photometric if photometric != "auto" else ("lstsq" if local else "meanstd")
    try:
        cfg = AlignConfig(
            geometric=GeometricConfig(motion=motion, init=init, iterations=iterations),  # type: ignore[arg-type]
            photometric=PhotometricConfig(method=method, curve=curve, direction=direction),  # type: ignore[arg-type]
            mask=MaskConfig(
                method=mask_method,  # type: ignore[arg-type]
                diff_threshold=mask_threshold,
                flow_threshold=flow_threshold,
                min_area=min_area,
                flow_method=flow_method,  # type: ignore[arg-type]
                save_flow=save_flow,
            ),
            qc=QCThresholds(min_correlation=min_correlation),
            local=local,
            mode=mode,  # type: ignore[arg-type]
            reference=reference,
            centroid=centroid,
            kernel_size=kernel_size,
        )
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from exc
    from lode_bench.parallel.choice import make_executor

    executor = make_executor(executor_name, workers=workers, address=ray_address)
    try:
        report = align_dataset(
            input_dir,
            out_dir,
            cfg,
            name=name,
            split=split,
            overview_count=overview_count,
            executor=executor,
            progress=False if quiet else None,
            log=lambda line: click.echo(line, err=True),
        )
    finally:
        executor.close()
    ok, flagged, failed = report.count("ok"), report.count("flagged"), report.count("failed")
    click.echo(
        f"{len(report.records)} pairs: {ok} ok, {flagged} flagged, {failed} failed; "
        f"{len(report.unmatched)} unmatched files"
    )
    click.echo(
        f"dataset: {report.out_dir}  QC table: {report.qc_csv.name}"
        + (f"  overview: {report.overview.name}" if report.overview else "")
    )
    if failed or (strict and flagged):
        sys.exit(EXIT_SOME_FAILED)
