"""Synthesis recipes: YAML files in ``configs/synth/``, validated, with defaults and a hash.

A recipe says *how* blur is made (which frames, which linear space, which degradations);
the frame source says *from what*. Unknown keys and wrong types are refused with a
:class:`~lode_bench.errors.ConfigError` naming the file and the dotted key. The recipe
hash (sha256 of the normalised recipe, including the content of any CRF table it
uses) is stored with every sample so a dataset records exactly how it was made.

Schema (defaults in brackets)::

    name: str                          (file stem)
    description: str                   ['']
    kind: global | local-objects | local-shake | local-real
    seed: int                          [0]
    split: str                         [test]
    layout: flat | gopro               [flat]
    samples: int                       [100]   (local-objects / local-shake)
    response: <response spec>          [gamma]  linear space of averaging / compositing
    frames:
      n: [odd ints] | {min: int, max: int}   [[7, 9, 11, 13]]  frames averaged
      duty_cycle: float in (0, 1]     [1.0]    window stride = max(n, (n - 1) / duty_cycle)
      interpolation: int >= 1         [1]      ×k optical-flow frame interpolation
      interpolation_preset: ultrafast | fast | medium  [medium]
      windows_per_sequence: int       [100]    (gopro layout: one n per sub-sequence)
    tracks: {role: <response spec>}   [{blur: <response>}]  (global)
    degradations: null | {saturation: [lo, hi] | null,
                   noise: {beta1, beta2} | profile:<name> | null,
                   camera: profile:<name> | null,
                   bayer: bool, red_gain: [lo, hi], blue_gain: [lo, hi], crop: int}
        noise: beta1 = shot-noise gain, beta2 = read-noise standard deviation
        (variance beta1·x + beta2²), each drawn per image from U(0.5 β, 1.5 β).
        camera: the profile's colour-correction matrix (sRGB -> camera RGB before the
        mosaic, back after demosaicking; identity when it has none) and, unless
        red_gain / blue_gain are given, its white-balance gain ranges.
    jpeg: null | {quality: int}
    bit_depth: 8 | 16                  [8]     output PNG depth (global / local-real);
                                               16-bit and RAW sources are averaged at full
                                               precision either way
    raw: {colour: srgb | camera, white_balance: camera | none | [r, g, b],
          demosaic: ahd | linear | dcb | vng | ppg | dht | aahd}
                                       [srgb, camera, ahd]  decoding of RAW/DNG sources
    objects: {moving: [lo, hi], static: [lo, hi], max_shift, max_scale, max_rotation_deg,
              size: [lo, hi] (fraction of min(H, W)), max_kernel, min_kernel,
              library: <folder>  (optional: objects from a ``capture objects`` library,
                                  relative to the recipe file or the working folder)}
    mask: {method: diff | flow | both [both], diff_threshold, flow_threshold [0.25],
           flow_method: dis | deepflow [dis], preblur_sigma, open_px, close_px,
           dilate_px, feather_sigma}       (local-real)
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lode_bench.capture.profiles import load_named_profile
from lode_bench.errors import ConfigError, UnknownNameError
from lode_bench.io.yamlfile import (
    list_config_names,
    load_yaml_config,
    resolve_config_path,
    short_repr,
)
from lode_bench.synth.recipe_spec import Recipe

__all__ = ["KINDS", "Recipe", "list_recipes", "load_recipe", "recipes_dir", "validate_recipe"]

KINDS = ("global", "local-objects", "local-shake", "local-real")

Check = Callable[[Any], bool]


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _pair(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and len(v) == 2 and all(_num(x) for x in v) and v[0] <= v[1]


def _pair_or_none(v: Any) -> bool:
    return v is None or _pair(v)


def _response(v: Any) -> bool:
    if isinstance(v, str):
        return True  # the string forms are checked by resolve_response (named errors)
    if not isinstance(v, dict) or not isinstance(v.get("kind"), str):
        return False
    return (
        ("gamma" not in v or (_num(v["gamma"]) and v["gamma"] > 0))
        and ("path" not in v or (isinstance(v["path"], str) and v["path"] != ""))
        and ("extrapolate" not in v or isinstance(v["extrapolate"], bool))
        and ("order" not in v or isinstance(v["order"], str))
    )


_RESPONSE_TEXT = (
    "identity, srgb, gamma, gamma-<g>, profile:<name> or a mapping {kind: str, "
    "gamma: number > 0, path: str, extrapolate: bool, order: str}"
)


def _n_spec(v: Any) -> bool:
    if isinstance(v, list):
        return len(v) > 0 and all(_int(x) and x >= 1 for x in v)
    if isinstance(v, dict):
        return (
            set(v) == {"min", "max"}
            and _int(v["min"])
            and _int(v["max"])
            and 1 <= v["min"] <= v["max"]
        )
    return _int(v) and v >= 1


FRAMES_SCHEMA: dict[str, tuple[Check, str]] = {
    "n": (_n_spec, "a positive int, a list of them, or {min, max}"),
    "duty_cycle": (lambda v: _num(v) and 0 < v <= 1, "a number in (0, 1]"),
    "interpolation": (lambda v: _int(v) and v >= 1, "an int >= 1"),
    "interpolation_preset": (
        lambda v: v in ("ultrafast", "fast", "medium"),
        "ultrafast, fast or medium",
    ),
    "windows_per_sequence": (lambda v: _int(v) and v >= 1, "an int >= 1"),
}
DEGRADATION_SCHEMA: dict[str, tuple[Check, str]] = {
    "saturation": (_pair_or_none, "[low, high] or null"),
    "noise": (
        lambda v: (
            v is None
            or (isinstance(v, str) and v.startswith("profile:"))
            or (
                isinstance(v, dict)
                and set(v) == {"beta1", "beta2"}
                and all(_num(x) and x >= 0 for x in v.values())
            )
        ),
        "{beta1, beta2}, profile:<name> or null",
    ),
    "camera": (
        lambda v: v is None or (isinstance(v, str) and v.startswith("profile:")),
        "profile:<name> or null",
    ),
    "bayer": (lambda v: isinstance(v, bool), "true or false"),
    "red_gain": (_pair, "[low, high]"),
    "blue_gain": (_pair, "[low, high]"),
    "crop": (lambda v: _int(v) and v >= 0, "an int >= 0"),
}
OBJECTS_SCHEMA: dict[str, tuple[Check, str]] = {
    "moving": (lambda v: _pair(v) and all(_int(x) and x >= 0 for x in v), "[low, high] ints"),
    "static": (lambda v: _pair(v) and all(_int(x) and x >= 0 for x in v), "[low, high] ints"),
    "max_shift": (lambda v: _num(v) and v >= 0, "a number >= 0 (px per frame)"),
    "max_scale": (lambda v: _num(v) and 0 <= v < 0.2, "a number in [0, 0.2) (per frame)"),
    "max_rotation_deg": (lambda v: _num(v) and v >= 0, "a number >= 0 (degrees per frame)"),
    "size": (lambda v: _pair(v) and 0 < v[0] and v[1] <= 1, "[low, high] fractions of min(H, W)"),
    "max_kernel": (lambda v: _int(v) and v >= 3, "an int >= 3"),
    "min_kernel": (lambda v: _int(v) and v >= 3, "an int >= 3"),
    "library": (lambda v: isinstance(v, str) and v != "", "a path to an object library folder"),
}
MASK_SCHEMA: dict[str, tuple[Check, str]] = {
    "method": (lambda v: v in ("diff", "flow", "both"), "diff, flow or both"),
    "diff_threshold": (lambda v: _num(v) and v >= 0, "a number >= 0 (8-bit code units)"),
    "flow_threshold": (lambda v: _num(v) and v >= 0, "a number >= 0 (px)"),
    "flow_method": (lambda v: v in ("dis", "deepflow"), "dis or deepflow"),
    "preblur_sigma": (lambda v: _num(v) and v >= 0, "a number >= 0"),
    "open_px": (lambda v: _int(v) and v >= 0, "an int >= 0"),
    "close_px": (lambda v: _int(v) and v >= 0, "an int >= 0"),
    "dilate_px": (lambda v: _int(v) and v >= 0, "an int >= 0"),
    "feather_sigma": (lambda v: _num(v) and v >= 0, "a number >= 0"),
}
TOP_SCHEMA: dict[str, tuple[Check, str]] = {
    "name": (lambda v: isinstance(v, str) and v != "", "a non-empty string"),
    "description": (lambda v: isinstance(v, str), "a string"),
    "kind": (lambda v: v in KINDS, " | ".join(KINDS)),
    "seed": (lambda v: _int(v) and v >= 0, "an int >= 0"),
    "split": (
        lambda v: isinstance(v, str) and v.isidentifier(),
        "a simple name (train, test, ...)",
    ),
    "layout": (lambda v: v in ("flat", "gopro"), "flat or gopro"),
    "samples": (lambda v: _int(v) and v >= 1, "an int >= 1"),
    "response": (_response, _RESPONSE_TEXT),
    "tracks": (
        lambda v: (
            isinstance(v, dict)
            and len(v) > 0
            and all(isinstance(k, str) and _response(x) for k, x in v.items())
        ),
        "a mapping role -> response spec (" + _RESPONSE_TEXT + ")",
    ),
    "bit_depth": (lambda v: v in (8, 16) and not isinstance(v, bool), "8 or 16"),
    "raw": (
        lambda v: (
            isinstance(v, dict)
            and set(v) <= {"colour", "white_balance", "demosaic"}
            and v.get("colour", "srgb") in ("srgb", "camera")
            and v.get("demosaic", "ahd") in ("linear", "ahd", "dcb", "vng", "ppg", "dht", "aahd")
            and (
                v.get("white_balance", "camera") in ("camera", "none")
                or (
                    isinstance(v.get("white_balance"), list)
                    and len(v["white_balance"]) == 3
                    and all(_num(x) and x > 0 for x in v["white_balance"])
                )
            )
        ),
        "{colour: srgb|camera, white_balance: camera|none|[r, g, b], demosaic: ahd|linear|...}",
    ),
    "jpeg": (
        lambda v: (
            v is None
            or (
                isinstance(v, dict)
                and set(v) == {"quality"}
                and _int(v["quality"])
                and 1 <= v["quality"] <= 100
            )
        ),
        "null or {quality: 1..100}",
    ),
}
SECTIONS = {
    "frames": FRAMES_SCHEMA,
    "degradations": DEGRADATION_SCHEMA,
    "objects": OBJECTS_SCHEMA,
    "mask": MASK_SCHEMA,
}
#: What messages call a recipe, and the keys a recipe file may have at its top level.
RECIPE_KIND = "synthesis recipe"
RECIPE_KEYS = frozenset(TOP_SCHEMA) | frozenset(SECTIONS)

# keys that only make sense for some kinds (given for another kind they would be ignored)
APPLIES_TO: dict[str, tuple[str, ...]] = {
    "frames": ("global", "local-objects", "local-real"),
    "tracks": ("global",),
    "degradations": ("global",),
    "jpeg": ("global",),
    "bit_depth": ("global", "local-real"),
    "raw": ("global", "local-real"),
    "layout": ("global", "local-real"),
    "samples": ("local-objects", "local-shake"),
    "objects": ("local-objects", "local-shake"),
    "mask": ("local-real",),
}

DEFAULTS: dict[str, Any] = {
    "description": "",
    "seed": 0,
    "split": "test",
    "layout": "flat",
    "samples": 100,
    "response": "gamma",
    "jpeg": None,
    "degradations": None,
    "frames": {
        "n": [7, 9, 11, 13],
        "duty_cycle": 1.0,
        "interpolation": 1,
        "interpolation_preset": "medium",
        "windows_per_sequence": 100,
    },
    "objects": {
        "moving": [1, 3],
        "static": [0, 2],
        "max_shift": 1.0,
        "max_scale": 0.01,
        "max_rotation_deg": 0.3,
        "size": [0.2, 0.45],
        "max_kernel": 40,
        "min_kernel": 5,
    },
    "mask": {
        "method": "both",
        "diff_threshold": 12.0,
        "flow_threshold": 0.25,
        "flow_method": "dis",
        "preblur_sigma": 1.0,
        "open_px": 2,
        "close_px": 5,
        "dilate_px": 3,
        "feather_sigma": 3.0,
    },
}
DEGRADATION_DEFAULTS: dict[str, Any] = {
    "saturation": [0.25, 1.75],
    "noise": {"beta1": 8.8915e-5, "beta2": 2.9430e-5},
    "camera": None,
    "bayer": True,
    "red_gain": [1.9, 2.4],
    "blue_gain": [1.5, 1.9],
    "crop": 4,
}


def algorithm_versions(cfg: Mapping[str, Any]) -> dict[str, int]:
    """Versions of the synthesis steps a recipe uses whose output changed over time.

    They enter the recipe hash, so a dataset made before a step changed its output never
    carries the hash of one made after. Only steps the recipe uses are listed (a recipe
    that uses none keeps its original hash): ``window_stride`` 2 = windows start every
    ``(n - 1) / duty_cycle`` frames (was ``n / duty_cycle``); ``degradations`` 2 = read
    noise with standard deviation β2, per-image β draws, camera CCM and white balance.
    """
    out: dict[str, int] = {}
    frames = cfg.get("frames")
    if cfg.get("kind") in ("global", "local-real") and frames and frames["duty_cycle"] < 1:
        out["window_stride"] = 2
    if cfg.get("kind") == "global" and cfg.get("degradations") is not None:
        out["degradations"] = 2
    return out


def recipes_dir() -> Path:
    """``configs/synth`` next to the package."""
    from lode_bench.resources import asset_dir

    return asset_dir("configs", "synth")


def list_recipes() -> list[str]:
    """Names of the shipped synthesis recipes (``configs/synth/*.yaml``), sorted.

    Example:
        >>> {"gopro", "lode-local"} <= set(list_recipes())
        True
    """
    return list_config_names([recipes_dir()])


def _camera_white_balance(spec: str, where: str) -> dict[str, list[float]]:
    """The camera profile's white-balance ranges, as recipe keys (none when it has none)."""
    try:
        prof = load_named_profile(spec.split(":", 1)[1])
    except (ConfigError, UnknownNameError) as exc:
        raise ConfigError(f"{where}recipe key 'degradations.camera': {exc}") from exc
    return {k: list(v) for k, v in prof.white_balance.items()}


def _where(path: Path | None) -> str:
    return f"{path}: " if path else ""


def _check_section(
    doc: Mapping[str, Any], schema: Mapping[str, tuple[Check, str]], prefix: str, where: str
) -> None:
    for key, value in doc.items():
        dotted = f"{prefix}{key}"
        if key not in schema:
            raise ConfigError(
                f"{where}unknown recipe key {short_repr(dotted)}; allowed here: {sorted(schema)}"
            )
        check, expected = schema[key]
        if not check(value):
            raise ConfigError(
                f"{where}recipe key {dotted!r} must be {expected}, got {short_repr(value)}"
            )


def validate_recipe(doc: Any, *, path: Path | None = None, name: str | None = None) -> Recipe:
    """Validate a recipe mapping, fill defaults, compute its hash.

    Raises:
        ConfigError: naming the file and the dotted key that is wrong.
    """
    where = _where(path)
    if not isinstance(doc, dict):
        raise ConfigError(f"{where}a recipe must be a mapping, got {type(doc).__name__}")
    doc = copy.deepcopy(doc)
    top = {k: v for k, v in doc.items() if k not in SECTIONS}
    _check_section(top, TOP_SCHEMA, "", where)
    if "kind" not in doc:
        raise ConfigError(f"{where}recipe key 'kind' is required ({' | '.join(KINDS)})")
    for key in doc:
        kinds = APPLIES_TO.get(key)
        if kinds is not None and doc["kind"] not in kinds:
            raise ConfigError(
                f"{where}recipe key {key!r} does not apply to kind {doc['kind']!r} "
                f"(only to {', '.join(kinds)})"
            )
    cfg: dict[str, Any] = copy.deepcopy(DEFAULTS)
    cfg["name"] = name or (path.stem if path else "recipe")
    for sec, schema in SECTIONS.items():
        if sec in doc:
            val = doc.pop(sec)
            if val is None:
                if sec != "degradations":
                    raise ConfigError(f"{where}recipe key {sec!r} must be a mapping, not null")
                cfg[sec] = None
                continue
            if not isinstance(val, dict):
                raise ConfigError(
                    f"{where}recipe key {sec!r} must be a mapping, got {short_repr(val)}"
                )
            _check_section(val, schema, f"{sec}.", where)
            base = dict(DEGRADATION_DEFAULTS) if sec == "degradations" else dict(cfg[sec])
            if sec == "degradations" and val.get("camera") is not None:
                base.update(_camera_white_balance(val["camera"], where))
            base.update(val)
            cfg[sec] = base
    cfg.update(top)
    cfg.setdefault("tracks", {"blur": cfg["response"]})
    if cfg["kind"] != "global" and set(cfg["tracks"]) != {"blur"}:
        raise ConfigError(f"{where}recipe key 'tracks' is only for kind 'global'")
    for role in cfg["tracks"]:
        if role in ("sharp", "mask") or not role.replace("_", "").isalnum():
            raise ConfigError(f"{where}recipe key 'tracks.{role}': invalid output role name")
    if cfg["frames"]["interpolation"] > 1 and cfg["kind"] in ("local-objects", "local-shake"):
        raise ConfigError(
            f"{where}recipe key 'frames.interpolation' does not apply to kind {cfg['kind']!r}"
        )
    try:  # resolve every response now so a bad one fails early, and hash table contents
        recipe = Recipe.from_config(cfg, path, "")
        digests = {role: r.digest() for role, r in recipe.tracks().items()}
        digests["response"] = recipe.response().digest()
        noise = recipe.noise()
        if noise is not None and isinstance(cfg["degradations"]["noise"], str):
            digests["noise"] = json.dumps([float(v) for v in noise])  # the profile's numbers
        ccm = recipe.ccm()
        if ccm is not None:
            digests["camera_ccm"] = hashlib.sha256(
                np.ascontiguousarray(ccm, dtype=np.float64).tobytes()
            ).hexdigest()
    except ConfigError as exc:
        raise ConfigError(f"{where}{exc}") from exc
    except UnknownNameError as exc:
        raise ConfigError(f"{where}{exc}") from exc
    except (TypeError, ValueError, OSError) as exc:  # a value the checks above let through
        raise ConfigError(
            f"{where}recipe key 'response'/'tracks': invalid response "
            f"({type(exc).__name__}: {short_repr(str(exc))})"
        ) from exc
    doc_hashed: dict[str, Any] = {"config": cfg, "responses": digests}
    versions = algorithm_versions(cfg)
    if versions:
        doc_hashed["versions"] = versions
    canon = json.dumps(doc_hashed, sort_keys=True, separators=(",", ":"))
    return Recipe.from_config(cfg, path, hashlib.sha256(canon.encode()).hexdigest())


def load_recipe(name_or_path: str | Path) -> Recipe:
    """Load a recipe by name (``configs/synth/<name>.yaml``) or from a YAML path.

    Raises:
        UnknownNameError: no recipe of that name (lists the known ones).
        ConfigError: invalid YAML or recipe (naming the file and the dotted key).

    Example:
        >>> recipe = load_recipe("gopro")
        >>> recipe.name, recipe.kind, recipe.split
        ('gopro', 'global', 'train')
        >>> load_recipe("gopr")
        Traceback (most recent call last):
        ...
        lode_bench.errors.UnknownNameError: unknown synthesis recipe 'gopr'; did you mean 'gopro'? (known: ...)
    """
    p = resolve_config_path(name_or_path, kind=RECIPE_KIND, search_dirs=[recipes_dir()])
    doc = load_yaml_config(p, kind=RECIPE_KIND, known_keys=RECIPE_KEYS)
    return validate_recipe(doc, path=p)
