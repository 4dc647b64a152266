"""Compute one sample of each recipe kind (pure: inputs in, arrays + metadata out).

Nothing here touches the disk; :mod:`lode_bench.synth.pipeline` plans the work, skips
finished samples and writes through :class:`~lode_bench.datasets.manifest.DatasetWriter`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, cast

import numpy as np

from lode_bench.align.flow import window_flow_magnitude
from lode_bench.capture.response import CameraResponse
from lode_bench.errors import ConfigError, LodeBenchError
from lode_bench.io.bitdepth import frame_peak
from lode_bench.synth.averaging import (
    FrameAccumulator,
    frame_to_linear,
    frame_to_output,
    frame_to_uint8,
    quantize,
    quantize16,
)
from lode_bench.synth.builtin import resize_object
from lode_bench.synth.degrade import (
    DegradationParams,
    apply_rsblur_degradations,
    crop_border,
    jpeg_roundtrip,
)
from lode_bench.synth.interpolate import Preset, iter_interpolated
from lode_bench.synth.local_objects import (
    ObjectMotion,
    sample_motion,
    synthesize_object_blur,
    synthesize_shake_blur,
)
from lode_bench.synth.motion_mask import (
    blend_local_blur,
    feather,
    mask_rule,
    motion_mask,
)
from lode_bench.synth.recipes import Recipe


class NotEnoughFramesError(LodeBenchError):
    """A window needs more frames than the source holds."""


@dataclass
class SampleResult:
    """Images (uint8 / bool), ``.npy`` arrays and manifest extras of one sample."""

    images: dict[str, np.ndarray]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def _degradation_params(recipe: Recipe) -> DegradationParams | None:
    d = recipe.degradations
    if d is None:
        return None
    return DegradationParams(
        saturation=d.saturation,
        noise=recipe.noise(),
        bayer=d.bayer,
        red_gain=d.red_gain,
        blue_gain=d.blue_gain,
        ccm=recipe.ccm(),
        crop=d.crop,
    )


def linear_average(
    frames: Sequence[np.ndarray],
    response: CameraResponse,
    *,
    factor: int = 1,
    preset: str = "medium",
) -> tuple[np.ndarray, int]:
    """Linear-space mean of ``frames``, optionally over ×``factor`` interpolated frames.

    Frames may be uint8 or uint16 codes (linearised by ``response``) or float linear.

    Returns:
        (H×W×3 float64 mean, number of frames averaged).
    """
    linear_input = frames[0].dtype.kind == "f"
    if factor <= 1:
        acc = FrameAccumulator(response, linear_input=linear_input)
        for f in frames:
            acc.add(f)
        return acc.mean_linear(), acc.count
    lin = [frame_to_linear(f, response) for f in frames]
    flow = frames if frames[0].dtype == np.uint8 else [frame_to_uint8(f) for f in frames]
    total = np.zeros(frames[0].shape, dtype=np.float64)
    count = 0
    for f in iter_interpolated(lin, factor, preset=cast(Preset, preset), flow_frames=flow):
        total += f
        count += 1
    return total / count, count


def global_sample(
    frames: Iterable[np.ndarray], recipe: Recipe, rng: np.random.Generator
) -> SampleResult:
    """Average a window of frames into every track of a ``global`` recipe.

    Args:
        frames: the window (H×W×3 uint8 or uint16 codes, or float32 linear RAW frames),
            a sequence or an iterator (consumed while it decodes); target = frame
            ``n // 2`` (the middle one for odd n). Linear frames ignore the tracks'
            responses (they are averaged as they are) and are encoded with sRGB.
        recipe: a ``global`` recipe (``bit_depth`` 8 or 16 sets the output depth).
        rng: per-sample generator (degradation draws).
    """
    factor, preset = recipe.frames.interpolation, recipe.frames.interpolation_preset
    params = _degradation_params(recipe)
    jpeg = recipe.jpeg_quality
    tracks = recipe.tracks()
    bits = recipe.bit_depth
    if bits == 16 and jpeg is not None:
        raise ConfigError(f"recipe {recipe.name!r}: jpeg output needs bit_depth 8")
    it = iter(frames)
    head = next(it, None)
    if head is None:
        raise NotEnoughFramesError("empty window")
    linear_input = head.dtype.kind == "f"
    srgb = CameraResponse("srgb")
    # The first plain track accumulates while the window is still being decoded.
    first_role, first_response = next(iter(tracks.items()))
    early = (
        FrameAccumulator(first_response, linear_input=linear_input)
        if factor == 1 and params is None
        else None
    )
    window: list[np.ndarray] = []
    for f in chain([head], it):
        window.append(f)
        if early is not None:
            early.add(f)
    frames = window
    if len(frames) == 0:
        raise NotEnoughFramesError("empty window")
    sharp = frames[len(frames) // 2]
    images: dict[str, np.ndarray] = {}
    extra: dict[str, Any] = {}
    sat_frac = None
    if params is not None and params.saturation is not None:
        sat_frac = np.mean([f >= frame_peak(f) for f in frames], axis=0)
    for role, response in tracks.items():
        if factor == 1 and params is None:
            if role == first_role and early is not None:
                acc = early
            else:
                acc = FrameAccumulator(response, linear_input=linear_input)
                for f in frames:
                    acc.add(f)
            blur, n_avg = acc.mean_encoded(bits), acc.count
        else:
            lin, n_avg = linear_average(frames, response, factor=factor, preset=preset)
            if params is not None:
                lin, draws = apply_rsblur_degradations(
                    lin, rng, params, saturated_fraction=sat_frac
                )
                extra[f"{role}_draws"] = draws
            enc = (srgb if linear_input else response).from_linear(lin)
            blur = quantize16(enc) if bits == 16 else quantize(enc)
        if jpeg is not None:
            blur = jpeg_roundtrip(blur, jpeg)
        images[role] = blur
        extra["n_averaged"] = n_avg
    crop = params.crop if params is not None else 0
    images = {k: crop_border(v, crop) for k, v in images.items()}
    images["sharp"] = crop_border(frame_to_output(sharp, bits), crop)
    if bits != 8:
        extra["output_bit_depth"] = bits
    return SampleResult(images=images, extra=extra)


def local_real_sample(
    frames: Sequence[np.ndarray], recipe: Recipe, rng: np.random.Generator
) -> SampleResult:
    """Static-camera footage: motion mask from the window, blur only inside it (feathered).

    uint16 and float linear (RAW) windows are averaged and blended at full precision;
    the motion mask and flow are computed on their 8-bit versions.
    """
    del rng  # deterministic
    params = recipe.mask
    response = recipe.response()
    fr = recipe.frames
    bits = recipe.bit_depth
    codes8 = frames[0].dtype == np.uint8
    frames8 = frames if codes8 else [frame_to_uint8(f) for f in frames]
    mask = motion_mask(frames8, params)
    weight = feather(mask, params.feather_sigma)
    lin, n_avg = linear_average(
        frames, response, factor=fr.interpolation, preset=fr.interpolation_preset
    )
    sharp = frames[len(frames) // 2]
    if codes8 and bits == 8:
        blur = blend_local_blur(frames, weight, response, average_linear=lin)
    else:
        encoding = CameraResponse("srgb") if sharp.dtype.kind == "f" else response
        w = weight[..., None]
        enc = encoding.from_linear(w * lin + (1.0 - w) * frame_to_linear(sharp, response))
        blur = quantize16(enc) if bits == 16 else quantize(enc)
        outside = weight <= 0
        blur[outside] = frame_to_output(sharp, bits, encoding=encoding)[outside]
    support = weight > 0
    arrays = (
        {"flow_magnitude": window_flow_magnitude(frames8, method=params.flow_method)}
        if params.method != "diff"
        else {}
    )
    return SampleResult(
        images={"blur": blur, "sharp": frame_to_output(sharp, bits), "mask": support},
        arrays=arrays,
        extra={
            "n_averaged": n_avg,
            "mask_coverage": float(support.mean()),
            "motion_coverage": float(mask.mean()),
            "mask_rule": mask_rule(params),
        },
    )


@dataclass
class ObjectLibrary:
    """Backgrounds (uint8 RGB, already at output size) and RGBA float objects to composite."""

    backgrounds: list[tuple[str, np.ndarray]]
    objects: list[tuple[str, np.ndarray]]
    name: str = "objects"

    def __post_init__(self) -> None:
        if not self.backgrounds:
            raise ConfigError("object library: no background image")
        if not self.objects:
            raise ConfigError("object library: no object")


def local_object_sample(
    library: ObjectLibrary, recipe: Recipe, rng: np.random.Generator
) -> SampleResult:
    """BladeNet-style (``local-objects``) or camera-shake (``local-shake``) local blur."""
    o = recipe.objects
    bg_name, bg = library.backgrounds[int(rng.integers(len(library.backgrounds)))]
    h, w = bg.shape[:2]
    n_mov = int(rng.integers(o.moving[0], o.moving[1] + 1))
    n_stat = int(rng.integers(o.static[0], o.static[1] + 1))
    n_mov = max(1, n_mov)
    pool = [
        k for k, (name, _) in enumerate(library.objects) if not name.startswith(bg_name)
    ] or list(range(len(library.objects)))
    picks = [pool[int(rng.integers(len(pool)))] for _ in range(n_mov + n_stat)]
    objs, names = [], []
    for k in picks:
        name, obj = library.objects[k]
        longest = int(round(min(h, w) * rng.uniform(*o.size)))
        objs.append(resize_object(obj, max(4, longest)))
        names.append(name)
    response = recipe.response()
    static_poses: list[ObjectMotion] = [
        sample_motion(rng, (h, w), max_shift=0, max_scale=0, max_rotation_deg=0)
        for _ in range(n_stat)
    ]
    motions = [
        sample_motion(
            rng,
            (h, w),
            max_shift=o.max_shift,
            max_scale=o.max_scale,
            max_rotation_deg=o.max_rotation_deg,
        )
        for _ in range(n_mov)
    ]
    extra: dict[str, Any] = {
        "background": bg_name,
        "moving_objects": names[:n_mov],
        "static_objects": names[n_mov:],
    }
    arrays: dict[str, np.ndarray] = {}
    if recipe.kind == "local-shake":
        res = synthesize_shake_blur(
            bg,
            objs[:n_mov],
            motions,
            rng,
            response,
            max_kernel=o.max_kernel,
            min_kernel=o.min_kernel,
            static=objs[n_mov:],
            static_poses=static_poses,
        )
        arrays["blur_size"] = res["blur_size"]
        extra["n_frames"], extra["frame_range"] = 1, [0, 1]
    else:
        n = int(rng.choice(recipe.n_choices()))
        if n % 2 == 0:
            raise ConfigError(
                f"recipe {recipe.name!r}: frames.n must be odd for local blur, got {n}"
            )
        res = synthesize_object_blur(
            bg, objs[:n_mov], motions, n, response, static=objs[n_mov:], static_poses=static_poses
        )
        extra["n_frames"], extra["frame_range"] = n, [0, n]  # rendered frames, target n // 2
    extra["mask_coverage"] = res["mask_coverage"]
    return SampleResult(
        images={"blur": res["blur"], "sharp": res["sharp"], "mask": res["mask"]},
        arrays=arrays,
        extra=extra,
    )
