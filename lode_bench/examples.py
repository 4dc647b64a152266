"""Real example crops shipped inside the package (see ``data/examples/PROVENANCE.md``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

EXAMPLE_SETS = ("gopro", "realblur")
EXAMPLE_METHODS = ("blur", "hi-diff", "restormer", "stripformer")


def example_root() -> Path:
    """Folder holding ``<set>/<method>/<image>.png`` example crops."""
    return Path(str(resources.files("lode_bench") / "data" / "examples"))


def example_dirs(name: str, method: str) -> tuple[Path, Path]:
    """(prediction folder, ground-truth folder) of an example set and method.

    Sets: :data:`EXAMPLE_SETS`; methods: :data:`EXAMPLE_METHODS` (``blur`` is the
    blurry input itself).

    Example:
        >>> pred, gt = example_dirs("realblur", "restormer")
        >>> pred.name, gt.name, sorted(p.name for p in gt.iterdir())
        ('restormer', 'gt', ['scene050-6.png'])
    """
    if name not in EXAMPLE_SETS:
        raise ValueError(f"unknown example set {name!r}; choose from {EXAMPLE_SETS}")
    if method not in EXAMPLE_METHODS:
        raise ValueError(f"unknown example method {method!r}; choose from {EXAMPLE_METHODS}")
    root = example_root() / name
    return root / method, root / "gt"
