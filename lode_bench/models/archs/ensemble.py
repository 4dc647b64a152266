"""Geometric self-ensemble at test time (Lim et al., EDSR 2017; MIMO-UNet++).

The input is flipped and rotated, each version goes through the network, every output is
transformed back, and the outputs are averaged. ``transforms=8`` uses the eight symmetries
of the square (rotations by 0/90/180/270° with and without a horizontal flip);
``transforms=4`` only those that keep the image's orientation (identity, horizontal
flip, vertical flip, 180° rotation), which can run as one batch.

:func:`self_ensembled` builds any architecture class with its ``forward`` wrapped this
way. The result is a subclass, so its ``state_dict`` keys are exactly the
architecture's and official checkpoints still load strictly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from lode_bench.registry import load_object

# (quarter turns, flip first) for each transform, in a fixed order
_ALL_8: tuple[tuple[int, bool], ...] = tuple((k, f) for f in (False, True) for k in range(4))
_FLIPS_4: tuple[tuple[int, bool], ...] = ((0, False), (0, True), (2, True), (2, False))
ENSEMBLE_SIZES = (1, 4, 8)


def _apply(x: torch.Tensor, turns: int, flip: bool) -> torch.Tensor:
    if flip:
        x = x.flip(-1)
    return torch.rot90(x, turns, dims=(-2, -1)) if turns else x


def _invert(y: torch.Tensor, turns: int, flip: bool) -> torch.Tensor:
    if turns:
        y = torch.rot90(y, -turns, dims=(-2, -1))
    return y.flip(-1) if flip else y


def ensemble_transforms(n: int) -> tuple[tuple[int, bool], ...]:
    """The (quarter turns, horizontal flip) pairs of an ``n``-transform ensemble.

    Raises:
        ValueError: ``n`` is not 1, 4 or 8.
    """
    if n == 1:
        return ((0, False),)
    if n == 4:
        return _FLIPS_4
    if n == 8:
        return _ALL_8
    raise ValueError(f"self-ensemble size must be one of {ENSEMBLE_SIZES}, got {n}")


def geometric_self_ensemble(
    forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, transforms: int = 8
) -> torch.Tensor:
    """Mean of ``T⁻¹(forward(T(x)))`` over the ensemble's transforms ``T``.

    Args:
        forward: maps B×C×H×W to B×C'×H×W (any H, W: rotations swap them).
        x: input batch.
        transforms: 1 (plain forward), 4 (flips) or 8 (flips and rotations).
    """
    total: torch.Tensor | None = None
    pairs = ensemble_transforms(transforms)
    for turns, flip in pairs:
        y = _invert(forward(_apply(x, turns, flip)), turns, flip)
        total = y if total is None else total + y
    assert total is not None
    return total / len(pairs)


class SelfEnsembleMixin(nn.Module):
    """Mixin whose ``forward`` is the geometric self-ensemble of the next class's ``forward``."""

    ensemble_size: int = 8

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = super().forward  # type: ignore[misc]

        def run(t: torch.Tensor) -> torch.Tensor:
            y = base(t)
            if not isinstance(y, torch.Tensor):
                raise TypeError(f"self-ensemble needs a tensor output, got {type(y).__name__}")
            return y

        return geometric_self_ensemble(run, x, self.ensemble_size)


_CLASSES: dict[type, type] = {}


def ensembled_class(cls: type[nn.Module]) -> type[nn.Module]:
    """A subclass of ``cls`` with the self-ensembled ``forward`` (cached per class)."""
    if cls not in _CLASSES:
        _CLASSES[cls] = type(
            f"{cls.__name__}SelfEnsemble",
            (SelfEnsembleMixin, cls),
            {"__module__": __name__, "__doc__": f"{cls.__name__} with geometric self-ensemble."},
        )
    return _CLASSES[cls]


def self_ensembled(arch: str | type[nn.Module], transforms: int = 8, **options: Any) -> nn.Module:
    """Build ``arch`` (a class or ``"module:Class"``) with its forward self-ensembled.

    Args:
        arch: the architecture.
        transforms: ensemble size, 1, 4 or 8.
        **options: the architecture's own options.
    """
    ensemble_transforms(transforms)  # validates
    cls = load_object(arch) if isinstance(arch, str) else arch
    model = ensembled_class(cls)(**options)
    assert isinstance(model, SelfEnsembleMixin)
    model.ensemble_size = transforms
    return model
