"""Where synthesis reads from: frame sequences and object libraries.

Sources:

* ``"builtin"``: the built-in scene (:mod:`lode_bench.synth.builtin`);
* a folder of frames, or a folder of sequence folders (one sequence each);
* a video file;
* for ``local-objects`` / ``local-shake``: a folder with ``backgrounds/`` and
  ``objects/`` (RGBA PNGs, or ``<name>.png`` + ``<name>.mask.png``), or a library
  built by ``lode-bench capture objects``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lode_bench.capture.frames import FrameSource, FrameSourceError, has_frames, open_frame_source
from lode_bench.errors import ConfigError
from lode_bench.io import list_images, read_image
from lode_bench.synth.builtin import (
    BACKGROUNDS,
    builtin_global_source,
    builtin_local_source,
    builtin_objects,
    builtin_photo,
    fit_photo,
)
from lode_bench.synth.recipes import Recipe
from lode_bench.synth.samples import ObjectLibrary

#: What :func:`~lode_bench.synth.pipeline.run_recipe` accepts as a source.
Source = str | Path | FrameSource | ObjectLibrary | list[FrameSource]


def frame_sources(
    source: Source, recipe: Recipe, *, size: tuple[int, int], seed: int, fps: float | None = None
) -> list[FrameSource]:
    """Resolve ``source`` into frame sequences for ``global`` / ``local-real`` recipes.

    ``fps`` is the capture rate of frame folders (and overrides a video's container rate).
    """
    if isinstance(source, FrameSource):
        return [source]
    if isinstance(source, list):
        return source
    if isinstance(source, ObjectLibrary):
        raise ConfigError(f"recipe kind {recipe.kind!r} needs frames, not an object library")
    if str(source) == "builtin":
        if recipe.kind == "local-real":
            return [builtin_local_source(size=size, seed=seed, response=recipe.response())]
        return [builtin_global_source(size=size, seed=seed)]
    p = Path(source)
    raw = recipe.raw
    if p.is_dir() and not has_frames(p):
        subs = [d for d in sorted(p.iterdir()) if has_frames(d)]
        if not subs:
            raise FrameSourceError(f"{p}: holds neither frames nor sequence folders with frames")
        return [open_frame_source(d, fps=fps, raw=raw) for d in subs]
    return [open_frame_source(p, fps=fps, raw=raw)]


def _read_rgba(path: Path) -> np.ndarray:
    """RGBA float from an image file: colour and alpha recovered from two composites."""
    mask_path = path.with_name(path.stem + ".mask.png")
    if mask_path.is_file():
        rgb = read_image(path, dtype="float32")
        a = read_image(mask_path, dtype="float32")[..., 0]
        if a.shape != rgb.shape[:2]:
            raise ConfigError(f"{mask_path}: size differs from {path}")
        return np.dstack([rgb, a]).astype(np.float32)
    black = read_image(path, dtype="float32", alpha="black").astype(np.float64)
    white = read_image(path, dtype="float32", alpha="white").astype(np.float64)
    a = np.clip(1.0 - (white - black).mean(axis=2), 0.0, 1.0)
    rgb = np.where(a[..., None] > 1e-6, black / np.maximum(a[..., None], 1e-6), 0.0)
    return np.dstack([np.clip(rgb, 0, 1), a]).astype(np.float32)


def object_library(
    source: Source, *, size: tuple[int, int] | None, objects_dir: str | Path | None = None
) -> ObjectLibrary:
    """Resolve ``source`` into backgrounds + objects for ``local-objects`` / ``local-shake``.

    ``objects_dir`` (a recipe's ``objects.library``) replaces the source's objects by
    those of a library folder built by ``lode-bench capture objects``.
    """
    if objects_dir is not None:
        from lode_bench.capture.objects import load_object_library

        base = object_library(source, size=size)
        objs, doc = load_object_library(objects_dir)
        return ObjectLibrary(
            backgrounds=base.backgrounds, objects=objs, name=f"{base.name}+{doc['name']}"
        )
    if isinstance(source, ObjectLibrary):
        return source
    if str(source) == "builtin":
        sz = size or (240, 320)
        return ObjectLibrary(
            backgrounds=[(b, fit_photo(builtin_photo(b), sz)) for b in BACKGROUNDS],
            objects=builtin_objects(),
            name="builtin",
        )
    p = Path(str(source))
    bdir, odir = p / "backgrounds", p / "objects"
    if not bdir.is_dir() or not odir.is_dir():
        raise FrameSourceError(
            f"{p}: an object library needs 'backgrounds/' and 'objects/' folders"
        )
    bgs = []
    for f in list_images(bdir):
        img = read_image(f)
        bgs.append((f.stem, fit_photo(img, size) if size else img))
    if (p / "library.json").is_file():  # a built library with backgrounds/: files checked
        from lode_bench.capture.objects import load_object_library

        objs = load_object_library(p)[0]
    else:
        objs = [
            (f.stem, _read_rgba(f)) for f in list_images(odir) if not f.name.endswith(".mask.png")
        ]
    if size is None and len({b.shape for _, b in bgs}) > 1:
        raise ConfigError(f"{bdir}: backgrounds differ in size; pass a size to resize them")
    return ObjectLibrary(backgrounds=bgs, objects=objs, name=p.name)
