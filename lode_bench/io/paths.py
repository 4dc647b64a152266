"""Path safety (never follow a relative path out of a dataset root) and safe file names."""

from __future__ import annotations

import hashlib
import re
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


def slugify(name: str, *, salt: str = "", max_len: int = 40) -> str:
    """A file-name-safe, collision-resistant slug for ``name``.

    Args:
        name: any text (method or dataset name, possibly hostile).
        salt: extra text mixed into the hash (e.g. a dataset hash).
        max_len: longest readable part kept.

    Returns:
        ``[a-z0-9-]`` text ending in ``-`` plus 8 hex digits of SHA-1 of name and salt.

    Example:
        >>> slugify("../../etc/passwd")[:10]
        'etc-passwd'
    """
    readable = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:max_len].strip("-")
    digest = hashlib.sha1(f"{name}\x00{salt}".encode()).hexdigest()[:8]
    return f"{readable or 'item'}-{digest}"
