"""A validated synthesis recipe as typed, frozen dataclasses (schema: :mod:`lode_bench.synth.recipes`).

:class:`Recipe` keeps the normalised mapping it was built from (``config``: what the
recipe hash covers and what a dataset's manifest records) and exposes every setting as
a typed field: :class:`FramesSpec`, :class:`ObjectsSpec`, :class:`DegradationSpec` and
the motion-mask settings (:class:`~lode_bench.synth.motion_mask.MotionMaskParams`).
Build one with :func:`lode_bench.synth.recipes.validate_recipe` or
:func:`~lode_bench.synth.recipes.load_recipe`, never from an unchecked mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lode_bench.capture.profiles import CameraProfile, load_named_profile, resolve_response
from lode_bench.capture.response import CameraResponse
from lode_bench.errors import ConfigError
from lode_bench.synth.motion_mask import MotionMaskParams


def _pair(v: Any, cast: type = float) -> tuple[Any, Any]:
    return cast(v[0]), cast(v[1])


@dataclass(frozen=True)
class FramesSpec:
    """Which frames are averaged (``frames`` section).

    Attributes:
        n_choices: allowed window lengths (frames averaged), one drawn per window.
        duty_cycle: exposed fraction of each output frame period, in (0, 1].
        interpolation: ×k optical-flow frame interpolation (1: none).
        interpolation_preset: DIS preset of the interpolation flow.
        windows_per_sequence: ``gopro`` layout: windows per sub-sequence (one n each).
    """

    n_choices: tuple[int, ...] = (7, 9, 11, 13)
    duty_cycle: float = 1.0
    interpolation: int = 1
    interpolation_preset: str = "medium"
    windows_per_sequence: int = 100

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> FramesSpec:
        n = section["n"]
        if isinstance(n, dict):
            choices = [v for v in range(n["min"], n["max"] + 1) if v % 2 == 1] or [n["min"]]
        else:
            choices = [n] if isinstance(n, int) else list(n)
        return cls(
            n_choices=tuple(int(v) for v in choices),
            duty_cycle=float(section["duty_cycle"]),
            interpolation=int(section["interpolation"]),
            interpolation_preset=str(section["interpolation_preset"]),
            windows_per_sequence=int(section["windows_per_sequence"]),
        )


@dataclass(frozen=True)
class ObjectsSpec:
    """Moving objects over a background (``objects`` section; ``local-objects``/``local-shake``).

    Attributes:
        moving, static: ``[low, high]`` counts of moving and static objects per scene.
        max_shift: px per frame; max_scale: relative size change per frame;
        max_rotation_deg: degrees per frame.
        size: ``[low, high]`` longest object side, as a fraction of min(H, W).
        max_kernel, min_kernel: bounds of the blur-kernel extent, px.
        library: object library folder as written in the recipe (``None``: the source's).
    """

    moving: tuple[int, int] = (1, 3)
    static: tuple[int, int] = (0, 2)
    max_shift: float = 1.0
    max_scale: float = 0.01
    max_rotation_deg: float = 0.3
    size: tuple[float, float] = (0.2, 0.45)
    max_kernel: int = 40
    min_kernel: int = 5
    library: str | None = None

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> ObjectsSpec:
        return cls(
            moving=_pair(section["moving"], int),
            static=_pair(section["static"], int),
            max_shift=float(section["max_shift"]),
            max_scale=float(section["max_scale"]),
            max_rotation_deg=float(section["max_rotation_deg"]),
            size=_pair(section["size"]),
            max_kernel=int(section["max_kernel"]),
            min_kernel=int(section["min_kernel"]),
            library=section.get("library") or None,
        )


@dataclass(frozen=True)
class DegradationSpec:
    """RSBlur-style camera degradations (``degradations`` section; ``global``).

    Attributes:
        saturation: ``[low, high]`` saturation boost range, or ``None``.
        noise: ``(beta1, beta2)``, ``"profile:<name>"`` or ``None``.
        camera: ``"profile:<name>"`` whose CCM (and white balance) is used, or ``None``.
        bayer: mosaic and demosaic.
        red_gain, blue_gain: white-balance gain ranges.
        crop: pixels cut from each side after demosaicking.
    """

    saturation: tuple[float, float] | None
    noise: tuple[float, float] | str | None
    camera: str | None
    bayer: bool
    red_gain: tuple[float, float]
    blue_gain: tuple[float, float]
    crop: int

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> DegradationSpec:
        sat, noise = section["saturation"], section["noise"]
        if isinstance(noise, dict):
            noise = (float(noise["beta1"]), float(noise["beta2"]))
        return cls(
            saturation=None if sat is None else _pair(sat),
            noise=noise,
            camera=section.get("camera"),
            bayer=bool(section["bayer"]),
            red_gain=_pair(section["red_gain"]),
            blue_gain=_pair(section["blue_gain"]),
            crop=int(section["crop"]),
        )


@dataclass(frozen=True)
class Recipe:
    """A validated recipe.

    Attributes:
        config: the normalised mapping (defaults filled in) the hash was computed on.
        source_path: the YAML file it came from (``None``: built in memory); relative
            paths in the recipe (CRF tables, object libraries) are resolved against it.
        recipe_hash: sha256 of the normalised recipe and of the tables it uses.
        name, kind, description, seed, split, layout, samples, bit_depth: top-level keys.
        jpeg_quality: JPEG quality of the outputs (``None``: PNG only).
        raw: decoding settings of RAW/DNG sources (``None``: the defaults).
        frames, objects, mask, degradations: the sections, typed.
    """

    config: dict[str, Any]
    source_path: Path | None
    recipe_hash: str
    name: str
    kind: str
    description: str
    seed: int
    split: str
    layout: str
    samples: int
    bit_depth: int
    jpeg_quality: int | None
    raw: dict[str, Any] | None
    frames: FramesSpec
    objects: ObjectsSpec
    mask: MotionMaskParams
    degradations: DegradationSpec | None
    track_specs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(
        cls, config: dict[str, Any], source_path: Path | None, recipe_hash: str
    ) -> Recipe:
        """The typed recipe of an already validated, normalised mapping."""
        c = config
        m = c["mask"]
        jpeg = c["jpeg"]
        return cls(
            config=c,
            source_path=source_path,
            recipe_hash=recipe_hash,
            name=str(c["name"]),
            kind=str(c["kind"]),
            description=str(c["description"]),
            seed=int(c["seed"]),
            split=str(c["split"]),
            layout=str(c["layout"]),
            samples=int(c["samples"]),
            bit_depth=int(c.get("bit_depth", 8)),
            jpeg_quality=None if jpeg is None else int(jpeg["quality"]),
            raw=c.get("raw"),
            frames=FramesSpec.from_config(c["frames"]),
            objects=ObjectsSpec.from_config(c["objects"]),
            mask=MotionMaskParams(
                method=m["method"],
                diff_threshold=float(m["diff_threshold"]),
                flow_threshold=float(m["flow_threshold"]),
                flow_method=m["flow_method"],
                preblur_sigma=float(m["preblur_sigma"]),
                open_px=int(m["open_px"]),
                close_px=int(m["close_px"]),
                dilate_px=int(m["dilate_px"]),
                feather_sigma=float(m["feather_sigma"]),
            ),
            degradations=(
                None
                if c["degradations"] is None
                else DegradationSpec.from_config(c["degradations"])
            ),
            track_specs=dict(c["tracks"]),
        )

    def response(self, spec: Any = None) -> CameraResponse:
        """The response named by ``spec`` (default: the recipe's ``response``)."""
        base = self.source_path.parent if self.source_path else None
        return resolve_response(self.config["response"] if spec is None else spec, base_dir=base)

    def tracks(self) -> dict[str, CameraResponse]:
        """Blurry output roles and the response each is averaged in."""
        return {role: self.response(spec) for role, spec in self.track_specs.items()}

    def noise(self) -> tuple[float, float] | None:
        """``(beta1, beta2)`` of the degradations (a named profile's numbers), or ``None``."""
        d = self.degradations
        if d is None or d.noise is None:
            return None
        if isinstance(d.noise, str):
            prof = load_named_profile(d.noise.split(":", 1)[1])
            if not {"beta1", "beta2"} <= set(prof.noise):
                raise ConfigError(f"degradations.noise: profile {d.noise!r} has no beta1/beta2")
            return prof.noise["beta1"], prof.noise["beta2"]
        return d.noise

    def camera(self) -> CameraProfile | None:
        """The degradations' camera profile (``None`` when not set)."""
        d = self.degradations
        if d is None or d.camera is None:
            return None
        return load_named_profile(str(d.camera).split(":", 1)[1])

    def ccm(self) -> np.ndarray | None:
        """(k, 3, 3) camera RGB -> linear sRGB matrices of the camera (``None``: identity)."""
        cam = self.camera()
        return None if cam is None else cam.ccms()

    def object_library_path(self) -> Path | None:
        """``objects.library`` resolved (working folder first, then the recipe's folder)."""
        lib = self.objects.library
        if not lib:
            return None
        p = Path(lib)
        if not p.is_absolute() and not p.exists() and self.source_path is not None:
            p = self.source_path.parent / p
        return p

    def n_choices(self) -> list[int]:
        """Allowed window lengths (``frames.n`` expanded)."""
        return list(self.frames.n_choices)
