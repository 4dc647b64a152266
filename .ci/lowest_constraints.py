"""Print pip constraints pinning the lowest versions pyproject.toml allows.

Usage: python .ci/lowest_constraints.py [pyproject.toml] > lowest.txt

Every package in LOWEST must appear in ``[project].dependencies`` with a ``>=`` lower
bound; its pin is ``name==bound``. Anything else about the requirement (an upper bound,
markers) is refused, so a bound this script cannot read fails CI instead of going
untested.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

LOWEST = ("numpy", "opencv-python-headless", "scipy", "scikit-image", "pandas", "matplotlib")


def dependencies(pyproject: Path) -> list[str]:
    text = pyproject.read_text(encoding="utf-8")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: read the one array this needs
        block = re.search(r"^dependencies\s*=\s*\[(.*?)\]", text, re.S | re.M)
        if block is None:
            sys.exit(f"{pyproject}: no [project] dependencies array")
        return re.findall(r'"([^"]+)"', block.group(1))
    return list(tomllib.loads(text)["project"]["dependencies"])


def main() -> None:
    pyproject = Path(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml")
    bounds: dict[str, str] = {}
    for req in dependencies(pyproject):
        m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)\s*", req)
        if m:
            bounds[m.group(1).lower()] = m.group(2)
    missing = [name for name in LOWEST if name not in bounds]
    if missing:
        sys.exit(f"{pyproject}: no plain '>=' lower bound for {', '.join(missing)}")
    for name in LOWEST:
        print(f"{name}=={bounds[name]}")


if __name__ == "__main__":
    main()
