"""Thin Python entry points that have no single home in a lower layer.

:func:`score_folders` is what ``lode-bench score`` does without the printing: pair two
folders by name (:func:`lode_bench.metrics.scoring.pair_folders`), score every pair
(:func:`~lode_bench.metrics.scoring.score_pairs`) and average
(:func:`~lode_bench.metrics.scoring.summarise`). :func:`synthesise` loads a recipe by
name and runs it (:func:`lode_bench.synth.pipeline.run_recipe`). Both are re-exported
by :mod:`lode_bench`; the work is done in the layers they call.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lode_bench.datasets.manifest import Manifest
    from lode_bench.metrics.protocols import ImageScore, Protocol
    from lode_bench.metrics.scoring import Pairing
    from lode_bench.synth.recipes import Recipe


@dataclass(frozen=True)
class FolderScores:
    """What :func:`score_folders` found: the pairing, one score per image and the means.

    Attributes:
        protocol: the protocol that scored the images.
        pairing: how the folders were paired (missing and stray predictions, ambiguous
            names, missing masks).
        scores: one :class:`~lode_bench.metrics.protocols.ImageScore` per ground-truth
            image, in name order; a missing or unreadable prediction is a score with
            ``ok == False`` and its reason in ``errors``.
        summary: :func:`~lode_bench.metrics.scoring.summarise` of ``scores``
            (``mean``, ``n_ok``, ``n_failed``, ``n_infinite``, ...).

    Example:
        >>> from lode_bench import example_dirs, score_folders
        >>> result = score_folders(*example_dirs("realblur", "restormer"), "basicsr")
        >>> result.n_failed, sorted(result.means)
        (0, ['PSNR', 'SSIM'])
    """

    protocol: Protocol
    pairing: Pairing
    scores: list[ImageScore]
    summary: dict[str, Any]

    @property
    def means(self) -> dict[str, float]:
        """Mean of the per-image scores of each column, over the images scored."""
        return dict(self.summary["mean"])

    @property
    def n_failed(self) -> int:
        """Images that have no score (missing or unreadable prediction, bad pair)."""
        return int(self.summary["n_failed"])

    @property
    def errors(self) -> dict[str, str]:
        """Image id -> why it failed, for every failed image."""
        return {s.image_id: s.error_message or "" for s in self.scores if not s.ok}


def score_folders(
    pred_dir: str | Path,
    gt_dir: str | Path,
    protocol: str | Protocol = "gopro",
    *,
    mask_dir: str | Path | None = None,
    recursive: bool = False,
    jobs: int | None = None,
    progress: bool = False,
) -> FolderScores:
    """Score a folder of outputs against a folder of ground truth under one protocol.

    Files are paired by relative name without extension, never by listing order; the
    ground-truth folder defines the image set.

    Args:
        pred_dir: folder of model outputs.
        gt_dir: folder of ground-truth images.
        protocol: protocol name (``"gopro"``, ``"basicsr"``, ``"lode@2"``, ...) or object
            (:func:`lode_bench.metrics.protocols.get_protocol`).
        mask_dir: folder of blur masks with the same names (PNG > 0, or flow ``.npy``);
            protocols that need masks (``lode``, ``reloblur``) fail images without one.
        recursive: pair by path relative to each folder, descending into sub-folders.
        jobs: scoring threads (default: usable cores, at most 8).
        progress: show a progress bar.

    Returns:
        The :class:`FolderScores`.

    Raises:
        ImageReadError: a folder does not exist, or the ground-truth folder has no images.
        UnknownNameError: no protocol of that name.

    Example:
        >>> from lode_bench import example_dirs, score_folders
        >>> pred, gt = example_dirs("gopro", "restormer")
        >>> result = score_folders(pred, gt, "gopro")
        >>> [s.image_id for s in result.scores]
        ['GOPR0410_11_00-000205']
        >>> round(result.means["PSNR"], 2) > 25
        True
    """
    from lode_bench.metrics.protocols import Protocol, get_protocol
    from lode_bench.metrics.scoring import pair_folders, score_pairs, summarise

    proto = protocol if isinstance(protocol, Protocol) else get_protocol(protocol)
    pairing = pair_folders(pred_dir, gt_dir, mask_dir, recursive=recursive)
    scores = list(score_pairs(pairing.pairs, proto, jobs=jobs, progress=progress))
    return FolderScores(proto, pairing, scores, summarise(scores, proto))


def synthesise(recipe: str | Path | Recipe, out_dir: str | Path, **options: Any) -> Manifest:
    """Synthesise a blurry/sharp dataset with a recipe (what ``lode-bench synth`` does).

    Args:
        recipe: a recipe name from ``configs/synth/`` (``"gopro"``, ``"lode-local"``, ...),
            a YAML path, or a loaded :class:`~lode_bench.synth.recipes.Recipe`.
        out_dir: dataset root (created; resumed when it holds an earlier run of the same
            recipe, seed and size).
        **options: passed to :func:`lode_bench.synth.pipeline.run_recipe`: ``source``
            (default ``"builtin"``: the built-in scene, no download), ``seed``, ``limit``,
            ``size``, ``progress``, ``executor``, ``overwrite``, ``fps``, ...

    Returns:
        The finalised manifest of the dataset.

    Raises:
        UnknownNameError: no recipe of that name.
        ConfigError: an invalid recipe file or option.

    Example:
        >>> import tempfile
        >>> from lode_bench import synthesise
        >>> tmp = tempfile.TemporaryDirectory()
        >>> manifest = synthesise("lode-local", tmp.name, limit=2, size=(64, 96), progress=False)
        >>> len(manifest.samples), sorted(manifest.samples[0]["files"])
        (2, ['blur', 'mask', 'sharp'])
        >>> tmp.cleanup()
    """
    from lode_bench.synth.pipeline import run_recipe
    from lode_bench.synth.recipes import Recipe, load_recipe

    loaded = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    return run_recipe(loaded, out_dir, **options)
