"""``RunSettings``: how a benchmark runs, shared by the command line, suites and the runner.

One typed, frozen object travels from ``lode-bench run`` (or a suite file's
``settings:``) to :func:`~lode_bench.bench.runner.run_benchmark`; each layer makes a
changed copy with :meth:`RunSettings.replace` instead of popping keys off a dict.
What to run (model name, checkpoint, options, random weights, seed, label) is not a
setting: it is the :class:`~lode_bench.models.loader.ModelSpec`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lode_bench.errors import LodeBenchError

#: Smallest allowed value of each integer setting.
_MINIMUM = {"tile": 16, "limit": 1, "workers": 1, "warmup": 0, "prefetch": 1}


@dataclass(frozen=True)
class RunSettings:
    """How to run (not what).

    Attributes:
        device: ``"auto"`` (CUDA, then MPS, then CPU) or a device name.
        tile: tile side for tiled inference (``None``: whole images, tiles after out-of-memory).
        amp: mixed precision (refused on the CPU, where bfloat16 autocast is slow).
        limit: only the first ``limit`` samples of each dataset (in id order).
        workers: scoring pool size when the runner builds its own executor.
        warmup: untimed forward passes before timing (models that declare they benefit).
        prefetch: images read ahead of a model that runs in this process.
        lpips: add an LPIPS column with this backbone (``"alex"``, ``"vgg"``, ``"squeeze"``).
        flops: count FLOPs (see :meth:`~lode_bench.models.torch_model.TorchDeblurrer.flops`).
        flops_size: H, W at which FLOPs are reported.
        save_outputs: folder for output PNGs (for a suite: the root of
            ``<root>/<model>/<dataset>/``).
        retry_errors: recompute images whose stored row is an error.
        verify_hashes: recompute every file's sha256 against a lode-bench manifest.
        split: dataset split (``None``: the loader's default).
        mask_threshold: use mask pixels ``> mask_threshold`` (the file's own values) and
            accept mask images that are not black/white (refused by default; see
            :func:`~lode_bench.metrics.inputs.load_mask_checked`).
        allow_grey: score an output file that is greyscale against colour ground truth (or
            the reverse) instead of refusing it (``folder``/``command`` models).
    """

    device: str = "auto"
    tile: int | None = None
    amp: bool = False
    limit: int | None = None
    workers: int | None = None
    warmup: int = 1
    prefetch: int = 4
    lpips: str | None = None
    flops: bool = True
    flops_size: tuple[int, int] = (256, 256)
    save_outputs: str | Path | None = None
    retry_errors: bool = False
    verify_hashes: bool = False
    split: str | None = None
    mask_threshold: float | None = None
    allow_grey: bool = False

    def __post_init__(self) -> None:
        for name, low in _MINIMUM.items():
            v = getattr(self, name)
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, int):
                raise LodeBenchError(f"{name} must be an integer, got {v!r}")
            if v < low:
                raise LodeBenchError(f"{name} must be >= {low}, got {v}")
        t = self.mask_threshold
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float))):
            raise LodeBenchError(f"mask_threshold must be a number, got {t!r}")
        if not isinstance(self.allow_grey, bool):
            raise LodeBenchError(f"allow_grey must be true or false, got {self.allow_grey!r}")
        if len(tuple(self.flops_size)) != 2 or any(int(x) < 1 for x in self.flops_size):
            raise LodeBenchError(
                f"flops_size must be (height, width) >= 1, got {self.flops_size!r}"
            )

    @classmethod
    def names(cls) -> frozenset[str]:
        """The setting names."""
        return frozenset(f.name for f in dataclasses.fields(cls))

    def replace(self, **changes: Any) -> RunSettings:
        """A copy with ``changes`` applied.

        ``flops_size=None`` is accepted as "do not count FLOPs" (``flops=False``).

        Raises:
            LodeBenchError: an unknown setting name or a value out of range.
        """
        unknown = set(changes) - self.names()
        if unknown:
            raise LodeBenchError(
                f"unknown options {sorted(unknown)} (settings: {sorted(self.names())})"
            )
        if "flops_size" in changes and changes["flops_size"] is None:
            changes = {**changes, "flops": False}
            changes.pop("flops_size")
        if "flops_size" in changes:
            changes["flops_size"] = tuple(int(x) for x in changes["flops_size"])
        return dataclasses.replace(self, **changes)

    def as_record(self) -> dict[str, Any]:
        """Plain-data view for the run's provenance."""
        out = dataclasses.asdict(self)
        out["flops_size"] = list(self.flops_size)
        out["save_outputs"] = str(self.save_outputs) if self.save_outputs is not None else None
        return out
