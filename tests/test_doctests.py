"""The ``>>>`` examples in lode_bench's docstrings run, and print what they say.

Every module of the package whose source holds an example is one test. A module that
cannot be imported because an optional extra is absent is skipped, naming the extra; any
other import error fails. Examples that cannot run here (a download, a GPU) carry
``# doctest: +SKIP`` with the reason in the prose around them.
"""

from __future__ import annotations

import doctest
import importlib
import time
from pathlib import Path

import pytest

import lode_bench

PACKAGE_ROOT = Path(lode_bench.__file__).resolve().parent

#: Top-level module of each optional extra (``pyproject.toml`` ``[project.optional-dependencies]``).
EXTRA_MODULES: dict[str, str] = {
    "ray": "ray",
    "rawpy": "raw",
    "av": "video",
    "pycocotools": "coco",
    "pyiqa": "nriqa",
}

OPTION_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE_ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules_with_examples() -> list[str]:
    """Modules of the package whose source holds a ``>>>`` line (``__main__`` excluded)."""
    out = []
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        if path.name == "__main__.py":
            continue
        if any(line.lstrip().startswith(">>>") for line in path.read_text("utf-8").splitlines()):
            out.append(_module_name(path))
    return out


def _import_or_skip(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        if top in EXTRA_MODULES:
            pytest.skip(f"{name} needs the '{EXTRA_MODULES[top]}' extra ({exc})")
        raise


def run_module_doctests(module) -> tuple[int, list[str], dict[str, float]]:
    """(examples run, failure reports, seconds per docstring) of one module."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=OPTION_FLAGS)
    failures: list[str] = []
    seconds: dict[str, float] = {}
    for test in finder.find(module, module.__name__):
        report: list[str] = []
        start = time.perf_counter()
        result = runner.run(test, out=report.append, clear_globs=True)
        seconds[test.name] = time.perf_counter() - start
        if result.failed:
            failures.append("".join(report))
    return runner.tries, failures, seconds


MODULES = modules_with_examples()


def test_examples_are_found():
    # the Python face and the entry points it exports all carry examples
    assert "lode_bench" in MODULES and "lode_bench.api" in MODULES
    assert len(MODULES) >= 15, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = _import_or_skip(name)
    tries, failures, _seconds = run_module_doctests(module)
    assert not failures, "\n".join(failures)
    assert tries > 0 or _only_skipped(module), f"{name}: no example ran"


def _only_skipped(module) -> bool:
    """True when every example of ``module`` is marked ``+SKIP``."""
    tests = doctest.DocTestFinder(exclude_empty=True).find(module, module.__name__)
    examples = [ex for t in tests for ex in t.examples]
    return bool(examples) and all(ex.options.get(doctest.SKIP) for ex in examples)


def test_a_wrong_example_fails(tmp_path):
    # the runner above really compares output: a wrong expectation is reported
    path = tmp_path / "wrong_example.py"
    path.write_text('def f():\n    """\n    >>> 1 + 1\n    3\n    """\n', encoding="utf-8")
    spec = importlib.util.spec_from_file_location("wrong_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tries, failures, _ = run_module_doctests(module)
    assert tries == 1 and len(failures) == 1 and "Expected:\n    3\nGot:\n    2" in failures[0]


def test_missing_extra_is_a_skip_with_the_extra_named(monkeypatch):
    def fake_import(name):
        raise ModuleNotFoundError("No module named 'rawpy'", name="rawpy")

    monkeypatch.setattr(importlib, "import_module", fake_import)
    with pytest.raises(pytest.skip.Exception, match="needs the 'raw' extra"):
        _import_or_skip("lode_bench.io.raw")


def test_other_import_errors_fail(monkeypatch):
    def fake_import(name):
        raise ModuleNotFoundError("No module named 'lode_bench.nope'", name="lode_bench.nope")

    monkeypatch.setattr(importlib, "import_module", fake_import)
    with pytest.raises(ModuleNotFoundError):
        _import_or_skip("lode_bench.nope")


def test_flags_match_pyproject():
    # `pytest --doctest-modules lode_bench` and this file judge examples the same way
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    with open(PACKAGE_ROOT.parent / "pyproject.toml", "rb") as fh:
        names = tomllib.load(fh)["tool"]["pytest"]["ini_options"]["doctest_optionflags"]
    flags = 0
    for name in names:
        flags |= doctest.OPTIONFLAGS_BY_NAME[name]
    assert flags == OPTION_FLAGS
