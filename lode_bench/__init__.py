"""lode-bench: build image-deblurring datasets and score deblurring methods.

The names below are the Python face of the package; each stage of the command line has
one (``lode-bench score`` is :func:`score_folders`, ``synth`` is :func:`synthesise`,
``align`` is :func:`align_dataset`, ``run`` is :func:`run_benchmark`, ``report`` is
:func:`build_report`). They are imported on first use, so ``import lode_bench`` loads
no numerical library. Names follow British spelling (``synthesise``, ``colour``).

Example:
    >>> import lode_bench
    >>> proto = lode_bench.get_protocol("gopro")
    >>> proto.id, proto.columns
    ('gopro@1', ['PSNR', 'SSIM'])
    >>> pred, gt = lode_bench.example_dirs("gopro", "restormer")
    >>> lode_bench.score_folders(pred, gt, proto).n_failed
    0

The package is organised in layers (lower layers never import upper ones)::

    io  <-  metrics  <-  bench  <-  report
    io  <-  capture / synth / align / datasets
    cli sits on top of everything.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lode_bench.errors import LodeBenchError

__version__ = "0.1.0"

#: Public name -> ``"module:attr"`` it is imported from on first use.
_EXPORTS: dict[str, str] = {
    "FolderScores": "lode_bench.api:FolderScores",
    "align_dataset": "lode_bench.align.dataset:align_dataset",
    "build_builtin_dataset": "lode_bench.synth.builtin_dataset:build_builtin_dataset",
    "build_report": "lode_bench.report.builder:build_report",
    "example_dirs": "lode_bench.examples:example_dirs",
    "get_protocol": "lode_bench.metrics.protocols:get_protocol",
    "list_protocols": "lode_bench.metrics.protocols:list_protocols",
    "list_recipes": "lode_bench.synth.recipes:list_recipes",
    "load_recipe": "lode_bench.synth.recipes:load_recipe",
    "read_image": "lode_bench.io.images:read_image",
    "run_benchmark": "lode_bench.bench.runner:run_benchmark",
    "score_folders": "lode_bench.api:score_folders",
    "synthesise": "lode_bench.api:synthesise",
    "write_image": "lode_bench.io.images:write_image",
}

__all__ = [
    "LodeBenchError",
    "__version__",
    "FolderScores",
    "align_dataset",
    "build_builtin_dataset",
    "build_report",
    "example_dirs",
    "get_protocol",
    "list_protocols",
    "list_recipes",
    "load_recipe",
    "read_image",
    "run_benchmark",
    "score_folders",
    "synthesise",
    "write_image",
]

if TYPE_CHECKING:  # what the lazy names are, for type checkers and editors
    from lode_bench.align.dataset import align_dataset
    from lode_bench.api import FolderScores, score_folders, synthesise
    from lode_bench.bench.runner import run_benchmark
    from lode_bench.examples import example_dirs
    from lode_bench.io.images import read_image, write_image
    from lode_bench.metrics.protocols import get_protocol, list_protocols
    from lode_bench.report.builder import build_report
    from lode_bench.synth.builtin_dataset import build_builtin_dataset
    from lode_bench.synth.recipes import list_recipes, load_recipe


def __getattr__(name: str) -> Any:
    """Import an exported name on first use (and keep it, so this runs once per name)."""
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'lode_bench' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
