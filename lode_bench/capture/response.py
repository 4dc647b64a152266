"""Camera response: mapping 8-bit pixel codes to linear signal and back.

Four kinds of response are supported:

* ``identity``: the code itself is taken as the signal (``v / 255``). Averaging with it
  is GoPro's ``blur`` track (plain sRGB average).
* ``gamma``: ``linear = (v / 255) ** gamma`` (2.2 by default; GoPro's ``blur_gamma``,
  BladeNet's local-blur averaging).
* ``srgb``: the IEC 61966-2-1 sRGB transfer curve.
* ``table``: a 256×3 inverse camera-response table as REDS released it (rows = codes,
  columns in **BGR** order on disk, RGB in memory here). Codes above 250 are replaced
  by a linear extrapolation, ``d = (inv[251] - inv[249]) / 2`` and
  ``inv[i] = inv[i-1] + d`` for ``i = 251..255``; lookup is ``round(x * 255)`` clamped to
  0..255, then a gather.

Every response exposes :meth:`CameraResponse.lut`, a (256, 3) float64 table giving the
linear value of each code per RGB channel, which is what the fast averager gathers from.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from lode_bench.errors import ConfigError, ImageReadError
from lode_bench.io.atomic import atomic_write_text

ResponseKind = Literal["identity", "gamma", "srgb", "table"]
RESPONSE_KINDS: tuple[str, ...] = ("identity", "gamma", "srgb", "table")


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in [0, 1] to linear light in [0, 1] (float64)."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """Linear light in [0, 1] to sRGB-encoded values in [0, 1] (float64; input clipped to >= 0)."""
    x = np.maximum(np.asarray(x, dtype=np.float64), 0.0)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * np.power(x, 1.0 / 2.4) - 0.055)


def extrapolate_reds_table(inv: np.ndarray) -> np.ndarray:
    """REDS' rule for the unreliable top of an inverse CRF table.

    Args:
        inv: (256, C) inverse response (any channel order).

    Returns:
        A copy where rows 251..255 continue the slope measured around row 250:
        ``d = (inv[251] - inv[249]) / 2`` then ``inv[i] = inv[i-1] + d``.
    """
    out = np.array(inv, dtype=np.float64, copy=True)
    if out.ndim != 2 or out.shape[0] != 256:
        raise ValueError(f"inverse CRF table must have 256 rows, got shape {out.shape}")
    d = (out[251] - out[249]) / 2.0
    for i in range(251, 256):
        out[i] = out[i - 1] + d
    return out


def table_lookup(table_rgb: np.ndarray, x: np.ndarray) -> np.ndarray:
    """REDS lookup: ``round(x * 255)`` clamped to 0..255, then gather per channel.

    Args:
        table_rgb: (256, 3) inverse CRF, RGB column order.
        x: H×W×3 image in [0, 1] (float) or uint8 codes.

    Returns:
        H×W×3 float64 linear image.
    """
    x = np.asarray(x)
    codes = x if x.dtype == np.uint8 else np.clip(np.rint(x.astype(np.float64) * 255.0), 0, 255)
    codes = codes.astype(np.intp)
    out = np.empty(codes.shape, dtype=np.float64)
    for c in range(3):
        out[..., c] = table_rgb[codes[..., c], c]
    return out


def load_inverse_crf_table(path: str | Path, *, order: Literal["bgr", "rgb"] = "bgr") -> np.ndarray:
    """Load a 256×3 inverse CRF table (REDS format: BGR columns) as an RGB-ordered array.

    Accepts ``.npy`` files and whitespace/comma separated text (one row per code).

    Raises:
        ImageReadError: naming the file when it is missing, unreadable or not 256×3.
    """
    p = Path(path)
    if not p.is_file():
        raise ImageReadError(p, "inverse CRF table not found")
    try:
        if p.suffix.lower() == ".npy":
            arr = np.load(p, allow_pickle=False)
        else:
            text = p.read_text(encoding="utf-8").replace(",", " ")
            rows = [
                ln.split()
                for ln in text.splitlines()
                if ln.strip() and not ln.lstrip().startswith("#")
            ]
            arr = np.array(rows, dtype=np.float64)
    except (ValueError, OSError) as exc:
        raise ImageReadError(p, f"cannot read inverse CRF table ({exc})") from exc
    arr = np.asarray(arr, dtype=np.float64).reshape(arr.shape[0], -1) if np.ndim(arr) >= 2 else arr
    if arr.shape != (256, 3):
        raise ImageReadError(p, f"inverse CRF table must be 256 rows × 3 columns, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ImageReadError(p, "inverse CRF table contains NaN or infinite values")
    return arr[:, ::-1].copy() if order == "bgr" else arr.copy()


def save_inverse_crf_table(path: str | Path, table_rgb: np.ndarray, *, comment: str = "") -> Path:
    """Write an RGB-ordered (256, 3) table in REDS' text format (BGR columns), atomically."""
    t = np.asarray(table_rgb, dtype=np.float64)
    if t.shape != (256, 3):
        raise ValueError(f"table must be (256, 3), got {t.shape}")
    lines = [f"# {ln}" for ln in comment.splitlines()] if comment else []
    lines.append("# inverse camera response, 256 rows (codes 0..255), columns B G R")
    lines += [" ".join(f"{v:.10g}" for v in row[::-1]) for row in t]
    return atomic_write_text(path, "\n".join(lines) + "\n")


