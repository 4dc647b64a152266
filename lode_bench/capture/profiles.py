"""Camera profiles: a camera's response and noise, stored as YAML in the top-level ``capture/``.

A profile file (``capture/profiles/<name>.yaml``)::

    name: rsblur-camera
    response: srgb                 # identity | srgb | gamma | gamma-<g> | {kind: table, path: ...}
    noise: {beta1: 1.0e-4, beta2: 9.1504e-4}        # Poisson-Gaussian, optional
    white_balance: {red_gain: [1.9, 2.4], blue_gain: [1.5, 1.9]}   # optional
    ccm: [[...], [...], [...]]     # camera RGB -> linear sRGB, optional (identity)
    notes: free text

``noise``: raw noise ``y = beta1 * Poisson(x / beta1) + beta2 * N(0, 1)`` on [0, 1] raw
values, i.e. variance ``beta1 * x + beta2 ** 2`` (``beta2`` is the read-noise standard
deviation, as in RSBlur's code). ``white_balance``: ranges the red / blue gains are drawn
from (``[g, g]`` for a fixed gain). ``ccm``: a 3×3 matrix ``M`` with
``linear_srgb = M @ camera_rgb`` (column vectors), or a list of them (one drawn per image).

Recipes name a profile as ``profile:<name>``; a path to a YAML file also works.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from lode_bench.capture.response import CameraResponse, response_from_spec
from lode_bench.errors import ConfigError, UnknownNameError

PROFILE_KEYS = {"name", "response", "noise", "white_balance", "ccm", "notes"}


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
    d = profiles_dir()
    return sorted(p.stem for p in d.glob("*.yaml")) if d.is_dir() else []


def load_profile(name_or_path: str | Path) -> CameraProfile:
    """Load a profile by name (from ``capture/profiles``) or from a YAML path.

    Raises:
        UnknownNameError: no such profile (lists the known ones).
        ConfigError: naming the file and the bad key.
    """
    p = Path(name_or_path)
    if not (p.suffix in (".yaml", ".yml") and p.is_file()):
        p = profiles_dir() / f"{name_or_path}.yaml"
        if not p.is_file():
            raise UnknownNameError(
                f"unknown camera profile {str(name_or_path)!r}; known: {list_profiles()}"
            )
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: invalid YAML ({exc})") from exc
    if not isinstance(doc, dict):
        raise ConfigError(f"{p}: a profile must be a mapping")
    unknown = set(doc) - PROFILE_KEYS
    if unknown:
        raise ConfigError(f"{p}: unknown key(s) {sorted(unknown)}; allowed: {sorted(PROFILE_KEYS)}")
    try:
        response = response_from_spec(doc.get("response", "srgb"), base_dir=p.parent)
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
    return CameraProfile(
        name=str(doc.get("name", p.stem)),
        response=response,
        noise=noise,
        white_balance=wb,
        ccm=ccm,
        notes=str(doc.get("notes", "")),
    )


def _float_map(path: Path, key: str, value: Any, allowed: set[str]) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {key} must be a mapping")
    unknown = set(value) - allowed
    if unknown:
        raise ConfigError(f"{path}: {key}: unknown key(s) {sorted(unknown)}")
    try:
        return {k: float(v) for k, v in value.items()}
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {key}: values must be numbers ({exc})") from exc
