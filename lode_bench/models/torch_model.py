"""Run a torch ``nn.Module`` as a :class:`~lode_bench.models.base.Deblurrer`.

Handles what the card declares (value range, colour order, padding multiple and mode),
the device, optional mixed precision (float16 on CUDA, bfloat16 elsewhere), and tiled
inference, which switches on by itself after an out-of-memory error (the tile is halved
until the image fits, and the working size is kept for the following images).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from lode_bench.datasets.types import Sample
from lode_bench.errors import LodeBenchError
from lode_bench.models.base import Deblurrer
from lode_bench.models.card import ModelCard
from lode_bench.models.inference import (
    is_oom,
    pad_to_multiple,
    select_device,
    synchronize,
    tiled_forward,
)

MIN_TILE = 64
#: Largest side of the input on which :meth:`TorchDeblurrer.flops` counts (then scales).
FLOPS_COUNT_SIDE = 64


class TorchDeblurrer(Deblurrer):
    """A torch model on a device.

    Args:
        card: the model card (range, colour order, padding, tiling defaults).
        module: the network; ``forward`` maps B×3×H×W to B×3×H×W in the card's range.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``.
        amp: run under autocast (float16 on CUDA, bfloat16 on CPU/MPS).
        tile: tile side; ``None`` runs whole images (tiling only after out-of-memory).
        tile_overlap: overlap in pixels (default: the card's).
        auto_tile: fall back to tiling on out-of-memory.
    """

    runs_in_driver = True
    hostable = True
    benefits_from_warmup = True

    def __init__(
        self,
        card: ModelCard,
        module: nn.Module,
        *,
        device: str = "auto",
        amp: bool = False,
        tile: int | None = None,
        tile_overlap: int | None = None,
        auto_tile: bool = True,
    ) -> None:
        self.card = card
        self.device = select_device(device)
        check = getattr(module, "check_device", None)
        if callable(
            check
        ):  # an architecture that runs only on some devices says so before any image
            check(self.device)
        try:
            module.eval()
        except NotImplementedError:  # torch.export modules have no train/eval switch
            pass
        self.module = module.to(self.device)
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.amp = amp
        self.tile = tile
        self.tile_overlap = card.tile_overlap if tile_overlap is None else tile_overlap
        self.auto_tile = auto_tile
        self.oom_fallbacks = 0
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        self.last_runtime_s: float | None = None

    # -- forward --------------------------------------------------------------------
    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if not self.amp:
            return contextlib.nullcontext()
        dtype = torch.float16 if self.device.type == "cuda" else torch.bfloat16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def _call(self, x: torch.Tensor) -> torch.Tensor:
        with self._autocast():
            y = self.module(x)
        if isinstance(y, (list, tuple)):
            y = y[0]
        if not isinstance(y, torch.Tensor):
            raise LodeBenchError(
                f"model {self.card.name!r} returned {type(y).__name__}, not a tensor"
            )
        return y.float()

    def forward_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """Forward a padded B×3×H×W tensor, tiling if asked or after out-of-memory."""
        with torch.inference_mode():
            while True:
                try:
                    if self.tile is None:
                        return self._call(x)
                    return tiled_forward(
                        self._call,
                        x,
                        tile=self.tile,
                        overlap=self.tile_overlap,
                        multiple=self.card.pad_multiple,
                    )
                except Exception as exc:
                    if not is_oom(exc) or not self.auto_tile:
                        raise
                    if self.device.type == "cuda":
                        torch.cuda.empty_cache()
                    side = max(x.shape[-2:])
                    if self.tile is None:
                        new = min(self.card.tile_size, max(MIN_TILE, side // 2))
                    else:
                        new = max(MIN_TILE, self.tile // 2)
                    if self.tile is not None and new >= self.tile:
                        raise LodeBenchError(
                            f"model {self.card.name!r} runs out of memory even with "
                            f"{self.tile or new}px tiles"
                        ) from exc
                    self.tile = new
                    self.oom_fallbacks += 1

    def deblur(self, blurry: np.ndarray, sample: Sample) -> np.ndarray:
        if blurry.ndim != 3 or blurry.shape[2] != 3:
            raise LodeBenchError(f"{sample.id}: expected an H×W×3 image, got shape {blurry.shape}")
        x = torch.from_numpy(np.ascontiguousarray(blurry, dtype=np.float32)).permute(2, 0, 1)[None]
        x = x.to(self.device, non_blocking=True)
        if self.card.colour_order == "BGR":
            x = x.flip(1)
        if self.card.input_range != 1.0:
            x = x * self.card.input_range
        synchronize(self.device)
        t0 = time.perf_counter()
        xp, (h, w) = pad_to_multiple(x, self.card.pad_multiple, self.card.pad_mode)
        y = self.forward_tensor(xp)[..., :h, :w]
        synchronize(self.device)
        self.last_runtime_s = time.perf_counter() - t0
        if y.shape[1] != 3:
            raise LodeBenchError(f"{sample.id}: model output has {y.shape[1]} channels, expected 3")
        if self.card.input_range != 1.0:
            y = y / self.card.input_range
        if self.card.colour_order == "BGR":
            y = y.flip(1)
        return y[0].permute(1, 2, 0).float().cpu().numpy()

    # -- facts ----------------------------------------------------------------------
    def param_count(self) -> int:
        return int(sum(p.numel() for p in self.module.parameters()))

    def flops(
        self, height: int, width: int, *, count_side: int | None = FLOPS_COUNT_SIDE
    ) -> float | None:
        """FLOPs (2 per multiply-add) of one untiled forward at H×W, by torch's counter.

        Counting runs a real forward, which on a CPU costs as much as deblurring an image.
        So the count is taken on a small input and scaled by the pixel count: H and W are
        padded to the card's multiple, the counting input is at most ``count_side`` on
        each side (rounded up to the multiple), and the count is multiplied by
        ``(H·W) / (h·w)``. The rule is exact for fully convolutional networks whose
        down-sampling stages divide the counting size evenly (the padding multiple
        guarantees it): every convolution and matrix product then costs the same per
        pixel. Work done once per image (a 1×1 convolution after global pooling) or that
        grows faster than the pixel count (spatial attention) makes it approximate.
        ``count_side=None`` counts at H×W directly.

        Returns:
            The FLOPs, or ``None`` when the counter cannot run the model.
        """
        from torch.utils.flop_counter import FlopCounterMode

        m = self.card.pad_multiple
        h, w = -(-height // m) * m, -(-width // m) * m
        ch, cw = h, w
        if count_side is not None:
            side = -(-max(count_side, m) // m) * m
            ch, cw = min(h, side), min(w, side)
        x = torch.zeros((1, 3, ch, cw), device=self.device)
        try:
            counter = FlopCounterMode(display=False)
            with torch.inference_mode(), counter:
                self._call(x)
            return float(counter.get_total_flops()) * (h * w) / (ch * cw)
        except Exception:  # noqa: BLE001 - FLOPs are informative only
            return None

    def peak_memory_bytes(self) -> int | None:
        if self.device.type == "cuda":
            return int(torch.cuda.max_memory_allocated(self.device))
        return None

    def provenance(self) -> dict[str, Any]:
        precision = (
            ("float16" if self.device.type == "cuda" else "bfloat16") if self.amp else "float32"
        )
        if any(p.dtype == torch.float16 for p in self.module.parameters()):
            precision = "float16"  # a model held in half precision (e.g. DeepDeblur precision=half)
        return {
            "device": str(self.device),
            "device_name": torch.cuda.get_device_name(self.device)
            if self.device.type == "cuda"
            else "",
            "precision": precision,
            "tile": self.tile,
            "tile_overlap": self.tile_overlap if self.tile else None,
            "tiling": str(self.tile) if self.tile else ("auto" if self.auto_tile else None),
            "oom_fallbacks": self.oom_fallbacks,
        }

    def close(self) -> None:
        self.module.to("cpu")
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


def build_torch_model(
    card: ModelCard,
    checkpoint: str | Path | None,
    *,
    random_weights: bool = False,
    seed: int = 0,
    **options: Any,
) -> nn.Module:
    """Build the card's network and load its checkpoint strictly.

    Args:
        card: a ``kind="torch"`` card.
        checkpoint: official checkpoint file; ``None`` loads the card's bundled weights, or
            needs ``random_weights=True`` when it has none.
        random_weights: allow a run without weights (tests, smoke runs), seeded by ``seed``.
        **options: architecture options overriding the card's defaults (e.g. ``width``).
    """
    from lode_bench.models.checkpoint import load_checkpoint_into

    kwargs = {**card.options, **options}
    torch.manual_seed(seed)
    try:
        module = card.resolve_factory()(**kwargs)
    except TypeError as exc:
        raise LodeBenchError(f"model {card.name!r}: bad options {kwargs}: {exc}") from exc
    if checkpoint is None and not random_weights:
        checkpoint = card.bundled_weights_path()
    if checkpoint is not None:
        load_checkpoint_into(module, checkpoint, card.checkpoint_keys)
    elif card.needs_checkpoint and not random_weights:
        raise LodeBenchError(
            f"model {card.name!r} needs a checkpoint: use --model {card.name}=PATH "
            f"(official weights: {card.weights_url or 'see the paper repository'})"
        )
    return module
