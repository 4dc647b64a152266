"""Device choice, padding and tiled inference for torch models.

Tiled inference splits a padded B×C×H×W input into overlapping tiles, runs each, and
blends them with weights that are exactly zero within ``overlap // 4`` pixels of an inner
tile edge and rise smoothly (sin²) to one across the rest of the overlap. Borders that are
image borders keep weight one. For a network whose receptive-field radius is at most
``overlap // 4``, the tiled result therefore equals the untiled one up to float rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from lode_bench.errors import LodeBenchError


def select_device(spec: str = "auto") -> torch.device:
    """``"auto"`` picks CUDA, then Apple MPS, then CPU; otherwise the named device.

    Raises:
        LodeBenchError: when the named device is not available.
    """
    if spec in ("auto", "", None):
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(spec)
    except RuntimeError as exc:
        raise LodeBenchError(f"unknown device {spec!r} ({exc})") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise LodeBenchError(f"device {spec!r} requested but CUDA is not available")
    if dev.type == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise LodeBenchError(f"device {spec!r} requested but MPS is not available")
    return dev


def synchronize(device: torch.device) -> None:
    """Wait for queued kernels so that wall-clock timing is honest."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def is_oom(exc: BaseException) -> bool:
    """True for a device out-of-memory error."""
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def pad_to_multiple(
    x: torch.Tensor, multiple: int, mode: str = "reflect"
) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad bottom/right so H and W become multiples of ``multiple``.

    Returns:
        (padded tensor, (original H, original W)).
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x, (h, w)
    if mode == "reflect" and (ph >= h or pw >= w):
        mode = "replicate"  # reflection needs more pixels than the pad
    if mode == "constant":
        return F.pad(x, (0, pw, 0, ph)), (h, w)
    return F.pad(x, (0, pw, 0, ph), mode=mode), (h, w)


def _starts(size: int, tile: int, step: int) -> list[int]:
    if size <= tile:
        return [0]
    out = list(range(0, size - tile, step))
    out.append(size - tile)
    return out


def _ramp(n: int, overlap: int, lo: bool, hi: bool, device: torch.device) -> torch.Tensor:
    """1-D blend weights of a tile of length ``n``; ``lo``/``hi`` mark inner edges."""
    w = torch.ones(n, dtype=torch.float32, device=device)
    if overlap <= 0:
        return w
    margin = overlap // 4
    span = max(overlap - 2 * margin, 1)
    d = torch.arange(n, dtype=torch.float32, device=device)
    ramp = torch.sin(0.5 * math.pi * ((d - margin) / span).clamp(0, 1)) ** 2
    if lo:
        w = w * ramp
    if hi:
        w = w * ramp.flip(0)
    return w


def tiled_forward(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    *,
    tile: int,
    overlap: int,
    multiple: int = 1,
) -> torch.Tensor:
    """Run ``fn`` on overlapping tiles of ``x`` and blend the results.

    Args:
        fn: maps B×C×h×w to B×C'×h×w (same spatial size).
        x: B×C×H×W input, already padded to ``multiple``.
        tile: tile side (rounded down to a multiple of ``multiple``).
        overlap: overlap between neighbouring tiles (rounded up to ``multiple``).
        multiple: the model's padding multiple.

    Returns:
        B×C'×H×W blended output.
    """
    h, w = x.shape[-2:]
    tile = max(multiple, (tile // multiple) * multiple)
    overlap = min(int(math.ceil(overlap / multiple) * multiple), tile - multiple)
    th, tw = min(tile, h), min(tile, w)
    step = max(tile - overlap, multiple)
    ys, xs = _starts(h, th, step), _starts(w, tw, step)
    out: torch.Tensor | None = None
    weight = torch.zeros((1, 1, h, w), dtype=torch.float32, device=x.device)
    for y0 in ys:
        for x0 in xs:
            pred = fn(x[..., y0 : y0 + th, x0 : x0 + tw]).float()
            if out is None:
                out = torch.zeros(
                    (pred.shape[0], pred.shape[1], h, w), dtype=torch.float32, device=x.device
                )
            wy = _ramp(th, overlap, y0 > 0, y0 + th < h, x.device)
            wx = _ramp(tw, overlap, x0 > 0, x0 + tw < w, x.device)
            wt = (wy[:, None] * wx[None, :])[None, None]
            out[..., y0 : y0 + th, x0 : x0 + tw] += pred * wt
            weight[..., y0 : y0 + th, x0 : x0 + tw] += wt
    assert out is not None
    return out / weight.clamp_min(1e-12)
