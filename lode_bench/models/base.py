"""The interface every runnable model implements.

A :class:`Deblurrer` turns one blurry image into a restored one. Images cross this
boundary as H×W×3 **RGB** numpy arrays: the input is ``float32`` in [0, 1]; the output is
``float32`` (nominally [0, 1], values outside are clamped later by the protocol) or
``uint8`` (adapters that read finished 8-bit files return them unchanged). Range and
colour-order conversions to what a network expects happen inside the implementation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lode_bench.datasets.types import Sample
from lode_bench.models.card import ModelCard


class Deblurrer(ABC):
    """A loaded, ready-to-run model, and the contract the runner relies on.

    The runner reads only the attributes and methods below (each has a default), so a
    plugin model states what it needs by setting them; the runner never inspects types.

    Attributes:
        card: the model's card.
        needs_input: the runner reads the blurry image and passes it to :meth:`deblur`;
            False for models that ignore it (a folder of finished outputs), which then
            get an empty array and no read is spent.
        accepts_uint8: the model takes the decoded uint8 image as it is (identity), which
            saves a float conversion and back.
        runs_in_driver: True when the model holds a device (GPU) or per-run state
            (a folder, an external command) and must run in the driver process; False
            when it is a pure function that workers can rebuild and run next to the
            scoring (classical methods, identity).
        hostable: a driver model that an executor hosting models (Ray) may load once
            per worker instead, from its :class:`~lode_bench.models.loader.ModelSpec`.
        benefits_from_warmup: untimed passes before timing make the timing honest
            (device models: kernel selection, caches).
        last_runtime_s: model time of the latest :meth:`deblur` call measured by the
            model itself (device-synchronised); ``None``: the runner times the call.
    """

    card: ModelCard
    needs_input: bool = True
    accepts_uint8: bool = False
    runs_in_driver: bool = False
    hostable: bool = False
    benefits_from_warmup: bool = False
    last_runtime_s: float | None = None

    @abstractmethod
    def deblur(self, blurry: np.ndarray, sample: Sample) -> np.ndarray:
        """Restore one image.

        Args:
            blurry: H×W×3 RGB float32 in [0, 1].
            sample: the sample (paths, per-sample arrays such as ``kernel``, metadata).

        Returns:
            H×W×3 RGB, float32 (≈[0, 1]) or uint8.
        """

    def bind_protocol(self, protocol: Any) -> None:  # noqa: B027
        """Hook called with the run's protocol before :meth:`prepare_dataset` (models that
        read output files, such as the folder-of-outputs adapter, read them under its
        16-bit rule, as ``lode-bench score`` does)."""

    def prepare_dataset(self, samples: Sequence[Sample], workdir: Path) -> None:  # noqa: B027
        """Hook for models that process a whole folder at once (external commands)."""

    def param_count(self) -> int | None:
        """Number of parameters (``None`` when not applicable)."""
        return None

    def flops(self, height: int, width: int) -> float | None:
        """Floating-point operations of one forward pass at H×W (``None`` if unknown)."""
        return None

    def peak_memory_bytes(self) -> int | None:
        """Peak device memory since the model was loaded (``None`` when not measured)."""
        return None

    def provenance(self) -> dict[str, Any]:
        """Facts stored with the run: ``device``, ``precision``, ``tile``, ``tiling``...

        ``tiling`` is how images are split (``"auto"``: whole images, tiles after
        out-of-memory); absent for models that never tile.
        """
        return {}

    def close(self) -> None:  # noqa: B027
        """Release resources (GPU memory, temporary folders)."""


class FunctionDeblurrer(Deblurrer):
    """A :class:`Deblurrer` around a plain function ``fn(blurry, sample, **options)``.

    Args:
        card: the model's card.
        fn: the function.
        accepts_uint8: ``fn`` works on uint8 images unchanged (see :attr:`Deblurrer.accepts_uint8`).
        **options: keyword arguments passed to ``fn``.
    """

    def __init__(
        self, card: ModelCard, fn: Any, *, accepts_uint8: bool = False, **options: Any
    ) -> None:
        self.card = card
        self._fn = fn
        self.accepts_uint8 = accepts_uint8
        self._options = options

    def deblur(self, blurry: np.ndarray, sample: Sample) -> np.ndarray:
        return self._fn(blurry, sample, **self._options)
