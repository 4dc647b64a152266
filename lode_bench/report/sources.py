"""Finding the images behind a results table (for visual comparisons).

Reports read numbers from the store only; pictures need the dataset (blurry input,
ground truth, mask) and the saved model outputs. Both are located from the run table:

* the dataset: the run's ``dataset`` field when it is (or ends in, after ``KIND:``) a folder
  whose ``manifest.json`` has the table's manifest hash (``<hash>:<split>`` for a run made
  with ``--split``), or an explicit ``datasets={name_or_hash: folder}`` mapping; a
  dataset read by a loader (``gopro:``, ``realblur-j:``, ``folder:`` ...) is loaded again
  from the root its run recorded (or the mapped folder) with the recorded kind, and used
  when its version hash is the table's;
* a model's outputs: ``extra`` keys ``outputs_dir``/``save_outputs``/``output_dir`` of its
  runs (a ``folder=DIR`` model's run records ``DIR`` as ``outputs_dir``, so its pictures
  need no mapping), or an explicit ``outputs={model: folder}`` mapping, which wins (a key
  ``"<dataset>/<model>"`` applies to that dataset only and wins over a plain model key);
  inside it the file ``<image_id>.<ext>`` (or a flat name such as ``<seq>-<frame>.png``,
  the names ``folder=DIR`` accepts) is looked up directly and under ``<model>/`` and
  ``<dataset>/<model>/``.

The ``identity`` baseline's output is the blurry input itself.

A file that cannot be read (corrupt, truncated, too large) does not stop the report: it
is treated as absent, so the pictures that need it are skipped, and
:attr:`ImageSource.problems` lists it (the report shows these as notes).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lode_bench.datasets.manifest import Manifest, ManifestError, load_manifest
from lode_bench.datasets.types import DatasetIndex, Sample
from lode_bench.errors import LodeBenchError
from lode_bench.io.folders import id_forms
from lode_bench.io.images import read_image, read_mask
from lode_bench.io.paths import safe_join
from lode_bench.report.summary import json_field

_OUTPUT_KEYS = ("outputs_dir", "save_outputs", "output_dir", "outputs")
_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


class ImageSource:
    """Loads blurry input, ground truth, mask and model outputs for one dataset version.

    Args:
        manifest: the dataset's manifest, or ``None`` with ``index`` given.
        output_dirs: model -> folder of saved outputs.
        dataset_name: dataset name (used in output path candidates).
        index: a loader's :class:`~lode_bench.datasets.types.DatasetIndex` (datasets
            without ``manifest.json``).
    """

    def __init__(
        self,
        manifest: Manifest | None,
        output_dirs: Mapping[str, Path],
        dataset_name: str = "",
        *,
        index: DatasetIndex | None = None,
    ) -> None:
        if manifest is None and index is None:
            raise ValueError("ImageSource needs a manifest or a dataset index")
        self.manifest = manifest
        self.output_dirs = dict(output_dirs)
        self.dataset_name = dataset_name
        self.problems: list[str] = []
        self._by_id: dict[str, dict[str, Any]] = {}
        self._loaded: dict[str, Sample] = {}
        if manifest is not None:
            for s in manifest.samples:
                self._by_id.setdefault(str(s["id"]), s)
                self._by_id.setdefault(f"{s.get('split')}/{s['id']}", s)
        for smp in index.samples if index is not None else ():
            self._loaded.setdefault(smp.id, smp)

    def sample(self, image_id: str) -> dict[str, Any] | None:
        return self._by_id.get(image_id)

    def _path(self, image_id: str, role: str) -> Path | None:
        smp = self._loaded.get(image_id)
        if smp is not None:
            text = {"blur": smp.blur, "sharp": smp.sharp, "mask": smp.mask}.get(role)
            return Path(text) if text else None
        s = self.sample(image_id)
        if s is None or self.manifest is None or role not in s.get("files", {}):
            return None
        return self.manifest.path_of(s, role)

    def _role(self, image_id: str, role: str) -> np.ndarray | None:
        try:
            path = self._path(image_id, role)
            if path is None:
                return None
            if role == "mask":
                return read_mask(path, threshold=0.25 if path.suffix == ".npy" else 0)
            return read_image(path, dtype="uint8")
        except LodeBenchError as exc:
            self._skip(f"{role} of {image_id}", exc)
            return None

    def _skip(self, what: str, exc: Exception) -> None:
        note = f"skipped pictures needing the {what}: {exc}"
        if note not in self.problems:
            self.problems.append(note)

    def blur(self, image_id: str) -> np.ndarray | None:
        return self._role(image_id, "blur")

    def sharp(self, image_id: str) -> np.ndarray | None:
        return self._role(image_id, "sharp")

    def mask(self, image_id: str) -> np.ndarray | None:
        return self._role(image_id, "mask")

    def has_output(self, model: str) -> bool:
        return model == "identity" or model in self.output_dirs

    def output(self, model: str, image_id: str) -> np.ndarray | None:
        """The saved output of ``model`` for ``image_id`` (``None`` when not found)."""
        if model == "identity":
            return self.blur(image_id)
        root = self.output_dirs.get(model)
        if root is None:
            return None
        for sub in ("", model, f"{self.dataset_name}/{model}"):
            for name, ext in ((n, e) for n in id_forms(image_id) for e in _EXTS):
                try:
                    p = safe_join(root, f"{sub}/{name}{ext}" if sub else f"{name}{ext}")
                except LodeBenchError:
                    continue
                if p.is_file():
                    try:
                        return read_image(p, dtype="uint8")
                    except LodeBenchError as exc:
                        self._skip(f"saved output of {model} for {image_id}", exc)
                        return None
        return None


def _loader_index(kinds: list[str], roots: list[Path], dataset_hash: str) -> DatasetIndex | None:
    """The dataset a loader reads from one of ``roots`` whose version hash is ``dataset_hash``."""
    from lode_bench.datasets.registry import DATASETS, resolve_dataset

    names = [n for n in DATASETS.names() if n != "manifest"]
    tried: list[str] = []
    for k in kinds:  # the recorded kind and its variants (gopro -> gopro-gamma)
        tried += [n for n in names if (n == k or n.startswith(f"{k}-")) and n not in tried]
    tried = tried or names
    seen: set[tuple[str, str, str | None]] = set()
    for root in roots:
        if not root.exists():
            continue
        for kind in tried:
            for split in (None, "test", "train", "val"):
                if (kind, str(root), split) in seen:
                    continue
                seen.add((kind, str(root), split))
                try:
                    idx = resolve_dataset(f"{kind}:{root}", split=split)
                except (LodeBenchError, OSError, TypeError):
                    continue
                if idx.version_hash == dataset_hash:
                    return idx
    return None


def find_source(
    runs: pd.DataFrame,
    *,
    dataset: str,
    dataset_hash: str,
    datasets: Mapping[str, str | Path] | None = None,
    outputs: Mapping[str, str | Path] | None = None,
) -> ImageSource | None:
    """An :class:`ImageSource` for one dataset version, or ``None`` when its folder is unknown."""
    candidates: list[Path] = []
    given_roots: list[Path] = []
    kinds: list[str] = []
    for key in (dataset, dataset_hash):
        if datasets and key in datasets:
            given_roots.append(Path(datasets[key]))
    candidates += given_roots
    loader_roots: list[Path] = list(given_roots)
    if runs is not None and not runs.empty:
        for _, r in runs[runs["dataset_hash"] == dataset_hash].iterrows():
            text = str(r.get("dataset") or "")
            candidates.append(Path(text))
            if ":" in text and not Path(text).exists():
                candidates.append(Path(text.split(":", 1)[1]))
            extra = json_field(r.get("extra"))
            for k in ("dataset_root", "dataset_path"):
                if extra.get(k):
                    candidates.append(Path(str(extra[k])))
                    loader_roots.append(Path(str(extra[k])))
            kind = extra.get("dataset_kind")
            if isinstance(kind, str) and kind and kind != "manifest" and kind not in kinds:
                kinds.append(kind)
    manifest_hash = dataset_hash.split(":", 1)[0]
    manifest = None
    index = None
    for c in candidates:
        if (c / "manifest.json").is_file():
            try:
                m = load_manifest(c)
            except ManifestError:
                continue
            if m.manifest_hash == manifest_hash:
                manifest = m
                break
    if manifest is None and (kinds or given_roots):
        index = _loader_index(kinds, list(dict.fromkeys(loader_roots)), dataset_hash)
    if manifest is None and index is None:
        return None
    dirs: dict[str, Path] = {}
    if runs is not None and not runs.empty:
        for _, r in runs[runs["dataset_hash"] == dataset_hash].iterrows():
            extra = json_field(r.get("extra"))
            for k in _OUTPUT_KEYS:
                if isinstance(extra.get(k), str) and Path(extra[k]).is_dir():
                    dirs[str(r["model"])] = Path(extra[k])
    given = dict(outputs or {})
    for key, d in given.items():  # plain model keys first, dataset-specific keys win
        if not key.startswith(f"{dataset}/"):
            dirs[key] = Path(d)
    for key, d in given.items():
        if key.startswith(f"{dataset}/"):
            dirs[key[len(dataset) + 1 :]] = Path(d)
    return ImageSource(manifest, dirs, dataset_name=dataset, index=index)
