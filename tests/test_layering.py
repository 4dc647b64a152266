"""The import rules of the package, checked on the source (every import, lazy ones too).

Layers, lowest first; a module may import its own layer or any lower one, never a higher:

0. ``errors``, ``registry``, ``resources``, ``io``, ``parallel``: the ground floor;
1. ``metrics``, ``capture``, ``datasets``, ``synth``, ``align``, ``models``, ``analyze``,
   ``examples``: the stages;
2. ``bench``: benchmark runs and the results store;
3. ``report``: tables, plots, sites;
4. ``demo``: the whole pipeline on built-in data;
5. ``cli``: the command line, the only place that imports click;
6. ``api``: the thin wrappers behind the Python face.

``lode_bench/__init__.py`` (the Python face) sits on top and imports lazily. Module-level
imports must also form no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "lode_bench"

LAYERS: dict[str, int] = {
    "errors": 0,
    "registry": 0,
    "resources": 0,
    "io": 0,
    "parallel": 0,
    "py": 0,
    "metrics": 1,
    "capture": 1,
    "datasets": 1,
    "synth": 1,
    "align": 1,
    "models": 1,
    "analyze": 1,
    "examples": 1,
    "bench": 2,
    "report": 3,
    "demo": 4,
    "cli": 5,
    "api": 6,
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, *, top_level_only: bool = False) -> list[tuple[int, str]]:
    """``(line, module)`` for every import in ``path`` (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out: list[tuple[int, str]] = []
    for node in nodes:
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.append((node.lineno, mod))
            # ``from lode_bench import io`` imports the sub-package lode_bench.io
            if mod == "lode_bench":
                out += [(node.lineno, f"lode_bench.{a.name}") for a in node.names]
    return out


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "lode_bench" or len(parts) < 2:
        return None
    return LAYERS.get(parts[1])


SOURCES = sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_area_has_a_layer() -> None:
    areas = {p.relative_to(PKG).parts[0].removesuffix(".py") for p in SOURCES} - {"__init__"}
    assert areas <= set(LAYERS), f"areas without a layer: {sorted(areas - set(LAYERS))}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PKG.parent)))
def test_no_import_from_a_higher_layer(path: Path) -> None:
    name = _module_name(path)
    if name == "lode_bench":  # the Python face: lazy exports of every layer
        return
    own = _layer(name)
    assert own is not None, name
    bad = [
        f"line {line}: {mod}"
        for line, mod in _imports(path)
        if (layer := _layer(mod)) is not None and layer > own
    ]
    assert not bad, f"{name} (layer {own}) imports a higher layer: " + "; ".join(bad)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PKG.parent)))
def test_click_only_in_the_cli(path: Path) -> None:
    name = _module_name(path)
    if name.startswith("lode_bench.cli"):
        return
    bad = [line for line, mod in _imports(path) if mod.split(".")[0] == "click"]
    assert not bad, f"{name} imports click (lines {bad}); click lives only in lode_bench.cli"


def test_no_import_cycles_at_module_level() -> None:
    """Module-level imports between lode_bench modules form a DAG."""
    names = {_module_name(p): p for p in SOURCES}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        deps = set()
        for _, mod in _imports(path, top_level_only=True):
            # ``from pkg.mod import x`` may name a sub-module x; count the longest known prefix
            while mod and mod not in names:
                mod = mod.rpartition(".")[0]
            if mod and mod != name and mod.startswith("lode_bench"):
                deps.add(mod)
        graph[name] = deps
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep) :] + [dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles: " + " | ".join(" -> ".join(c) for c in cycles[:5])
