"""Registry: aliases, lazy entries, duplicates, did-you-mean, plugins that fail, built-ins
loaded once before plugins, colliding plugins refused, thread safety, the one resolver."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import types
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path

import pytest

from lode_bench.errors import LodeBenchError, UnknownNameError
from lode_bench.registry import (
    DuplicateEntryError,
    FrozenRegistryError,
    Registry,
    load_object,
    resolve_target,
)


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
    monkeypatch.setattr(
        metadata,
        "entry_points",
        lambda group=None: [good, clash] if group == "lode_bench.test_group" else [],
    )
    reg: Registry[int] = Registry("thing", entry_point_group="lode_bench.test_group")
    reg.register("builtin", 1)
    with pytest.warns(UserWarning, match="ignoring thing plugin 'builtin'"):
        names = reg.names()
    assert names == ["builtin", "plug"]
    assert reg.get("plug") == 7 and reg.get("builtin") == 1
    assert "builtin" in reg.plugin_errors


# -- built-ins, plugin collisions, threads, the one resolver -----------------------------------


class _Named:
    def __init__(self, name: str, value: int) -> None:
        self.name, self.value = name, value


def _counting_builtins(calls: list[int], delay: float = 0.0):
    def load():
        calls.append(1)
        time.sleep(delay)
        return [(_Named("alpha", 1), ("a",)), (_Named("beta", 2), ())]

    return load


def _plugins(monkeypatch, group, *eps):
    mod = types.ModuleType("lb_collide_probe")
    mod.VALUE = _Named("intruder", 99)
    monkeypatch.setitem(sys.modules, "lb_collide_probe", mod)
    entries = [metadata.EntryPoint(n, "lb_collide_probe:VALUE", group) for n in eps]
    monkeypatch.setattr(
        metadata, "entry_points", lambda group=None, _g=group: entries if group == _g else []
    )


def test_builtins_load_lazily_once_from_a_target(monkeypatch):
    calls: list[int] = []
    mod = types.ModuleType("lb_builtins_probe")
    mod.ENTRIES = _counting_builtins(calls)
    monkeypatch.setitem(sys.modules, "lb_builtins_probe", mod)
    reg: Registry[_Named] = Registry("thing", builtins="lb_builtins_probe:ENTRIES")
    assert calls == []  # nothing imported before the first lookup
    assert reg.get("A").value == 1 and reg.names() == ["alpha", "beta"] and len(reg) == 2
    assert reg.source("beta") == "builtin"
    assert calls == [1]


def test_registering_first_still_loads_builtins_and_refuses_their_names():
    calls: list[int] = []
    reg: Registry[_Named] = Registry("thing", builtins=_counting_builtins(calls))
    with pytest.raises(DuplicateEntryError, match="already registered"):
        reg.register("alpha", _Named("alpha", 5))
    reg.register("gamma", _Named("gamma", 3))
    assert reg.get("alpha").value == 1 and reg.get("gamma").value == 3 and calls == [1]


def test_plugin_colliding_with_a_builtin_is_refused_with_a_warning(monkeypatch):
    _plugins(monkeypatch, "lb.collide", "alpha", "A", "fresh")
    reg: Registry[_Named] = Registry(
        "thing", builtins=_counting_builtins([]), entry_point_group="lb.collide"
    )
    with pytest.warns(
        UserWarning, match="ignoring thing plugin .*collides with the built-in thing 'alpha'"
    ) as rec:
        names = reg.names()
    assert names == ["alpha", "beta", "fresh"]
    assert reg.get("alpha").value == 1 and reg.get("a").value == 1  # the built-in, not the plugin
    assert reg.get("fresh").value == 99 and reg.source("fresh").startswith("plugin ")
    assert set(reg.plugin_errors) == {"alpha", "A"}
    assert len([w for w in rec if "collides" in str(w.message)]) == 2


def test_broken_builtins_raise_and_leave_nothing_half_loaded():
    def bad():
        return [(_Named("one", 1), ()), (_Named("one", 2), ())]  # a name twice

    reg: Registry[_Named] = Registry("thing", builtins=bad)
    with pytest.raises(DuplicateEntryError):
        reg.names()
    assert reg._entries == {}
    missing: Registry[_Named] = Registry("thing", builtins="no_such_module_lb:ENTRIES")
    with pytest.raises(
        LodeBenchError, match="thing built-ins: cannot import no_such_module_lb:ENTRIES"
    ):
        missing.get("x")


def test_concurrent_first_lookups_load_builtins_once():
    calls: list[int] = []
    reg: Registry[_Named] = Registry("thing", builtins=_counting_builtins(calls, delay=0.05))
    barrier = threading.Barrier(12)

    def look(i: int) -> int:
        barrier.wait()
        if i % 3 == 0:
            reg.register(f"extra{i}", _Named(f"extra{i}", i))
        return reg.get("beta").value

    with ThreadPoolExecutor(12) as pool:
        got = list(pool.map(look, range(12)))
    assert got == [2] * 12 and calls == [1]
    assert reg.names() == ["alpha", "beta", *sorted(f"extra{i}" for i in range(0, 12, 3))]


def test_concurrent_lazy_entry_loads_once(monkeypatch):
    loads: list[int] = []

    class Probe(types.ModuleType):
        def __getattr__(self, name: str) -> int:
            loads.append(1)
            time.sleep(0.02)
            return 5

    monkeypatch.setitem(sys.modules, "lb_lazy_threads", Probe("lb_lazy_threads"))
    reg: Registry[int] = Registry("thing")
    reg.register("x", "lb_lazy_threads:VALUE")
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(lambda _: reg.get("x"), range(8))) == [5] * 8
    assert loads == [1]


def test_resolve_target_is_the_one_lazy_resolver():
    assert resolve_target("lode_bench.registry:load_object", what="x") is load_object
    assert resolve_target(len, what="x") is len
    with pytest.raises(
        LodeBenchError, match=r"^metric 'm': cannot import nope_lb:f: ModuleNotFoundError"
    ):
        resolve_target("nope_lb:f", what="metric 'm'")


@pytest.mark.parametrize(
    "code",
    [
        # card.py never imports builtin.py; the registry imports it on the first lookup
        "import sys, lode_bench.models.card as c; assert 'lode_bench.models.builtin' not in sys.modules; "
        "c.get_model_card('identity'); assert 'lode_bench.models.builtin' in sys.modules",
        "import lode_bench.models.builtin as b, lode_bench.models.card as c; "
        "assert c.get_model_card('nafnet') is b.BUILTIN_CARDS[5][0]",
        "import sys, lode_bench.metrics.base as m; assert 'lode_bench.metrics.catalog' not in sys.modules; "
        "assert m.METRICS.get('psnr').name == 'psnr'",
        "from lode_bench.datasets.registry import DATASETS; assert 'gopro' in DATASETS",
        "from lode_bench.metrics.protocols import get_protocol; assert get_protocol('gopro@1').name == 'gopro'",
    ],
)
def test_fresh_interpreter_finds_builtins_without_any_setup_call(code):
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    res = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr[-2000:]


def test_did_you_mean_suggests_only_names_from_its_known_list() -> None:
    import re

    from lode_bench.models.card import get_model_card

    for typo in ("mprnet2", "nafnt", "restormr"):
        with pytest.raises(UnknownNameError) as err:
            get_model_card(typo)
        msg = str(err.value)
        known = set(msg.rpartition("(known: ")[2].rstrip(")").split(", "))
        hint = msg.partition("did you mean ")[2].partition("?")[0]
        suggested = re.findall(r"'([^']+)'", hint)
        assert suggested, msg
        assert set(suggested) <= known, msg
