"""Every shell command in README.md's ``bash`` blocks, as written.

Commands are read from the fenced ``bash`` blocks (backslash continuations joined,
comments dropped, ``&&`` chains split, words split with :mod:`shlex`), then:

* ``lode-bench ...``: every one is parsed by the real click command tree (the
  subcommand exists, every option exists, the positional arguments fit, required options
  are present, choice and number values are valid, ``--protocol`` names a registered
  protocol). The ones that can run offline here are then run, as written, in README
  order in one scratch folder holding copies of ``configs/`` and ``leaderboards/``, and
  must exit 0 and write what their ``--out`` names. A command that reads an external
  dataset, a user's captures or a Ray cluster is not run; :data:`EXTERNAL_INPUTS` names
  each such input and why it is not here.
* environment set-up (``python3 -m venv``, ``pip install``): not run; the extras named
  exist in ``pyproject.toml``, pinned requirements satisfy its ranges, the console
  script named exists.
* ``python -m pytest``: the suite itself, not run from within.
* ``python benchmarks/*.py``: timing runs (minutes of CPU), not run; the script exists
  and compiles.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"

#: First path component of an input that is not in this checkout -> why.
EXTERNAL_INPUTS: dict[str, str] = {
    "GOPRO_Large": "the GoPro dataset (a download)",
    "RealBlur": "the RealBlur dataset (a download)",
    "results": "a method's saved outputs",
    "out": "a method's saved outputs (placeholder name)",
    "gt": "a ground-truth folder (placeholder name)",
    "masks": "a blur-mask folder (placeholder name)",
    "frames": "a user's video frames",
    "frames120": "a user's 120 fps frames",
    "raw_burst": "a user's RAW burst",
    "captures": "a user's captured blur/sharp pairs",
    "clip.mp4": "a user's video",
    "brackets": "a user's exposure brackets",
    "instances.json": "COCO annotations (a download)",
    "imgs": "COCO images (a download)",
    "data/gopro-like": "the output of `synth gopro --source frames/` (a user's frames)",
    "results.sqlite": "a store filled by the `run` commands (GoPro/RealBlur downloads)",
    "sub.json": "a submission exported from that store",
    "configs/suites/gopro.yaml": "a suite that reads GOPRO_Large (a download)",
    "NAFNet-GoPro-width64.pth": "official NAFNet weights (a download)",
    "model_best.pt": "official DeepDeblur weights (a download)",
}
#: Options whose presence means the command needs something that is not here.
EXTERNAL_OPTIONS: dict[str, str] = {"--ray-address": "a running Ray cluster"}

#: Scratch copies of these repository folders are what relative paths in the README name.
COPIED_FOLDERS = ("configs", "leaderboards")


@dataclass(frozen=True)
class Command:
    line: int
    text: str
    argv: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"L{self.line}:{' '.join(self.argv[:3])}"


def readme_commands(text: str) -> list[Command]:
    """Commands of the ``bash`` blocks of ``text``: continuations joined, ``&&`` split."""
    out: list[Command] = []
    in_bash = False
    pending, start = "", 0
    for no, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("```"):
            in_bash = not in_bash and stripped[3:].strip() == "bash"
            continue
        if not in_bash:
            continue
        if not pending:
            start = no
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        logical, pending = pending + raw, ""
        words = shlex.split(logical, comments=True)
        chain: list[str] = []
        for w in [*words, "&&"]:
            if w == "&&":
                if chain:
                    out.append(Command(start, logical.strip(), tuple(chain)))
                chain = []
            else:
                assert w not in ("|", ";", "||", "&"), (
                    f"README line {start}: unsupported shell syntax {w!r}"
                )
                chain.append(w)
    assert not pending, "README ends inside a continued command"
    return out


def _tool(argv: tuple[str, ...]) -> str:
    return Path(argv[0]).name


COMMANDS = readme_commands(README.read_text(encoding="utf-8"))
LODE = [c for c in COMMANDS if _tool(c.argv) == "lode-bench"]


def _value_root(word: str) -> str:
    """The input a word names: ``NAME=KIND:PATH`` -> ``PATH``; ``PATH/...`` -> first part."""
    value = word.split("=", 1)[1] if re.match(r"^[\w.-]+=", word) else word
    value = value.split(":", 1)[1] if re.match(r"^[a-z][\w-]*:(?!//)", value) else value
    return value


def external_reason(argv: tuple[str, ...]) -> str | None:
    """Why ``argv`` cannot run here, or ``None`` when all it reads is in the checkout."""
    for word in argv[1:]:
        if word.startswith("-"):
            opt = word.split("=", 1)[0]
            if opt in EXTERNAL_OPTIONS:
                return f"{opt}: needs {EXTERNAL_OPTIONS[opt]}"
            continue
        value = _value_root(word).rstrip("/")
        for name, why in EXTERNAL_INPUTS.items():
            if value == name or value.startswith(name + "/"):
                return f"{word}: needs {why}"
    return None


def check_parses(argv: tuple[str, ...]) -> click.Command:
    """Parse ``lode-bench ARGS`` with the real command tree; return the leaf command.

    Nothing is invoked and no path is checked for existence: only the names, counts and
    values that the command line itself fixes.
    """
    from lode_bench.cli import main

    cmd: click.Command = main
    ctx: click.Context | None = None
    args = list(argv[1:])
    while True:
        ctx = click.Context(cmd, info_name=cmd.name, parent=ctx)
        opts, rest, _order = cmd.make_parser(ctx).parse_args(args)
        if isinstance(cmd, click.Group):
            assert rest, f"{' '.join(argv)}: no subcommand"
            sub = cmd.get_command(ctx, rest[0])
            assert sub is not None, f"{' '.join(argv)}: no subcommand {rest[0]!r}"
            cmd, args = sub, rest[1:]
            continue
        assert not rest, f"{' '.join(argv)}: unexpected arguments {rest}"
        for param in cmd.params:
            if param.name is None:
                continue
            if param.required and param.name not in opts:
                raise AssertionError(f"{' '.join(argv)}: missing required {param.name}")
            if param.name in opts and not isinstance(param.type, (click.Path, click.File)):
                param.type_cast_value(ctx, opts[param.name])
        if "protocol" in opts and opts["protocol"] is not None:
            from lode_bench.metrics.protocols import get_protocol

            values = (
                opts["protocol"]
                if isinstance(opts["protocol"], (list, tuple))
                else [opts["protocol"]]
            )
            for v in values:
                get_protocol(str(v))
        return cmd


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("readme")
    for name in COPIED_FOLDERS:
        shutil.copytree(REPO / name, root / name)
    return root


def _run_lode_bench(argv: tuple[str, ...], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    return subprocess.run(
        [sys.executable, "-m", "lode_bench.cli", *argv[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _out_paths(argv: tuple[str, ...]) -> list[str]:
    return [argv[i + 1] for i, w in enumerate(argv[:-1]) if w == "--out"]


#: Runnable commands that take more than ~30 s here (full-size defaults) are marked slow.
SLOW: tuple[tuple[str, ...], ...] = (("demo",), ("synth", "lode-local"))


def _is_slow(argv: tuple[str, ...]) -> bool:
    return any(argv[1 : 1 + len(prefix)] == prefix for prefix in SLOW)


def _params() -> list:
    out = []
    for c in LODE:
        marks = [pytest.mark.slow] if _is_slow(c.argv) and external_reason(c.argv) is None else []
        out.append(pytest.param(c, id=c.id, marks=marks))
    return out


def test_readme_has_commands():
    assert len(LODE) >= 30 and any(_tool(c.argv) == "pip" for c in COMMANDS)
    assert [c for c in LODE if external_reason(c.argv) is None], "no README command runs"


@pytest.mark.parametrize("cmd", _params())
def test_lode_bench_command(cmd: Command, workdir: Path):
    check_parses(cmd.argv)
    reason = external_reason(cmd.argv)
    if reason is not None:
        pytest.skip(f"parsed, not run: {reason}")
    res = _run_lode_bench(cmd.argv, workdir)
    assert res.returncode == 0, (
        f"README line {cmd.line}: {cmd.text}\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}"
    )
    assert "Traceback" not in res.stderr, res.stderr[-3000:]
    for out in _out_paths(cmd.argv):
        assert (workdir / out).exists(), f"README line {cmd.line}: --out {out} not written"


def _pyproject() -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    with open(REPO / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)


def test_setup_commands_name_what_pyproject_declares():
    from packaging.requirements import Requirement

    project = _pyproject()["project"]
    extras = project["optional-dependencies"]
    declared = {Requirement(r).name: Requirement(r) for reqs in extras.values() for r in reqs}
    scripts = set(project["scripts"])
    seen_extras: set[str] = set()
    checked = 0
    for c in COMMANDS:
        argv, tool = c.argv, _tool(c.argv)
        if tool == "python3" and argv[1:3] == ("-m", "venv"):
            assert len(argv) == 4 and argv[3] == ".venv", c.text
        elif tool == "pip":
            assert argv[1] == "install", c.text
            words = [w for w in argv[2:] if w not in ("--no-deps", "-q", "-U", "--upgrade")]
            i = 0
            while i < len(words):
                if words[i] == "-e":
                    target = words[i + 1]
                    m = re.fullmatch(r"\.(?:\[([\w,-]+)\])?", target)
                    assert m, (
                        f"README line {c.line}: editable target {target!r} is not the checkout"
                    )
                    for extra in filter(None, (m.group(1) or "").split(",")):
                        assert extra in extras, (
                            f"README line {c.line}: no extra {extra!r} in pyproject.toml"
                        )
                        seen_extras.add(extra)
                    i += 2
                    continue
                req = Requirement(words[i])  # a valid requirement, or this raises
                if req.name in declared and req.specifier:
                    pinned = [s.version for s in req.specifier if s.operator == "=="]
                    for v in pinned:
                        assert declared[req.name].specifier.contains(v), (
                            f"README line {c.line}: {req} outside pyproject's {declared[req.name]}"
                        )
                i += 1
        elif argv[0].startswith(".venv/bin/") and tool not in ("python", "pip"):
            assert tool in scripts, f"README line {c.line}: no console script {tool!r}"
        else:
            continue
        checked += 1
    assert checked >= 5 and seen_extras, (checked, seen_extras)


def test_pytest_and_benchmark_commands_name_real_things():
    ini = _pyproject()["tool"]["pytest"]["ini_options"]
    kinds: set[str] = set()
    for c in COMMANDS:
        argv = c.argv
        if _tool(argv) != "python":
            continue
        if argv[1:3] == ("-m", "pytest"):
            # the suite itself (this test is part of it): its test folders exist
            assert all((REPO / p).is_dir() for p in ini["testpaths"]), ini["testpaths"]
            kinds.add("pytest")
        elif argv[1].startswith("benchmarks/"):
            script = REPO / argv[1]
            assert script.is_file(), f"README line {c.line}: {argv[1]} missing"
            compile(
                script.read_text(encoding="utf-8"), str(script), "exec"
            )  # SyntaxError if broken
            kinds.add("benchmark")
        else:
            raise AssertionError(f"README line {c.line}: unclassified python command {c.text}")
    assert kinds == {"pytest", "benchmark"}


def test_the_parser_check_rejects_a_wrong_command():
    from click.exceptions import BadParameter, NoSuchOption

    from lode_bench.errors import UnknownNameError

    check_parses(("lode-bench", "score", "--example", "gopro/restormer", "--protocol", "basicsr"))
    with pytest.raises(NoSuchOption):
        check_parses(("lode-bench", "score", "--example", "gopro/restormer", "--protcol", "gopro"))
    with pytest.raises(AssertionError, match="no subcommand 'scor'"):
        check_parses(("lode-bench", "scor", "--pred", "x"))
    with pytest.raises(AssertionError, match="missing required"):
        check_parses(("lode-bench", "score", "--pred", "x", "--gt", "y"))
    with pytest.raises(UnknownNameError):
        check_parses(("lode-bench", "score", "--pred", "x", "--gt", "y", "--protocol", "gopr"))
    with pytest.raises(BadParameter):
        check_parses(
            ("lode-bench", "score", "--pred", "x", "--gt", "y", "-p", "gopro", "--lpips", "alx")
        )


def test_the_reader_joins_continuations_and_splits_chains():
    text = (
        "intro\n```bash\nlode-bench run --a 1 \\\n    --b 'x y'   # note\n"
        "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]'\n   # only a comment\n```\n"
        "```python\nnot = 'a command'\n```\n"
    )
    cmds = readme_commands(text)
    assert [c.argv for c in cmds] == [
        ("lode-bench", "run", "--a", "1", "--b", "x y"),
        ("python3", "-m", "venv", ".venv"),
        (".venv/bin/pip", "install", "-e", ".[dev]"),
    ]
    assert [c.line for c in cmds] == [3, 5, 5]


def test_external_inputs_are_recognised():
    assert external_reason(("lode-bench", "score", "--gt", "gopro:GOPRO_Large/test", "-p", "gopro"))
    assert external_reason(("lode-bench", "analyze", "gopro=gopro:GOPRO_Large/test", "--out", "x"))
    assert external_reason(("lode-bench", "synth", "lode-local", "--ray-address", "h:1"))
    assert external_reason(("lode-bench", "synth", "builtin", "--out", "data/builtin")) is None
    assert external_reason(("lode-bench", "leaderboard", "build", "leaderboards/sample")) is None
