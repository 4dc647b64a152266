"""A small LODE-style dataset built from the built-in scene in seconds (no download).

Global samples come with the exact blur kernel of their camera motion (a pure
sub-pixel translation over a photograph), saved as ``kernel`` (``.npy``, float64,
odd size, centred) so non-blind deconvolution baselines can use it:
``average of the frames in linear space == convolve(linear(sharp), kernel)`` away from
the borders, up to the 8-bit quantisation of the frames (linear = gamma 2.2 decoding).
Local samples follow the ``lode-local`` recipe (objects moving over a photograph).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from tqdm import tqdm

from lode_bench.datasets.manifest import DatasetWriter, Manifest
from lode_bench.errors import ConfigError
from lode_bench.synth.averaging import average_frames
from lode_bench.synth.builtin import render_global_clip
from lode_bench.synth.kernels import translation_psf
from lode_bench.synth.pipeline import object_library
from lode_bench.synth.recipes import Recipe, validate_recipe
from lode_bench.synth.samples import local_object_sample

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


def build_builtin_dataset(
    out_dir: str | Path,
    *,
    kind: Literal["local", "global", "both"] = "both",
    n_samples: int = 8,
    size: tuple[int, int] = (240, 320),
    seed: int = 0,
    progress: bool = False,
    name: str = "lode-builtin",
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

    Returns:
        The finalised manifest (split ``test``; ids ``global_0000``, ``local_0000``, ...).
    """
    if kind not in ("local", "global", "both"):
        raise ConfigError(f"kind must be 'local', 'global' or 'both', got {kind!r}")
    if n_samples < 1:
        raise ConfigError(f"n_samples must be >= 1, got {n_samples}")
    kinds = ["global", "local"] if kind == "both" else [kind]
    recipes = {
        "global": validate_recipe(BUILTIN_GLOBAL, name="builtin-global"),
        "local": validate_recipe(BUILTIN_LOCAL, name="builtin-local"),
    }
    meta = {
        "generator": "lode-bench build_builtin_dataset",
        "seed": seed,
        "size": list(size),
        "recipes": {
            k: {"name": recipes[k].name, "recipe_hash": recipes[k].recipe_hash} for k in kinds
        },
    }
    writer = DatasetWriter(out_dir, name, meta=meta)
    library = object_library("builtin", size=size) if "local" in kinds else None
    jobs = [(k, i) for k in kinds for i in range(n_samples)]
    for k, i in tqdm(jobs, desc="builtin dataset", unit="sample", disable=not progress):
        sid = f"{k}_{i:04d}"
        if writer.has_sample(sid, split="test"):
            continue
        recipe = recipes[k]
        rng = np.random.default_rng([seed, 0 if k == "global" else 1, i])
        if k == "global":
            s = global_kernel_sample(recipe, rng, size)
            images, arrays, extra = s["images"], s["arrays"], s["extra"]
        else:
            assert library is not None
            res = local_object_sample(library, recipe, rng)
            images, arrays, extra = (
                res.images,
                res.arrays,
                {**res.extra, "kind": "local", "source": "builtin:objects"},
            )
        extra.update(recipe=recipe.name, recipe_hash=recipe.recipe_hash, seed=seed, sample_index=i)
        writer.write_sample(sid, images, split="test", arrays=arrays or None, extra=extra)
    return writer.finalize()
