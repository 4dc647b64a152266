"""RAW / DNG decoding into linear RGB (LibRaw through ``rawpy``; optional extra ``raw``).

The colour path is fixed and recorded, so averaging happens in the sensor's linear
light and no camera response curve is involved:

1. black level subtracted per CFA channel and scaled by the white level,
   ``(v - black) / (white - black)``;
2. white balance: the camera's as-shot multipliers (``white_balance="camera"``), none
   (``"none"``, all 1) or given R, G, B multipliers; LibRaw normalises them so the
   smallest is 1;
3. demosaicing (``demosaic``: ``linear`` bilinear, ``ahd``, ``dcb``, ``vng``, ``ppg``,
   ``dht``, ``aahd``);
4. colour: ``colour="srgb"`` applies the camera's colour matrix (LibRaw's ``rgb_cam``,
   camera RGB -> linear sRGB primaries), ``colour="camera"`` keeps camera RGB.

No gamma, no auto-brightening, no orientation flip: the result is linear, H×W×3, in
[0, 1] (float32; LibRaw computes in 16-bit integers, so values are multiples of
1/65535). Everything LibRaw used (levels, multipliers, matrices, CFA pattern) is
returned in :attr:`RawImage.meta` for the manifest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from lode_bench.errors import ImageReadError, LodeBenchError

RAW_EXTENSIONS: tuple[str, ...] = (
    ".dng",
    ".cr2",
    ".cr3",
    ".nef",
    ".arw",
    ".raf",
    ".orf",
    ".rw2",
    ".pef",
    ".srw",
    ".raw",
)
DEMOSAIC = ("linear", "ahd", "dcb", "vng", "ppg", "dht", "aahd")
Colour = Literal["srgb", "camera"]


class MissingExtraError(LodeBenchError):
    """An optional dependency is needed for this input; the message names the extra."""


def _rawpy() -> Any:
    try:
        import rawpy
    except ImportError as exc:
        raise MissingExtraError(
            "reading RAW/DNG files needs rawpy: pip install 'lode-bench[raw]'"
        ) from exc
    return rawpy


def is_raw_file(path: str | Path) -> bool:
    """True when ``path``'s extension is a RAW format (:data:`RAW_EXTENSIONS`)."""
    return Path(path).suffix.lower() in RAW_EXTENSIONS


@dataclass
class RawImage:
    """A decoded RAW frame.

    Attributes:
        linear: H×W×3 float32 linear RGB in [0, 1].
        meta: colour path and everything LibRaw used (JSON-serialisable).
    """

    linear: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)


def colour_path(colour: str, white_balance: Any, demosaic: str) -> str:
    """One-line description of the RAW colour path (stored in manifests)."""
    wb = white_balance if isinstance(white_balance, str) else "user"
    target = "linear sRGB (camera matrix)" if colour == "srgb" else "camera RGB"
    return f"raw: black/white levels -> wb {wb} -> demosaic {demosaic} -> {target}"


def read_raw(
    path: str | Path,
    *,
    colour: Colour = "srgb",
    white_balance: str | tuple[float, float, float] = "camera",
    demosaic: str = "ahd",
) -> RawImage:
    """Decode a RAW/DNG file into linear RGB.

    Args:
        path: a RAW or DNG file LibRaw can open.
        colour: ``"srgb"`` (camera matrix applied, linear sRGB primaries) or ``"camera"``.
        white_balance: ``"camera"`` (as shot), ``"none"`` or (R, G, B) multipliers.
        demosaic: one of :data:`DEMOSAIC`.

    Returns:
        :class:`RawImage` with H×W×3 float32 linear RGB in [0, 1] and its metadata.

    Raises:
        MissingExtraError: rawpy is not installed.
        ImageReadError: naming the file when LibRaw cannot decode it.
        LodeBenchError: an unknown option value.
    """
    rawpy = _rawpy()
    p = Path(path)
    if colour not in ("srgb", "camera"):
        raise LodeBenchError(f"{p}: colour must be 'srgb' or 'camera', got {colour!r}")
    if demosaic not in DEMOSAIC:
        raise LodeBenchError(f"{p}: demosaic must be one of {DEMOSAIC}, got {demosaic!r}")
    if not p.is_file():
        raise ImageReadError(p, "file not found")
    kw: dict[str, Any] = {}
    if isinstance(white_balance, str):
        if white_balance == "camera":
            kw["use_camera_wb"] = True
        elif white_balance == "none":
            kw["user_wb"] = [1.0, 1.0, 1.0, 1.0]
        else:
            raise LodeBenchError(
                f"{p}: white_balance must be 'camera', 'none' or [r, g, b], got {white_balance!r}"
            )
    else:
        r, g, b = (float(v) for v in white_balance)
        kw["user_wb"] = [r, g, b, g]
    algo = getattr(rawpy.DemosaicAlgorithm, demosaic.upper())
    space = rawpy.ColorSpace.sRGB if colour == "srgb" else rawpy.ColorSpace.raw
    try:
        with rawpy.imread(str(p)) as raw:
            pattern = raw.raw_pattern  # before postprocess (which may rewrite it)
            meta: dict[str, Any] = {
                "bit_depth": "raw",
                "colour_path": colour_path(colour, white_balance, demosaic),
                "colour": colour,
                "demosaic": demosaic,
                "camera_whitebalance": [float(v) for v in raw.camera_whitebalance[:3]],
                "black_level": [int(v) for v in raw.black_level_per_channel],
                "white_level": int(raw.white_level),
                "cfa_pattern": pattern.tolist() if pattern is not None else None,
                "color_desc": raw.color_desc.decode("ascii", "replace"),
                "rgb_xyz_matrix": np.asarray(raw.rgb_xyz_matrix)[:3, :3].round(6).tolist(),
            }
            out = raw.postprocess(
                demosaic_algorithm=algo,
                output_color=space,
                gamma=(1.0, 1.0),
                no_auto_bright=True,
                output_bps=16,
                user_flip=0,
                adjust_maximum_thr=0.0,
                four_color_rgb=False,
                **kw,
            )
            wb_used = raw.camera_whitebalance if kw.get("use_camera_wb") else kw["user_wb"]
            meta["white_balance"] = [float(v) for v in wb_used[:3]]
            meta["color_matrix"] = np.asarray(raw.color_matrix)[:3, :3].round(6).tolist()
    except (rawpy.LibRawError, OSError, ValueError) as exc:
        raise ImageReadError(p, f"cannot decode RAW file ({type(exc).__name__}: {exc})") from exc
    linear = out.astype(np.float32) / np.float32(65535.0)
    return RawImage(linear=np.ascontiguousarray(linear), meta=meta)
