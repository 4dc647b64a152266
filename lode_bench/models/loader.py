"""From a model string to a runnable :class:`~lode_bench.models.base.Deblurrer`.

A :class:`ModelSpec` is plain, picklable data (name, checkpoint, options) so worker
processes can rebuild CPU models themselves. ``"NAME=CHECKPOINT"`` is the command-line
form; the checkpoint is a weights file for torch models, a folder for ``folder``, a
command line for ``command``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lode_bench.errors import LodeBenchError, UnknownNameError
from lode_bench.io.atomic import sha256_file
from lode_bench.models.base import Deblurrer, FunctionDeblurrer
from lode_bench.models.card import ModelCard, get_model_card
from lode_bench.registry import resolve_target


@dataclass(frozen=True)
class ModelSpec:
    """What to run.

    Attributes:
        name: registered model name or alias.
        checkpoint: weights file / outputs folder / command line, depending on the model.
        options: factory options overriding the card's (e.g. ``{"width": 32}``).
        random_weights: allow a torch model without a checkpoint (seeded by ``seed``).
        seed: seed for random weights.
        label: name under which results are stored (default: see :meth:`store_label`).
    """

    name: str
    checkpoint: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    random_weights: bool = False
    seed: int = 0
    label: str | None = None

    @classmethod
    def parse(cls, text: str, **kw: Any) -> ModelSpec:
        """``"NAME"``, ``"NAME=CHECKPOINT"`` or, with a display name, ``"LABEL=NAME[:CHECKPOINT]"``.

        ``LABEL=NAME:CHECKPOINT`` (e.g. ``mymethod=folder:results/mymethod``) stores the
        results under ``LABEL``; it is recognised when ``LABEL`` is not a registered model
        and ``NAME`` is one, so every ``NAME=CHECKPOINT`` spec keeps its meaning.
        """
        name, sep, ckpt = text.partition("=")
        if not name.strip():
            raise LodeBenchError(f"empty model name in {text!r}")
        if sep and "label" not in kw:
            labelled = _labelled(name.strip(), ckpt)
            if labelled is not None:
                model, checkpoint = labelled
                return cls(name=model, checkpoint=checkpoint, label=name.strip(), **kw)
        return cls(name=name.strip(), checkpoint=ckpt if sep else None, **kw)

    @property
    def card(self) -> ModelCard:
        return get_model_card(self.name)

    def checkpoint_sha256(self) -> str | None:
        """sha256 of the checkpoint file (or of the folder path / command text)."""
        if self.checkpoint is None:
            return None
        p = Path(self.checkpoint)
        if p.is_file():
            return sha256_file(p)
        return hashlib.sha256(self.checkpoint.encode()).hexdigest()

    def store_label(self, checkpoint_sha256: str | None = None) -> str:
        """Result-store name: ``name``, ``name@<sha[:10]>``, ``name@random<seed>``, plus options."""
        if self.label:
            return self.label
        card = self.card
        label = card.name
        if self.checkpoint is not None:
            if card.name == "folder":
                label += "@" + Path(self.checkpoint).name
            else:
                label += "@" + (checkpoint_sha256 or self.checkpoint_sha256() or "")[:10]
        elif self.random_weights and card.kind == "torch":
            label += f"@random{self.seed}"
        if self.options:
            label += "[" + ",".join(f"{k}={self.options[k]}" for k in sorted(self.options)) + "]"
        return label


def _is_model(name: str) -> bool:
    try:
        get_model_card(name)
    except UnknownNameError:
        return False
    return True


def _labelled(label: str, rest: str) -> tuple[str, str | None] | None:
    """``(model, checkpoint)`` when ``label=rest`` names a display label, else ``None``."""
    if not label or _is_model(label):
        return None
    model, colon, checkpoint = rest.partition(":")
    if not model.strip() or not _is_model(model.strip()):
        return None
    return model.strip(), (checkpoint if colon else None)


def function_factory(
    card: ModelCard, checkpoint: str | None, *, fn: str, **options: Any
) -> Deblurrer:
    """Factory of ``numpy`` cards: wraps the function named by ``fn``."""
    if checkpoint is not None:
        raise LodeBenchError(f"model {card.name!r} takes no checkpoint (got {checkpoint!r})")
    return FunctionDeblurrer(
        card, resolve_target(fn, what=f"model {card.name!r} function"), **options
    )


def load_model(
    spec: ModelSpec,
    *,
    device: str = "auto",
    amp: bool = False,
    tile: int | None = None,
    tile_overlap: int | None = None,
) -> Deblurrer:
    """Build the model a spec names, with its checkpoint loaded strictly.

    Raises:
        LodeBenchError: unknown name, missing/unsafe/mismatched checkpoint, bad options.
    """
    card = spec.card
    if card.kind == "torch":
        from lode_bench.models.torch_model import TorchDeblurrer, build_torch_model

        module = build_torch_model(
            card,
            spec.checkpoint,
            random_weights=spec.random_weights,
            seed=spec.seed,
            **spec.options,
        )
        return TorchDeblurrer(
            card, module, device=device, amp=amp, tile=tile, tile_overlap=tile_overlap
        )
    factory = card.resolve_factory()
    opts = {**card.options, **spec.options}
    if takes_device_options(factory):
        opts.update(device=device, amp=amp, tile=tile)
    return factory(card, spec.checkpoint, **opts)


def takes_device_options(factory: Any) -> bool:
    """True when a ``numpy``/``adapter`` factory declares a ``device`` parameter (it then gets
    ``device``, ``amp`` and ``tile`` too, e.g. the TorchScript adapter)."""
    import inspect

    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    p = params.get("device")
    return p is not None and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
