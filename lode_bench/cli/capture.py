"""``lode-bench capture``: ingest real captures (video frames, camera response, objects)."""

from __future__ import annotations

from pathlib import Path

import click

from lode_bench.cli.base import Group
from lode_bench.cli.options import quiet_option


@click.group("capture", cls=Group)
def capture() -> None:
    """Ingest raw captures: video -> frames, camera-response calibration, object libraries.

    Exit status: 0 done; 2 for a usage or input error (one line).
    """


@capture.command("extract")
@click.argument("video", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--start", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--stop",
    type=click.IntRange(min=1),
    default=None,
    help="Frame index to stop before (default: end).",
)
@click.option("--step", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--fps",
    type=click.FloatRange(min=0, min_open=True, max=1e6),
    default=None,
    help="Override the container's frame rate.",
)
@quiet_option()
def extract(
    video: Path,
    out_dir: Path,
    start: int,
    stop: int | None,
    step: int,
    fps: float | None,
    quiet: bool,
) -> None:
    """Decode VIDEO into numbered PNG frames + frames.json (resumable)."""
    from lode_bench.capture.extract import extract_video_frames

    doc = extract_video_frames(
        video, out_dir, start=start, stop=stop, step=step, fps=fps, progress=not quiet
    )
    click.echo(f"{len(doc['frames'])} frames at {doc['fps']:g} fps in {out_dir}")


@capture.command("calibrate-crf")
@click.argument(
    "images", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--times",
    default=None,
    help="Exposure times in seconds, comma separated, one per image (default: from EXIF).",
)
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Inverse CRF table to write (REDS text format, B G R columns).",
)
@click.option(
    "--profile",
    "profile_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write a camera profile YAML that uses the table.",
)
@click.option(
    "--method",
    type=click.Choice(["robertson", "debevec", "auto"]),
    default="auto",
    show_default=True,
    help="Robertson, Debevec, or the one whose table makes the exposures agree best.",
)
@click.option("--smoothness", type=float, default=10.0, show_default=True, help="Debevec's lambda.")
@click.option(
    "--samples", type=int, default=200, show_default=True, help="Debevec's sample pixels."
)
@click.option(
    "--max-iter",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Robertson iterations.",
)
def calibrate_crf(
    images: tuple[Path, ...],
    times: str | None,
    out_path: Path,
    profile_path: Path | None,
    method: str,
    smoothness: float,
    samples: int,
    max_iter: int,
) -> None:
    """Estimate a 256x3 inverse camera response from bracketed IMAGES (Robertson/Debevec)."""
    import warnings

    import yaml

    from lode_bench.capture.response import save_inverse_crf_table
    from lode_bench.capture.robertson import CalibrationWarning, calibrate_from_files
    from lode_bench.io import atomic_write_text

    t: list[float] | None = None
    if times is not None:
        try:
            t = [float(v) for v in times.split(",") if v.strip()]
        except ValueError as exc:
            raise click.BadParameter(f"--times must be numbers, got {times!r}") from exc
        if len(t) != len(images):
            raise click.BadParameter(f"{len(images)} images but {len(t)} exposure times")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CalibrationWarning)  # reported below
        res = calibrate_from_files(
            list(images),
            t,
            method=method,
            smoothness=smoothness,
            samples=samples,
            max_iter=max_iter,
        )
    for msg in res.warnings:
        click.echo(f"warning: {msg}", err=True)
    used = res.method.capitalize()
    detail = (
        f"{used} calibration (lambda {smoothness:g}, {samples} samples)"
        if res.method == "debevec"
        else f"{used} calibration"
    )
    tried = ", ".join(f"{m} {r:.4f}" for m, r in res.residuals.items())
    names = ", ".join(p.name for p in images)
    times_used = ", ".join(f"{v:g}" for v in res.exposure_times)
    if t is None:
        times_used += " (EXIF)"
    save_inverse_crf_table(
        out_path,
        res.table,
        comment=f"{detail} from {names}\nexposure times (s): {times_used}\n"
        f"consistency residual (stops): {tried}",
    )
    if profile_path is not None:
        rel = Path(out_path).resolve()
        try:
            rel = rel.relative_to(Path(profile_path).resolve().parent)
        except ValueError:
            pass
        doc = {
            "name": Path(profile_path).stem,
            "response": {
                "kind": "table",
                "path": rel.as_posix(),
                "order": "bgr",
                "extrapolate": True,
            },
            "notes": f"{detail} from {len(images)} exposures.",
        }
        atomic_write_text(profile_path, yaml.safe_dump(doc, sort_keys=False))
    click.echo(
        f"inverse CRF written to {out_path} ({res.method}, consistency residual "
        f"{res.residual:.4f} stops; tried: {tried})"
    )


