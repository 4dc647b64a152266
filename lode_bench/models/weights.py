"""Weight cards: the published checkpoints of an architecture (``arch.tag``, as timm names them).

An architecture card (``nafnet``, ``restormer``...) says how to build and run a network. A
:class:`WeightCard` names one published file of it: the training set, the options the
official test configuration builds it with, the official test script's conventions and
the numbers the authors published. :func:`tagged_card` joins the two into the runnable
:class:`~lode_bench.models.card.ModelCard` registered as ``"<arch>.<tag>"``, e.g.
``nafnet.gopro-width64``; the plain architecture name keeps its own card. On the command
line: ``lode-bench run --model nafnet.gopro-width64=NAFNet-GoPro-width64.pth ...``, with
``--model-opt nafnet.gopro-width64:KEY=VALUE`` for test-time options (e.g. DeepDeblur's
``precision=half`` or MIMO-UNet++'s ``transforms=4``).

Published numbers carry their source. Numbers read in the official repository (README
tables) or in PROTOCOLS-level references are ``confirmed``; those taken from a paper
table that could not be re-read in a primary source are marked ``confirmed=False`` and
are to be treated as indicative only. This module imports no torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from lode_bench.models.card import ModelCard

NO_WEIGHTS = "none published"


@dataclass(frozen=True)
class Published:
    """One published score of a weight file.

    Attributes:
        dataset: test set as the source names it (e.g. ``"GoPro test"``).
        psnr, ssim: the published values (``None`` where not given).
        protocol: the lode-bench protocol that reproduces the official scoring
            (``""`` where none does exactly; see ``note``).
        source: where the numbers are printed (paper table / README table).
        confirmed: read in that source (``False``: indicative, not re-checked).
        note: anything that qualifies the numbers.
    """

    dataset: str
    psnr: float | None
    ssim: float | None
    protocol: str
    source: str
    confirmed: bool = True
    note: str = ""

    def summary(self) -> dict[str, Any]:
        """Plain-data view."""
        return {
            "dataset": self.dataset,
            "psnr": self.psnr,
            "ssim": self.ssim,
            "protocol": self.protocol,
            "source": self.source,
            "confirmed": self.confirmed,
            **({"note": self.note} if self.note else {}),
        }


@dataclass(frozen=True)
class WeightCard:
    """One published checkpoint of an architecture.

    Attributes:
        arch: name of the architecture card (``"nafnet"``).
        tag: weight tag (``"gopro-width64"``); the model is registered as ``arch.tag``.
        training_set: what the file was trained on.
        file: the official file name; ``""`` when no weights were published.
        conventions: the official test script's conventions (input range and order,
            padding, test-time variant, precision, how outputs are scored).
        published: the authors' numbers for this file.
        options: architecture options of the official test configuration (override
            the architecture card's).
        card: other ModelCard fields that differ from the architecture card
            (``factory``, ``pad_multiple``, ``pad_mode``, ``licence``...).
        weights_url: where the file is published.
        description: one line; default: the architecture card's plus the tag.
        aliases: other registry names.
    """

    arch: str
    tag: str
    training_set: str
    file: str
    conventions: str
    published: tuple[Published, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    card: Mapping[str, Any] = field(default_factory=dict)
    weights_url: str = ""
    description: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The registry name ``arch.tag``."""
        return f"{self.arch}.{self.tag}"

    @property
    def has_weights(self) -> bool:
        """Whether an official file exists for this card."""
        return bool(self.file)

    def summary(self) -> dict[str, Any]:
        """Plain-data view (shown with the model card)."""
        return {
            "arch": self.arch,
            "tag": self.tag,
            "file": self.file or NO_WEIGHTS,
            "training_set": self.training_set,
            "conventions": self.conventions,
            "published": [p.summary() for p in self.published],
        }


def tagged_card(arch: ModelCard, weights: WeightCard) -> ModelCard:
    """The runnable card of ``weights`` on the architecture card ``arch``.

    Raises:
        ValueError: the weight card names another architecture.
    """
    if weights.arch != arch.name:
        raise ValueError(f"weight card {weights.name!r} is for {weights.arch!r}, not {arch.name!r}")
    desc = weights.description or f"{arch.description} Weights: {weights.tag}."
    if not weights.has_weights:
        desc += f" (weights: {NO_WEIGHTS}; bring your own checkpoint)"
    fields: dict[str, Any] = {
        "name": weights.name,
        "description": desc,
        "options": {**arch.options, **weights.options},
        "training_set": weights.training_set,
        "weights_url": weights.weights_url or arch.weights_url,
        "needs_checkpoint": True,
        "weights": weights,
        **dict(weights.card),
    }
    return replace(arch, **fields)


def tagged_cards(
    arch_cards: Iterable[ModelCard], weight_cards: Iterable[WeightCard]
) -> tuple[tuple[ModelCard, tuple[str, ...]], ...]:
    """``(card, aliases)`` rows for every weight card, built on its architecture card.

    Raises:
        KeyError: a weight card names an architecture that is not among ``arch_cards``.
    """
    by_name = {c.name: c for c in arch_cards}
    rows = []
    for w in weight_cards:
        if w.arch not in by_name:
            raise KeyError(f"weight card {w.name!r}: no architecture card {w.arch!r}")
        rows.append((tagged_card(by_name[w.arch], w), w.aliases))
    return tuple(rows)
