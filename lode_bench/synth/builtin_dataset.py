"""A small LODE-style dataset built from the built-in scene in seconds (no download).

Global samples come with the exact blur kernel of their camera motion (a pure
sub-pixel translation over a photograph), saved as ``kernel`` (``.npy``, float64,
odd size, centred) so non-blind deconvolution baselines can use it:
``average of the frames in linear space == convolve(linear(sharp), kernel)`` away from
the borders, up to the 8-bit quantisation of the frames (linear = gamma 2.2 decoding).
Local samples follow the ``lode-local`` recipe (objects moving over a photograph).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from tqdm import tqdm

from lode_bench.datasets.manifest import DatasetWriter, Manifest
from lode_bench.errors import ConfigError
from lode_bench.parallel.executor import Executor, LocalExecutor
from lode_bench.synth.averaging import average_frames
from lode_bench.synth.builtin import render_global_clip
from lode_bench.synth.kernels import translation_psf
from lode_bench.synth.recipes import Recipe, validate_recipe
from lode_bench.synth.samples import local_object_sample
from lode_bench.synth.sources import object_library

BUILTIN_GLOBAL: dict[str, Any] = {
    "name": "builtin-global",
    "kind": "global",
    "split": "test",
    "response": "gamma",
    "description": "camera panning over a built-in photograph, gamma-2.2 averaging, exact kernel",
    "frames": {"n": [7, 9, 11, 13]},
    "tracks": {"blur": "gamma"},
}
BUILTIN_LOCAL: dict[str, Any] = {
    "name": "builtin-local",
    "kind": "local-objects",
    "split": "test",
    "response": "gamma",
    "description": "BladeNet-style objects over a built-in photograph",
    "frames": {"n": {"min": 5, "max": 21}},
    "objects": {
        "moving": [1, 3],
        "static": [0, 2],
        "max_shift": 1.0,
        "max_scale": 0.01,
        "max_rotation_deg": 0.3,
        "size": [0.2, 0.45],
    },
}


def global_kernel_sample(
    recipe: Recipe, rng: np.random.Generator, size: tuple[int, int]
) -> dict[str, Any]:
    """One global sample of the built-in pan: blur, sharp, exact kernel and metadata."""
    response = recipe.response()
    n = int(rng.choice(recipe.n_choices()))
    clip = render_global_clip(rng, n, size, response)
    return {
        "images": {"blur": average_frames(clip.frames, response), "sharp": clip.frames[n // 2]},
        "arrays": {"kernel": translation_psf([(float(x), float(y)) for x, y in clip.offsets])},
        "extra": {
            "kind": "global",
            "source": f"builtin:{clip.photo}",
            "frame_range": [0, n],
            "target_frame": n // 2,
            "n_frames": n,
            "n_averaged": n,
            "camera_offsets": np.round(clip.offsets, 6).tolist(),
        },
    }


@lru_cache(maxsize=2)
def _builtin_recipe(kind: str) -> Recipe:
    if kind == "global":
        return validate_recipe(BUILTIN_GLOBAL, name="builtin-global")
    return validate_recipe(BUILTIN_LOCAL, name="builtin-local")


@lru_cache(maxsize=4)
def _builtin_library(size: tuple[int, int]) -> Any:
    """The built-in object library, built once per process (read-only afterwards)."""
    return object_library("builtin", size=size)


def generator_versions() -> dict[str, str]:
    """Versions of Python and of the libraries that compute the built-in samples.

    Recorded in the manifest's ``meta`` (not part of the manifest hash): the samples are
    built from element-wise float64 arithmetic and :mod:`math` only where the bits could
    otherwise depend on a library release or the CPU, so every supported version should
    give the same hash; these versions say what a given manifest was made with.
    """
    import platform
    from importlib.metadata import PackageNotFoundError, version

    import cv2

    out = {"python": platform.python_version(), "opencv": cv2.__version__}
    for dist in ("numpy", "opencv-python-headless", "scipy", "scikit-image"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:  # e.g. OpenCV from another wheel (opencv-python)
            continue
    return out


BuiltinJob = tuple[str, int, int, tuple[int, int]]  # (kind, index, seed, size)


def builtin_sample(job: BuiltinJob) -> dict[str, Any]:
    """Compute one built-in sample (pure: the same job gives the same arrays anywhere).

    Args:
        job: ``(kind, index, seed, (H, W))`` with kind ``"global"`` or ``"local"``.

    Returns:
        ``{"id", "images", "arrays", "extra"}`` ready for :meth:`DatasetWriter.write_sample`.
    """
    k, i, seed, size = job
    recipe = _builtin_recipe(k)
    rng = np.random.default_rng([seed, 0 if k == "global" else 1, i])
    if k == "global":
        s = global_kernel_sample(recipe, rng, size)
        images, arrays, extra = s["images"], s["arrays"], s["extra"]
    else:
        res = local_object_sample(_builtin_library(size), recipe, rng)
        images, arrays, extra = (
            res.images,
            res.arrays,
            {**res.extra, "kind": "local", "source": "builtin:objects"},
        )
    extra.update(recipe=recipe.name, recipe_hash=recipe.recipe_hash, seed=seed, sample_index=i)
    return {"id": f"{k}_{i:04d}", "images": images, "arrays": arrays or None, "extra": extra}


def build_builtin_dataset(
    out_dir: str | Path,
    *,
    kind: Literal["local", "global", "both"] = "both",
    n_samples: int = 8,
    size: tuple[int, int] = (240, 320),
    seed: int = 0,
    progress: bool = False,
    name: str = "lode-builtin",
    executor: Executor | None = None,
    overwrite: bool = False,
) -> Manifest:
    """Make (or resume) a small dataset from the built-in scene.

    Args:
        out_dir: dataset root.
        kind: ``"global"`` (camera pan, with ``kernel``), ``"local"`` (moving objects,
            with ``mask``) or ``"both"``.
        n_samples: samples of each kind.
        size: (H, W) of every image.
        seed: base seed; sample ``i`` of a kind uses ``default_rng([seed, kind_id, i])``.
        progress: show a progress bar.
        name: dataset name in the manifest.
        executor: compute samples on this executor (a local pool or a Ray cluster); only
            this process writes files, so the dataset's bytes do not depend on it.
        overwrite: replace a dataset in ``out_dir`` made with another seed, size or kind
            (default: refuse it, so that samples of both never mix).

    Returns:
        The finalised manifest (split ``test``; ids ``global_0000``, ``local_0000``, ...).

    Raises:
        ConfigError: bad ``kind`` or ``n_samples``.
        ManifestError: ``out_dir`` holds a dataset made with other parameters.
        LodeBenchError: the first sample that failed on the executor (finished samples
            are kept; a re-run resumes).

    Example:
        >>> import tempfile
        >>> tmp = tempfile.TemporaryDirectory()
        >>> manifest = build_builtin_dataset(tmp.name, n_samples=1, size=(64, 96))
        >>> [(s["id"], sorted(s["files"])) for s in manifest.samples]
        [('global_0000', ['blur', 'kernel', 'sharp']), ('local_0000', ['blur', 'mask', 'sharp'])]
        >>> tmp.cleanup()
    """
    if kind not in ("local", "global", "both"):
        raise ConfigError(f"kind must be 'local', 'global' or 'both', got {kind!r}")
    if n_samples < 1:
        raise ConfigError(f"n_samples must be >= 1, got {n_samples}")
    kinds = ["global", "local"] if kind == "both" else [kind]
    size = (int(size[0]), int(size[1]))
    meta = {
        "generator": "lode-bench build_builtin_dataset",
        "generator_versions": generator_versions(),
        "seed": seed,
        "size": list(size),
        "recipes": {
            k: {"name": _builtin_recipe(k).name, "recipe_hash": _builtin_recipe(k).recipe_hash}
            for k in kinds
        },
    }
    writer = DatasetWriter(
        out_dir,
        name,
        meta=meta,
        identity=("generator", "seed", "size", "recipes"),
        overwrite=overwrite,
    )
    jobs: list[BuiltinJob] = [
        (k, i, seed, size)
        for k in kinds
        for i in range(n_samples)
        if not writer.has_sample(f"{k}_{i:04d}", split="test")
    ]
    bar = tqdm(total=len(jobs), desc="builtin dataset", unit="sample", disable=not progress)
    first_error: BaseException | None = None
    with LocalExecutor(kind="serial") as serial:
        for _job, res in (executor or serial).map_unordered(builtin_sample, jobs):
            bar.update()
            if isinstance(res, BaseException):
                first_error = first_error or res
                continue
            writer.write_sample(
                res["id"], res["images"], split="test", arrays=res["arrays"], extra=res["extra"]
            )
    bar.close()
    if first_error is not None:
        raise first_error
    return writer.finalize()
