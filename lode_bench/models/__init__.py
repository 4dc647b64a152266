"""Model registry, model cards, official-checkpoint architectures, adapters and the
torch inference engine (device, padding, tiling, mixed precision)."""

from lode_bench.models.card import (
    MODELS,
    ModelCard,
    get_model_card,
    list_model_cards,
    register_model,
)
from lode_bench.models.loader import ModelSpec, load_model

__all__ = [
    "MODELS",
    "ModelCard",
    "ModelSpec",
    "get_model_card",
    "list_model_cards",
    "load_model",
    "register_model",
]