@dataclass(frozen=True)
class CameraResponse:
    """A camera response: 8-bit code <-> linear signal.

    Attributes:
        kind: ``identity``, ``gamma``, ``srgb`` or ``table``.
        gamma: exponent for ``kind="gamma"``.
        table: (256, 3) RGB-ordered inverse CRF for ``kind="table"`` (already extrapolated
            when built with :meth:`from_table`).
        name: short label stored in manifests.
    """

    kind: ResponseKind = "gamma"
    gamma: float = 2.2
    table: np.ndarray | None = field(default=None, compare=False, repr=False)
    name: str = ""

    def __post_init__(self) -> None:
        if self.kind not in RESPONSE_KINDS:
            raise ConfigError(f"response kind must be one of {RESPONSE_KINDS}, got {self.kind!r}")
        if self.kind == "gamma" and not (self.gamma > 0):
            raise ConfigError(f"response gamma must be > 0, got {self.gamma!r}")
        if self.kind == "table":
            if self.table is None or np.shape(self.table) != (256, 3):
                raise ConfigError("a 'table' response needs a (256, 3) inverse CRF table")
        if not self.name:
            label = {"gamma": f"gamma-{self.gamma:g}", "table": f"table-{self.digest()[:12]}"}
            object.__setattr__(self, "name", label.get(self.kind, self.kind))

    @classmethod
    def from_table(
        cls, table_rgb: np.ndarray, *, extrapolate: bool = True, name: str = ""
    ) -> CameraResponse:
        """Build a table response; ``extrapolate`` applies REDS' >250 rule."""
        t = extrapolate_reds_table(table_rgb) if extrapolate else np.asarray(table_rgb, np.float64)
        t.setflags(write=False)
        return cls(kind="table", table=t, name=name)

    def digest(self) -> str:
        """Stable hash of the response (for recipe hashes)."""
        h = hashlib.sha256(f"{self.kind}:{self.gamma!r}".encode())
        if self.kind == "table" and self.table is not None:
            h.update(np.ascontiguousarray(self.table, dtype=np.float64).tobytes())
        return h.hexdigest()

    def lut(self) -> np.ndarray:
        """(256, 3) float64: linear value of each 8-bit code, per RGB channel."""
        codes = np.arange(256, dtype=np.float64) / 255.0
        if self.kind == "identity":
            col = codes
        elif self.kind == "gamma":
            col = np.power(codes, self.gamma)
        elif self.kind == "srgb":
            col = srgb_to_linear(codes)
        else:
            assert self.table is not None
            return np.array(self.table, dtype=np.float64)
        return np.repeat(col[:, None], 3, axis=1)

    def to_linear(self, img: np.ndarray) -> np.ndarray:
        """H×W×3 uint8 codes (or float in [0, 1]) to float64 linear signal."""
        img = np.asarray(img)
        if img.dtype == np.uint8:
            lut = self.lut()
            out = np.empty(img.shape, dtype=np.float64)
            for c in range(img.shape[-1]):
                out[..., c] = lut[img[..., c], c]
            return out
        x = img.astype(np.float64)
        if self.kind == "identity":
            return x
        if self.kind == "gamma":
            return np.power(np.clip(x, 0.0, None), self.gamma)
        if self.kind == "srgb":
            return srgb_to_linear(x)
        assert self.table is not None
        return table_lookup(self.table, x)

    def from_linear(self, lin: np.ndarray) -> np.ndarray:
        """Float64 linear signal to encoded values in [0, 1] (not yet quantised).

        For a table response the inverse is piecewise-linear interpolation of the
        (monotone-ised) table, evaluated per channel.
        """
        x = np.clip(np.asarray(lin, dtype=np.float64), 0.0, None)
        if self.kind == "identity":
            return np.clip(x, 0.0, 1.0)
        if self.kind == "gamma":
            return np.clip(np.power(x, 1.0 / self.gamma), 0.0, 1.0)
        if self.kind == "srgb":
            return np.clip(linear_to_srgb(x), 0.0, 1.0)
        assert self.table is not None
        codes = np.arange(256, dtype=np.float64) / 255.0
        out = np.empty_like(x)
        for c in range(x.shape[-1]):
            col = np.maximum.accumulate(self.table[:, c])
            out[..., c] = np.interp(x[..., c], col, codes)
        return out


