"""`lode-bench --help` and every command's `--help` import no numerical library.

Listing the commands imports each command module; those import only click and
lode_bench.errors at module level (heavy libraries are imported inside the command
functions), so the help is fast (`benchmarks/bench_cli_help.py` times it). Each check
runs in a fresh interpreter, since this test process has imported everything already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "matplotlib", "pandas", "cv2", "numpy", "scipy", "skimage", "PIL")

_PROBE = """
import json, sys
import click
from click.testing import CliRunner
from lode_bench.cli import COMMANDS, main

HEAVY = {heavy!r}
def heavy():
    return [m for m in HEAVY if m in sys.modules]

out = {{}}
r = CliRunner().invoke(main, ["--help"])
out["lode-bench --help"] = {{"code": r.exit_code, "heavy": heavy(), "text": r.output}}

def walk(path, cmd):
    r = CliRunner().invoke(main, [*path, "--help"])
    out["lode-bench " + " ".join(path) + " --help"] = {{"code": r.exit_code, "heavy": heavy()}}
    if isinstance(cmd, click.Group):
        for name in cmd.list_commands(click.Context(cmd)):
            walk([*path, name], cmd.get_command(click.Context(cmd), name))

ctx = click.Context(main)
for name in COMMANDS:
    walk([name], main.get_command(ctx, name))
print(json.dumps(out))
"""


def _probe() -> dict[str, dict]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    res = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=HEAVY)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout)


def test_help_of_the_command_line_and_every_command_imports_no_heavy_library() -> None:
    out = _probe()
    top = out["lode-bench --help"]
    assert top["code"] == 0 and top["heavy"] == [], top
    from lode_bench.cli import COMMANDS

    for name in COMMANDS:  # every command listed, none "unavailable"
        assert f"  {name} " in top["text"], (name, top["text"])
    assert "warning" not in top["text"]
    assert len(out) > len(COMMANDS) + 10  # the subcommands of the groups were walked too
    for label, r in out.items():
        assert r["code"] == 0, label
        assert r["heavy"] == [], (label, r["heavy"])
