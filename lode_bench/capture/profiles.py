"""Camera profiles: a camera's response and noise, stored as YAML in the top-level ``capture/``.

A profile file (``capture/profiles/<name>.yaml``)::

    name: rsblur-camera
    response: srgb                 # identity | srgb | gamma | gamma-<g> | profile:<name>
                                   #   | {kind: table, path: ...}
    noise: {beta1: 1.0e-4, beta2: 9.1504e-4}        # Poisson-Gaussian, optional
    white_balance: {red_gain: [1.9, 2.4], blue_gain: [1.5, 1.9]}   # optional
    ccm: [[...], [...], [...]]     # camera RGB -> linear sRGB, optional (identity)
    notes: free text

``noise``: raw noise ``y = beta1 * Poisson(x / beta1) + beta2 * N(0, 1)`` on [0, 1] raw
values, i.e. variance ``beta1 * x + beta2 ** 2`` (``beta2`` is the read-noise standard
deviation, as in RSBlur's code). ``white_balance``: ranges the red / blue gains are drawn
from (``[g, g]`` for a fixed gain). ``ccm``: a 3×3 matrix ``M`` with
``linear_srgb = M @ camera_rgb`` (column vectors), or a list of them (one drawn per image).

Recipes name a profile as ``profile:<name>``; a path to a YAML file also works. This module
is the only one that resolves ``profile:`` references (:func:`resolve_response`; a profile's
own ``response`` may name another profile); a chain of references that comes back to a
profile already on it is a :class:`~lode_bench.errors.ConfigError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lode_bench.capture.response import CameraResponse, response_from_spec
from lode_bench.errors import ConfigError
from lode_bench.io.yamlfile import (
    list_config_names,
    load_yaml_config,
    resolve_config_path,
    short_repr,
)

#: Top-level keys of a profile file.
PROFILE_KEYS = frozenset({"name", "response", "noise", "white_balance", "ccm", "notes"})
#: How messages name a camera profile (``unknown camera profile 'x'``).
PROFILE_KIND = "camera profile"


def profiles_dir() -> Path:
    """The ``capture/profiles`` folder shipped next to the package."""
    from lode_bench.resources import asset_dir

    return asset_dir("capture", "profiles")


@dataclass(frozen=True)
class CameraProfile:
    """A loaded camera profile."""

    name: str
    response: CameraResponse
    noise: dict[str, float] = field(default_factory=dict)
    white_balance: dict[str, list[float]] = field(default_factory=dict)
    ccm: np.ndarray | None = field(default=None, compare=False)
    notes: str = ""

    def ccms(self) -> np.ndarray | None:
        """The colour-correction matrices as a (k, 3, 3) stack (``None``: identity)."""
        if self.ccm is None:
            return None
        return self.ccm[None] if self.ccm.ndim == 2 else self.ccm


def list_profiles() -> list[str]:
    """Names of the shipped profiles."""
    return list_config_names([profiles_dir()])


_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


def profile_path(name: str) -> Path:
    """The file of the shipped profile ``name`` (a plain name, looked up in ``capture/profiles``).

    Names that would leave the profile folder (``../x``, ``/etc/x``, ``a/b``, a symlink
    pointing elsewhere) are refused: a recipe's ``profile:<name>`` can only name a profile.

    Raises:
        ConfigError: the name is not a plain name or leaves the profile folder.
        UnknownNameError: no such profile (``did you mean``, and the known ones).
    """
    if not isinstance(name, str) or not _PLAIN_NAME.match(name) or ".." in name:
        raise ConfigError(
            f"camera profile name {short_repr(name)} must be a plain name "
            "(letters, digits, '-', '_', '.'), looked up in capture/profiles"
        )
    return resolve_config_path(name, kind=PROFILE_KIND, search_dirs=[profiles_dir()])


PROFILE_REF = "profile:"


class ProfileLoopError(ConfigError):
    """Camera profiles whose ``response`` references lead back to one already on the chain."""


def resolve_response(spec: str | dict, *, base_dir: Path | None = None) -> CameraResponse:
    """The response a recipe or profile value names: ``"profile:<name>"`` takes that camera
    profile's response, every other form goes to
    :func:`~lode_bench.capture.response.response_from_spec`.

    Raises:
        ConfigError: a bad value, or profiles that refer to each other in a loop.
        UnknownNameError: no such profile.
    """
    return _resolve_response(spec, base_dir, ())


def _resolve_response(
    spec: str | dict, base_dir: Path | None, chain: tuple[tuple[Path, str], ...]
) -> CameraResponse:
    if not (isinstance(spec, str) and spec.startswith(PROFILE_REF)):
        return response_from_spec(spec, base_dir=base_dir)
    name = spec[len(PROFILE_REF) :]
    p = profile_path(name)
    seen = [q for q, _ in chain]
    if p.resolve() in seen:
        loop = " -> ".join([*(n for _, n in chain[seen.index(p.resolve()) :]), name])
        raise ProfileLoopError(
            f"{chain[-1][0]}: response {spec!r}: camera profiles refer to each "
            f"other in a loop ({loop})"
        )
    return _load_profile(p, chain).response


def load_profile(name_or_path: str | Path) -> CameraProfile:
    """Load a profile by name (from ``capture/profiles``) or from a YAML file.

    A :class:`~pathlib.Path`, or a string ending in ``.yaml``/``.yml``, is read as that
    file (it must exist); anything else is a profile name (see :func:`profile_path`;
    ``profile:<name>`` references in recipes always go through the name rules).

    Raises:
        UnknownNameError: no such profile (``did you mean``, and the known ones).
        ConfigError: naming the file and the bad key, a file that does not exist, or an
            invalid profile name.
    """
    p = Path(name_or_path)
    if isinstance(name_or_path, Path) or p.suffix in (".yaml", ".yml"):
        p = resolve_config_path(p, kind=PROFILE_KIND)  # the file, which must exist
    else:
        p = profile_path(str(name_or_path))
    return _load_profile(p, ())


def _load_profile(p: Path, chain: tuple[tuple[Path, str], ...]) -> CameraProfile:
    """Read the profile file ``p``; ``chain`` holds the profiles whose responses led here."""
    chain = (*chain, (p.resolve(), p.stem))
    doc = load_yaml_config(p, kind=PROFILE_KIND, known_keys=PROFILE_KEYS)
    try:
        response = _resolve_response(doc.get("response", "srgb"), p.parent, chain)
    except ProfileLoopError:
        raise  # names the file where the loop closes; the profiles leading to it are in the loop
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from exc
    noise = _float_map(p, "noise", doc.get("noise") or {}, {"beta1", "beta2"})
    wb_raw: Any = doc.get("white_balance") or {}
    if not isinstance(wb_raw, dict) or set(wb_raw) - {"red_gain", "blue_gain"}:
        raise ConfigError(f"{p}: white_balance must map red_gain/blue_gain to [low, high]")
    wb: dict[str, list[float]] = {}
    for k, v in wb_raw.items():
        ok = isinstance(v, (list, tuple)) and len(v) == 2
        ok = ok and all(isinstance(g, (int, float)) and not isinstance(g, bool) for g in v)
        if not ok or not 0 < v[0] <= v[1]:
            raise ConfigError(f"{p}: white_balance.{k} must be [low, high] with 0 < low <= high")
        wb[k] = [float(v[0]), float(v[1])]
    ccm = None
    if doc.get("ccm") is not None:
        try:
            ccm = np.asarray(doc["ccm"], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{p}: ccm must be a 3×3 matrix or a list of them ({exc})") from exc
        if not (ccm.shape == (3, 3) or (ccm.ndim == 3 and ccm.shape[1:] == (3, 3) and len(ccm))):
            raise ConfigError(
                f"{p}: ccm must be a 3×3 matrix or a list of them, got shape {ccm.shape}"
            )
        if not np.all(np.isfinite(ccm)) or np.any(np.abs(np.linalg.det(ccm)) < 1e-9):
            raise ConfigError(f"{p}: ccm must be finite and invertible")
    for key in ("name", "notes"):
        if key in doc and not isinstance(doc[key], str):
            raise ConfigError(f"{p}: {key} must be text, got {type(doc[key]).__name__}")
    return CameraProfile(
        name=str(doc.get("name", p.stem)),
        response=response,
        noise=noise,
        white_balance=wb,
        ccm=ccm,
        notes=str(doc.get("notes", "")),
    )


def load_named_profile(name: str) -> CameraProfile:
    """The profile a ``profile:<name>`` reference names (plain names only, never a path)."""
    return load_profile(profile_path(name))


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _float_map(path: Path, key: str, value: Any, allowed: set[str]) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {key} must be a mapping")
    unknown = set(value) - allowed
    if unknown:
        raise ConfigError(f"{path}: {key}: unknown key(s) {sorted(unknown)}")
    bad = [k for k, v in value.items() if not _is_num(v)]
    if bad:
        raise ConfigError(
            f"{path}: {key}.{bad[0]}: must be a number, got {short_repr(value[bad[0]])}"
        )
    return {k: float(v) for k, v in value.items()}
