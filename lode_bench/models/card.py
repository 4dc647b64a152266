"""Model cards and the model registry.

A :class:`ModelCard` is a frozen description of one registered model: how to build it,
how to load its published checkpoint, what it expects (range, colour order, padding
multiple) and where it comes from (licence, paper, training set). Cards are registered in
:data:`MODELS` (entry-point group ``lode_bench.models`` for plugins); a plugin's entry
point names a ``ModelCard`` object (``"package.module:CARD"``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lode_bench.errors import LodeBenchError
from lode_bench.io.atomic import sha256_file
from lode_bench.registry import Registry, resolve_target

if TYPE_CHECKING:
    from lode_bench.models.weights import WeightCard

ModelKind = Literal["torch", "numpy", "adapter"]


@dataclass(frozen=True)
class ModelCard:
    """Everything lode-bench needs to know to run and cite a model.

    Attributes:
        name: registry name (lower case, e.g. ``"nafnet-gopro"``).
        kind: ``"torch"`` (an ``nn.Module`` run by the inference engine), ``"numpy"``
            (a per-image function, may run in worker processes) or ``"adapter"``
            (TorchScript file, external command, folder of outputs).
        factory: ``"module:attr"`` or a callable. For ``torch`` it builds the
            ``nn.Module`` from ``options``; for ``numpy``/``adapter`` it builds a
            :class:`~lode_bench.models.base.Deblurrer` (``factory(card, checkpoint, **options)``).
        description: one line for ``lode-bench ls models``.
        input_range: value range the network expects (1.0 or 255.0).
        colour_order: ``"RGB"`` or ``"BGR"`` channel order of the network's input/output.
        pad_multiple: H and W are padded to a multiple of this before the forward pass.
        pad_mode: ``"reflect"``, ``"replicate"`` (edge) or ``"constant"`` (zeros).
        tile_size: default tile side when tiled inference is used (on request or after
            an out-of-memory error).
        tile_overlap: overlap between neighbouring tiles, pixels.
        checkpoint_keys: keys under which the official file stores the state_dict
            (first present wins), e.g. ``("G",)``; ``()`` for a bare state_dict.
        needs_checkpoint: a run without a checkpoint is refused unless random weights
            are asked for explicitly.
        non_blind: the model needs the sample's blur kernel (``kernel`` array).
        options: default keyword arguments of ``factory``.
        licence, paper, training_set, weights_url: provenance shown on the card.
        bundled_weights: weights shipped inside the package, as a path relative to the
            ``lode_bench`` package folder (e.g. ``"data/models/lode-tiny.pth"``); used when
            no checkpoint is given. ``""``: none.
        weights: the weight card of a tagged card (``arch.tag``): official file, test
            conventions, published numbers (:mod:`lode_bench.models.weights`); ``None``
            for a plain architecture card.
    """

    name: str
    kind: ModelKind
    factory: str | Callable[..., Any]
    description: str
    input_range: float = 1.0
    colour_order: Literal["RGB", "BGR"] = "RGB"
    pad_multiple: int = 1
    pad_mode: Literal["reflect", "replicate", "constant"] = "reflect"
    tile_size: int = 512
    tile_overlap: int = 64
    checkpoint_keys: tuple[str, ...] = ()
    needs_checkpoint: bool = True
    non_blind: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)
    licence: str = "unknown"
    paper: str = ""
    training_set: str = ""
    weights_url: str = ""
    bundled_weights: str = ""
    weights: WeightCard | None = None

    def bundled_weights_path(self) -> Path | None:
        """The shipped weights file, or ``None`` when the card ships none.

        Raises:
            LodeBenchError: the card names a file that the installation lacks.
        """
        if not self.bundled_weights:
            return None
        path = Path(__file__).resolve().parents[1] / self.bundled_weights
        if not path.is_file():
            raise LodeBenchError(
                f"model {self.name!r}: bundled weights {path} are missing "
                "from this installation (reinstall lode-bench)"
            )
        return path

    def _bundled_sha256(self) -> str | None:
        path = Path(__file__).resolve().parents[1] / self.bundled_weights
        return sha256_file(path) if path.is_file() else None

    def resolve_factory(self) -> Callable[..., Any]:
        """The factory callable (imports a lazy ``"module:attr"`` target)."""
        fn: Callable[..., Any] = resolve_target(self.factory, what=f"model {self.name!r}")
        return fn

    def summary(self) -> dict[str, Any]:
        """Plain-data view of the card (for provenance and ``ls``)."""
        fac = (
            self.factory
            if isinstance(self.factory, str)
            else (
                f"{getattr(self.factory, '__module__', '?')}:{getattr(self.factory, '__qualname__', '?')}"
            )
        )
        return {
            "name": self.name,
            "kind": self.kind,
            "factory": fac,
            "description": self.description,
            "input_range": self.input_range,
            "colour_order": self.colour_order,
            "pad_multiple": self.pad_multiple,
            "pad_mode": self.pad_mode,
            "tile_size": self.tile_size,
            "tile_overlap": self.tile_overlap,
            "checkpoint_keys": list(self.checkpoint_keys),
            "non_blind": self.non_blind,
            "options": dict(self.options),
            "licence": self.licence,
            "paper": self.paper,
            "training_set": self.training_set,
            **(
                {"bundled_weights": self.bundled_weights, "bundled_sha256": self._bundled_sha256()}
                if self.bundled_weights
                else {}
            ),
            **({"weights": self.weights.summary()} if self.weights is not None else {}),
        }

    def card_hash(
        self, *, options: Mapping[str, Any] | None = None, checkpoint_sha256: str | None = None
    ) -> str:
        """Hash of everything that can change this model's outputs."""
        card = self.summary()
        card.pop("description", None)
        card.pop("weights", None)  # provenance and published numbers, not behaviour
        doc = {"card": card, "options": dict(options or {}), "ckpt": checkpoint_sha256}
        text = json.dumps(doc, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def _validate(obj: Any) -> None:
    if not isinstance(obj, ModelCard):
        raise LodeBenchError(f"model registry entries must be ModelCard, got {type(obj).__name__}")


#: every model card: the built-ins of :mod:`lode_bench.models.builtin` (imported on the first
#: lookup, so this module never imports it), then the ``lode_bench.models`` plugins.
MODELS: Registry[ModelCard] = Registry(
    "model",
    builtins="lode_bench.models.builtin:BUILTIN_CARDS",
    entry_point_group="lode_bench.models",
    validate=_validate,
)


def register_model(card: ModelCard, *, aliases: tuple[str, ...] = ()) -> ModelCard:
    """Register a card under its name (duplicates are refused)."""
    MODELS.register(card.name, card, aliases=aliases, lazy=False)
    return card


def get_model_card(name: str) -> ModelCard:
    """The card registered as ``name`` (or an alias).

    Raises:
        UnknownNameError: with close matches.
    """
    return MODELS.get(name)


def list_model_cards() -> list[ModelCard]:
    """All registered cards (broken plugins warn and are skipped)."""
    return [c for _, c in MODELS.items()]
