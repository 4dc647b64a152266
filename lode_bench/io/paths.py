"""Path safety: never follow a relative path out of a dataset root."""

from __future__ import annotations

from pathlib import Path

from lode_bench.errors import UnsafePathError


def safe_join(root: str | Path, relative: str | Path) -> Path:
    """Join ``relative`` onto ``root`` and refuse results outside ``root``.

    Absolute paths, ``..`` components and symbolic links that lead out of the root are
    all refused.

    Raises:
        UnsafePathError: naming the root and the offending path.
    """
    root_resolved = Path(root).resolve()
    rel = Path(relative)
    if rel.is_absolute():
        raise UnsafePathError(f"{relative}: absolute path not allowed inside dataset root {root}")
    candidate = (root_resolved / rel).resolve()
    if candidate != root_resolved and root_resolved not in candidate.parents:
        raise UnsafePathError(f"{relative}: path leaves the dataset root {root}")
    return candidate
