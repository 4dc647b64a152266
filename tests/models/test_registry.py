"""Model registry: aliases, lazy plugin entries, duplicates, did-you-mean, broken plugins."""

from __future__ import annotations

import sys
import types
import warnings
from importlib import metadata

import pytest

import lode_bench.models.card as card_mod
from lode_bench.cli.ls import format_entries, ls_entries
from lode_bench.errors import LodeBenchError, UnknownNameError
from lode_bench.models import ModelCard, get_model_card, list_model_cards
from lode_bench.registry import DuplicateEntryError, Registry


@pytest.fixture
def fresh_models(monkeypatch):
    """A fresh, empty model registry (built-ins re-registered on first lookup)."""
    reg = Registry(
        "model",
        builtins=card_mod.MODELS.builtins,
        entry_point_group="lode_bench.models",
        validate=card_mod._validate,
    )
    monkeypatch.setattr(card_mod, "MODELS", reg)
    return reg


def _fake_entry_points(monkeypatch, eps):
    real = metadata.entry_points

    def fake(**kw):
        if kw.get("group") == "lode_bench.models":
            return eps
        return real(**kw)

    monkeypatch.setattr(metadata, "entry_points", fake)


def test_builtin_cards_and_aliases():
    names = {c.name for c in list_model_cards()}
    assert {
        "identity",
        "deepdeblur",
        "nafnet",
        "nafnet-plain",
        "mimo-unet",
        "mimo-unet-plus",
        "restormer",
        "bladenet",
        "torchscript",
        "command",
        "folder",
        "unsharp",
        "wiener",
        "richardson-lucy",
    } <= names
    assert get_model_card("MIMO-UNet+").name == "mimo-unet-plus"
    assert get_model_card("nafnet-gopro").name == "nafnet"
    assert get_model_card("RL").name == "richardson-lucy"
    for c in list_model_cards():  # every card states its facts
        assert c.licence and c.description and c.pad_multiple >= 1 and c.input_range in (1.0, 255.0)
        assert c.colour_order in ("RGB", "BGR")
    assert get_model_card("bladenet").colour_order == "BGR"
    assert get_model_card("deepdeblur").input_range == 255.0
    assert get_model_card("wiener").non_blind and not get_model_card("unsharp").non_blind


def test_did_you_mean():
    with pytest.raises(UnknownNameError, match="did you mean 'nafnet'"):
        get_model_card("nafnte")


def test_duplicate_refused():
    get_model_card("identity")
    dup = ModelCard(name="nafnet", kind="numpy", factory="x:y", description="d")
    with pytest.raises(DuplicateEntryError, match="already registered"):
        card_mod.register_model(dup)
    with pytest.raises(DuplicateEntryError):  # alias clash
        card_mod.register_model(
            ModelCard(name="brand-new", kind="numpy", factory="x:y", description="d"),
            aliases=("mimo-unet+",),
        )


def test_registry_refuses_non_cards(fresh_models):
    with pytest.raises(LodeBenchError, match="must be ModelCard"):
        fresh_models.register("bad", object(), lazy=False)


def test_plugin_entry_is_lazy_and_works(fresh_models, monkeypatch):
    mod = types.ModuleType("lb_test_plugin_mod")
    mod.CARD = ModelCard(
        name="plug",
        kind="numpy",
        factory="lode_bench.models.loader:function_factory",
        description="plugin model",
        needs_checkpoint=False,
        options={"fn": "lode_bench.models.classical:identity"},
    )
    ep = metadata.EntryPoint(
        name="plug", value="lb_test_plugin_mod:CARD", group="lode_bench.models"
    )
    _fake_entry_points(monkeypatch, [ep])
    assert "plug" in fresh_models.names()
    assert not fresh_models._entries["plug"].loaded  # listed, not imported yet
    monkeypatch.setitem(sys.modules, "lb_test_plugin_mod", mod)
    assert get_model_card("plug").description == "plugin model"
    assert fresh_models._entries["plug"].loaded


def test_broken_plugin_warns_and_ls_still_works(fresh_models, monkeypatch):
    ep = metadata.EntryPoint(
        name="broken", value="no_such_module_xyz:CARD", group="lode_bench.models"
    )
    _fake_entry_points(monkeypatch, [ep])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = ls_entries("models")
    assert "identity" in {r["name"] for r in rows}
    assert "broken" not in {r["name"] for r in rows}
    assert any("broken" in str(w.message) for w in caught)
    with pytest.raises(LodeBenchError, match="failed to load"):
        get_model_card("broken")


def test_format_entries_lists_models_and_datasets():
    text = format_entries("models")
    assert "nafnet" in text and "non-blind" in text and "licence: MIT" in text
    assert "gopro-gamma" in format_entries("datasets")
    with pytest.raises(LodeBenchError):
        ls_entries("planets")


def test_card_hash_tracks_options_and_checkpoint():
    c = get_model_card("nafnet")
    h = c.card_hash()
    assert h == c.card_hash()
    assert h != c.card_hash(options={"width": 32})
    assert h != c.card_hash(checkpoint_sha256="ab" * 32)
