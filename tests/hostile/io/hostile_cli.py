"""Run the ``lode-bench`` CLI in a child process bounded in time and memory.

Hostile inputs (decompression bombs, YAML bombs) must fail fast with one line; a
regression must not hang the suite or exhaust the machine, so every child gets an
address-space limit (``RLIMIT_AS``) and a wall-clock timeout.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
#: Address-space limit of the child (the CLI with NumPy/OpenCV/pandas needs ~1 GB virtual).
MEM_LIMIT = 3 * 1024**3

_BOOT = """
import resource, sys
lim = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
sys.argv = ["lode-bench", *sys.argv[2:]]
from lode_bench.cli import main
main()
"""


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [ln for ln in self.stderr.splitlines() if ln.startswith("error:")]


def run_cli(
    *args: str,
    timeout: float = 90,
    mem: int = MEM_LIMIT,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Result:
    """``lode-bench ARGS`` in a child limited to ``mem`` bytes and ``timeout`` seconds."""
    e = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "NO_COLOR": "1",
        **(env or {}),
    }
    p = subprocess.run(
        [sys.executable, "-c", _BOOT, str(mem), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=e,
        cwd=cwd,
    )
    return Result(p.returncode, p.stdout, p.stderr)


def assert_one_line_error(res: Result, *needles: str, code: int | tuple[int, ...] = (1, 2)) -> str:
    """The child failed with ``code`` (2 for a usage or input error, the CLI's rule) and
    printed exactly one ``error:`` line containing ``needles``, and no traceback."""
    assert "Traceback" not in res.stderr, res.stderr[-3000:]
    codes = code if isinstance(code, tuple) else (code,)
    assert res.code in codes, (res.code, res.stderr[-3000:])
    lines = [ln for ln in res.stderr.splitlines() if ln.lower().startswith("error:")]
    assert len(lines) == 1, res.stderr[-3000:]
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def png_header_only(width: int, height: int, *, depth: int = 8, colour_type: int = 2) -> bytes:
    """A tiny, well-formed PNG that declares ``width``×``height`` (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 4096, 9))
        + chunk(b"IEND", b"")
    )


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """YAML anchors nesting ``width`` aliases ``levels`` deep: width**levels strings when expanded."""
    lines = [f"- &l0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"- &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def indent(text: str, spaces: int = 2) -> str:
    return "".join(" " * spaces + ln + "\n" for ln in text.splitlines())