@capture.command("objects")
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(["coco", "coco-panoptic", "voc"]),
    help="Annotation format of the segmentation dataset.",
)
@click.option(
    "--annotations",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="COCO instances / panoptic JSON.",
)
@click.option(
    "--images",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of the source images (COCO).",
)
@click.option(
    "--panoptic-masks",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of the panoptic PNGs (coco-panoptic).",
)
@click.option(
    "--voc-root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="VOC folder with SegmentationObject/, SegmentationClass/, JPEGImages/.",
)
@click.option("--image-set", default=None, help="VOC ImageSets/Segmentation/<name>.txt to use.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--licence", required=True, help="Terms of the source images and annotations.")
@click.option("--name", default=None, help="Library name (default: the --out folder name).")
@click.option("--classes", default=None, help="Comma-separated class names to keep.")
@click.option("--min-area", type=click.IntRange(1), default=1024, show_default=True)
@click.option("--min-side", type=click.IntRange(1), default=16, show_default=True)
@click.option("--pad", type=click.IntRange(0), default=2, show_default=True)
@click.option(
    "--feather",
    type=click.FloatRange(0),
    default=2.0,
    show_default=True,
    help="Inward alpha feather in px (0: hard alpha).",
)
@click.option("--max-objects", type=click.IntRange(1), default=None)
@click.option("--include-crowd", is_flag=True, help="Also cut COCO crowd regions.")
@quiet_option()
def objects(
    fmt: str,
    annotations: Path | None,
    images: Path | None,
    panoptic_masks: Path | None,
    voc_root: Path | None,
    image_set: str | None,
    out_dir: Path,
    licence: str,
    name: str | None,
    classes: str | None,
    min_area: int,
    min_side: int,
    pad: int,
    feather: float,
    max_objects: int | None,
    include_crowd: bool,
    quiet: bool,
) -> None:
    """Build an object library (RGBA cut-outs + library.json) from a segmentation dataset."""
    from lode_bench.capture import objects as ob

    if fmt == "voc":
        if voc_root is None:
            raise click.UsageError("--format voc needs --voc-root")
        inst = ob.voc_objects(voc_root, image_set=image_set)
        source = {"format": "voc", "root": voc_root.name, "image_set": image_set}
    else:
        if annotations is None or images is None:
            raise click.UsageError(f"--format {fmt} needs --annotations and --images")
        if fmt == "coco":
            inst = ob.coco_instances(annotations, images, include_crowd=include_crowd)
        else:
            if panoptic_masks is None:
                raise click.UsageError("--format coco-panoptic needs --panoptic-masks")
            inst = ob.coco_panoptic(
                annotations, panoptic_masks, images, include_crowd=include_crowd
            )
        source = {"format": fmt, "annotations": annotations.name}
    doc = ob.build_object_library(
        inst,
        out_dir,
        name=name or out_dir.name,
        licence=licence,
        source=source,
        classes=[c for c in classes.split(",") if c.strip()] if classes else None,
        min_area=min_area,
        min_side=min_side,
        pad=pad,
        feather=feather,
        max_objects=max_objects,
        progress=not quiet,
    )
    per = ", ".join(f"{k} {v}" for k, v in doc["counts"].items())
    click.echo(f"{len(doc['objects'])} objects ({per}) in {out_dir}")