def response_from_spec(spec: str | dict, *, base_dir: Path | None = None) -> CameraResponse:
    """Build a response from a recipe value.

    Accepted forms: ``"identity"``, ``"srgb"``, ``"gamma"`` (2.2), ``"gamma-2.4"``,
    ``{"kind": "gamma", "gamma": 2.2}`` or ``{"kind": "table", "path": "x.txt"}`` (REDS
    format, relative to ``base_dir``). References to camera profiles are resolved one
    layer up, by :func:`lode_bench.capture.profiles.resolve_response`.

    Raises:
        ConfigError: naming the bad value.
    """
    if isinstance(spec, str):
        if spec.startswith("gamma-"):
            try:
                return CameraResponse("gamma", gamma=float(spec[6:]))
            except ValueError as exc:
                raise ConfigError(f"response: bad gamma in {spec!r}") from exc
        if spec in ("identity", "srgb", "gamma"):
            return CameraResponse(spec)  # type: ignore[arg-type]
        raise ConfigError(
            f"response: unknown value {spec!r} (use identity, srgb, gamma, gamma-<g> "
            "or a mapping with kind)"
        )
    if isinstance(spec, dict):
        kind = spec.get("kind")
        unknown = set(spec) - {"kind", "gamma", "path", "extrapolate", "order"}
        if unknown:
            raise ConfigError(f"response: unknown key(s) {sorted(unknown)}")
        if kind == "table":
            if "path" not in spec:
                raise ConfigError("response.path: required for kind 'table'")
            p = Path(spec["path"])
            if not p.is_absolute() and base_dir is not None:
                p = base_dir / p
            table = load_inverse_crf_table(p, order=spec.get("order", "bgr"))
            return CameraResponse.from_table(
                table, extrapolate=bool(spec.get("extrapolate", True)), name=f"table:{p.name}"
            )
        if kind in ("identity", "srgb", "gamma"):
            return CameraResponse(kind, gamma=float(spec.get("gamma", 2.2)))
        raise ConfigError(f"response.kind: unknown value {kind!r}")
    raise ConfigError(f"response: expected a string or a mapping, got {type(spec).__name__}")
