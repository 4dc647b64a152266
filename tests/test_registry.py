"""Registry: aliases, lazy entries, duplicates, did-you-mean, plugins that fail."""

from __future__ import annotations

import sys
import types
from importlib import metadata

import pytest

from lode_bench.errors import LodeBenchError, UnknownNameError
from lode_bench.registry import DuplicateEntryError, FrozenRegistryError, Registry


def test_aliases_are_case_insensitive():
    reg: Registry[int] = Registry("thing")
    reg.register("NAFNet-width64", 1, aliases=("nafnet",))
    assert reg.get("nafnet-WIDTH64") == 1 and reg.get("NAFNET") == 1
    assert reg.canonical("nafnet") == "NAFNet-width64"
    assert "nafnet" in reg and "other" not in reg


def test_lazy_entry_imported_on_first_use(monkeypatch):
    mod = types.ModuleType("lb_lazy_probe")
    mod.VALUE = 42
    monkeypatch.setitem(sys.modules, "lb_lazy_probe", mod)
    reg: Registry[int] = Registry("thing")
    reg.register("x", "lb_lazy_probe:VALUE")
    assert reg._entries["x"].loaded is False
    assert reg.get("x") == 42 and reg._entries["x"].loaded is True


def test_duplicates_refused_including_alias_clash():
    reg: Registry[int] = Registry("thing")
    reg.register("a", 1, aliases=("b",))
    with pytest.raises(DuplicateEntryError):
        reg.register("A", 2)
    with pytest.raises(DuplicateEntryError):
        reg.register("c", 3, aliases=("B",))
    assert reg.get("a") == 1 and "c" not in reg


def test_did_you_mean():
    reg: Registry[int] = Registry("protocol")
    reg.register("realblur", 1)
    reg.register("reloblur", 2)
    with pytest.raises(UnknownNameError) as err:
        reg.get("realblurr")
    msg = str(err.value)
    assert "unknown protocol 'realblurr'" in msg and "did you mean 'realblur'" in msg


def test_broken_lazy_entry_reports_and_items_skip_it():
    reg: Registry[int] = Registry("model")
    reg.register("good", 1)
    reg.register("bad", "no_such_module_lb:thing")
    with pytest.raises(LodeBenchError, match="failed to load"):
        reg.get("bad")
    with pytest.warns(UserWarning, match="bad"):
        items = reg.items()
    assert items == [("good", 1)]


def test_freeze():
    reg: Registry[int] = Registry("thing")
    reg.freeze()
    with pytest.raises(FrozenRegistryError):
        reg.register("a", 1)


def test_validate_rejects_wrong_type():
    def must_be_int(v):
        if not isinstance(v, int):
            raise LodeBenchError("not an int")

    reg: Registry[int] = Registry("thing", validate=must_be_int)
    with pytest.raises(LodeBenchError):
        reg.register("s", "plain string", lazy=False)  # type: ignore[arg-type]


def test_entry_point_plugins_and_broken_plugin_warns(monkeypatch):
    good = metadata.EntryPoint("plug", "lb_plugin_probe:VALUE", "lode_bench.test_group")
    clash = metadata.EntryPoint("builtin", "lb_plugin_probe:VALUE", "lode_bench.test_group")
    mod = types.ModuleType("lb_plugin_probe")
    mod.VALUE = 7
    monkeypatch.setitem(sys.modules, "lb_plugin_probe", mod)
    monkeypatch.setattr(metadata, "entry_points",
                        lambda group=None: [good, clash] if group == "lode_bench.test_group" else [])
    reg: Registry[int] = Registry("thing", entry_point_group="lode_bench.test_group")
    reg.register("builtin", 1)
    with pytest.warns(UserWarning, match="ignoring thing plugin 'builtin'"):
        names = reg.names()
    assert names == ["builtin", "plug"]
    assert reg.get("plug") == 7 and reg.get("builtin") == 1
    assert "builtin" in reg.plugin_errors
