"""Benchmark of the command line's start-up: ``lode-bench --help`` and each command's ``--help``.

Each case runs in a fresh interpreter (``python -c`` with the same entry point as the
``lode-bench`` script, the repository first on the path), ``--repeat`` times; the median
wall time is printed next to the median of ``python -c pass`` (the interpreter's own
start-up, the floor no command line can go below) and their ratio. The heavy modules
(NumPy, OpenCV, pandas, Matplotlib, SciPy, scikit-image, PyTorch) found in
``sys.modules`` after ``lode-bench --help`` are listed: none is the goal.

Usage::

    python benchmarks/bench_cli_help.py [--repeat 11] [--commands]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "matplotlib", "pandas", "cv2", "numpy", "scipy", "skimage")
ENTRY = "import sys; sys.argv[0] = 'lode-bench'; from lode_bench.cli import main; main()"
PROBE = (
    "import sys, json; from click.testing import CliRunner; from lode_bench.cli import main; "
    "r = CliRunner().invoke(main, ['--help']); "
    f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
)


def _env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": str(REPO) + (os.pathsep + path if path else "")}


def median_wall(argv: list[str], repeat: int) -> float:
    """Median wall time (s) of ``argv`` run ``repeat`` times (after one warm-up run)."""
    env = _env()
    subprocess.run(argv, env=env, capture_output=True, check=False)  # warm the file cache
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = subprocess.run(argv, env=env, capture_output=True, check=False)
        times.append(time.perf_counter() - t0)
        if res.returncode != 0:
            raise SystemExit(
                f"{argv[-1]}: exit status {res.returncode}: {res.stderr.decode()[-500:]}"
            )
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=11, help="Runs per case (median taken).")
    ap.add_argument("--commands", action="store_true", help="Also time each command's --help.")
    args = ap.parse_args()

    py = sys.executable
    base = median_wall([py, "-c", "pass"], args.repeat)
    print(f"python -c pass           {base * 1000:8.1f} ms  (interpreter start-up)")
    cases = [["--help"]]
    if args.commands:
        sys.path.insert(0, str(REPO))
        from lode_bench.cli import COMMANDS

        cases += [[name, "--help"] for name in COMMANDS]
    for case in cases:
        t = median_wall([py, "-c", ENTRY, *case], args.repeat)
        label = "lode-bench " + " ".join(case)
        print(f"{label:<24} {t * 1000:8.1f} ms  ratio {t / base:5.2f} x python -c pass")
    heavy = json.loads(
        subprocess.run(
            [py, "-c", PROBE], env=_env(), capture_output=True, text=True, check=True
        ).stdout
    )
    print("heavy modules imported by `lode-bench --help`: " + (", ".join(heavy) or "none"))


if __name__ == "__main__":
    main()
