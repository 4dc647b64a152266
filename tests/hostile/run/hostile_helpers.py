"""Helpers for hostile-input tests of ``lode-bench run`` and ``synth``: tiny datasets and a
CLI runner that returns (exit code, output)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from lode_bench.datasets.manifest import DatasetWriter


def write_dataset(root: Path, n: int = 4, size: tuple[int, int] = (24, 32), seed: int = 0) -> Path:
    """A lode-bench dataset of ``n`` noisy pairs ``s000``... (uint8 RGB)."""
    rng = np.random.default_rng(seed)
    w = DatasetWriter(root, "hostile")
    for i in range(n):
        sharp = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        blur = np.clip(sharp.astype(int) + rng.integers(-20, 21, sharp.shape), 0, 255).astype(
            np.uint8
        )
        w.write_sample(f"s{i:03d}", {"blur": blur, "sharp": sharp})
    w.finalize()
    return root


class Cli:
    """``lode-bench`` through click's runner: ``cli("run", ...)`` -> (exit code, output text)."""

    def __call__(self, *args: str) -> tuple[int, str]:
        from lode_bench.cli import main

        res = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)
        out = res.output
        if res.exception is not None and not isinstance(res.exception, SystemExit):
            import traceback

            out += "".join(traceback.format_exception(res.exception))
        return res.exit_code, out


def error_lines(out: str) -> list[str]:
    """The lines of ``out`` that carry an error message."""
    return [ln for ln in out.splitlines() if ln.startswith(("Error:", "error:"))]


def assert_one_line_error(code: int, out: str, *needles: str) -> str:
    """Exit status is an error, there is no traceback and one error line holds every needle."""
    assert code != 0, out
    assert "Traceback" not in out, out
    assert "\x1b[" not in out, out
    lines = error_lines(out)
    assert lines, out
    msg = lines[0]
    for n in needles:
        assert n in msg, out
    return msg


def mount_tmpfs(path: Path, size: str = "1m") -> bool:
    """Mount a small tmpfs at ``path`` (created); False where mounting is not permitted."""
    import subprocess

    path.mkdir(parents=True, exist_ok=True)
    try:
        res = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return res.returncode == 0


def remount(path: Path, option: str) -> None:
    import subprocess

    subprocess.run(["mount", "-o", f"remount,{option}", str(path)], check=True, timeout=30)


def umount(path: Path) -> None:
    import subprocess

    subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30, check=False)


def fill_disk(folder: Path) -> Path:
    """Write a filler file until the file system holding ``folder`` is full."""
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for block in (1 << 16, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * block)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def store_rows(path: Path) -> list:
    from lode_bench.bench.store import ResultsStore

    with ResultsStore(path) as st:
        return st.rows()
