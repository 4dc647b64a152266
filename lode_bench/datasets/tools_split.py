"""Dataset tools: deterministic train/val/test splits by sequence or scene, and previews.

Splitting is by **group**, never by frame: all samples of one sequence (or scene) go to
the same split, so near-duplicate neighbouring frames cannot leak from train into test.

Group of a sample (first field present):

* ``--by sequence``: ``sequence``, ``source`` (the frame folder / video it came from),
  then the sample id's first path component (``GOPR0372_07_00/000047`` ->
  ``GOPR0372_07_00``), then the id;
* ``--by scene``: ``scene``, ``background`` (object recipes), then as for sequences.

Groups are ordered by ``sha256(f"{seed}:{group}")`` (independent of manifest order and
of the other groups) and dealt out in that order: each group goes to the split whose
share of samples is furthest below its ratio, so the sample counts follow the ratios
as closely as whole groups allow, and every split with a ratio > 0 gets a group when
there are enough groups.

Files written (atomically) into ``--out`` (default ``<root>/splits``):

* ``split.json``: parameters, ``{group: split}`` and ``{sample id: split}``;
* ``<split>.txt``: sample ids, one per line;
* ``<split>_list.txt``: RealBlur-style pairs, ``<sharp path> <blur path>`` relative to
  the dataset root, one pair per line (the layout RealBlur's and derived training
  code read as ``RealBlur_J_train_list.txt``);
* ``<split>_meta_info.txt``: BasicSR-style ``meta_info`` lines, ``<blur path> <sharp
  path>`` (paired-image datasets with a meta-info file).

:func:`preview_dataset` writes contact sheets per split (columns blur | sharp | mask,
one row per sample, labelled) for a person to look at before training.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from lode_bench.datasets.manifest import Manifest, load_manifest
from lode_bench.errors import LodeBenchError
from lode_bench.io import atomic_write_json, atomic_write_text, read_image, write_image

SPLIT_NAMES = ("train", "val", "test")


class SplitError(LodeBenchError):
    """Split parameters are unusable (bad ratios, unknown grouping)."""


def group_of(sample: dict[str, Any], by: str) -> str:
    """The group (sequence or scene) ``sample`` belongs to (see the module docstring)."""
    keys = ("sequence", "source") if by == "sequence" else ("scene", "background")
    if by not in ("sequence", "scene"):
        raise SplitError(f"--by must be 'sequence' or 'scene', got {by!r}")
    for k in keys:
        if sample.get(k):
            return str(sample[k])
    sid = str(sample["id"])
    return sid.split("/", 1)[0] if "/" in sid else sid


def parse_ratios(text: str | Sequence[float]) -> tuple[float, ...]:
    """``"0.8,0.1,0.1"`` -> normalised ratios for train, val, test (2 or 3 values).

    Raises:
        SplitError: not numbers, negative, or all zero.
    """
    try:
        vals = [float(v) for v in (text.split(",") if isinstance(text, str) else text)]
    except ValueError as exc:
        raise SplitError(f"--ratios must be comma-separated numbers, got {text!r}") from exc
    if not 2 <= len(vals) <= 3 or any(v < 0 or not np.isfinite(v) for v in vals) or sum(vals) <= 0:
        raise SplitError(
            f"--ratios needs 2 or 3 non-negative numbers (train,val[,test]), got {text!r}"
        )
    total = sum(vals)
    return tuple(v / total for v in vals)


def _order_key(seed: int, group: str) -> str:
    return hashlib.sha256(f"{seed}:{group}".encode()).hexdigest()


def assign_splits(
    groups: dict[str, int], ratios: Sequence[float], *, seed: int = 0
) -> dict[str, str]:
    """Deal groups (name -> sample count) into splits following ``ratios``.

    Returns:
        ``{group: split name}``; deterministic for the same groups, ratios and seed.
    """
    names = SPLIT_NAMES[: len(ratios)]
    counts = dict.fromkeys(names, 0)
    out: dict[str, str] = {}
    ordered = sorted(groups, key=lambda g: (_order_key(seed, g), g))
    active = [n for n, r in zip(names, ratios, strict=False) if r > 0]
    for i, g in enumerate(ordered):
        empty = [n for n in active if counts[n] == 0]
        if empty and len(ordered) - i <= len(empty):
            target = empty[0]  # the last groups fill splits that would otherwise be empty
        else:
            total = sum(counts.values()) + groups[g]
            target = max(
                active, key=lambda n: (ratios[names.index(n)] * total - counts[n], -names.index(n))
            )
        out[g] = target
        counts[target] += groups[g]
    return out


def split_dataset(
    root: str | Path,
    *,
    by: str = "sequence",
    ratios: str | Sequence[float] = "0.8,0.1,0.1",
    seed: int = 0,
    out_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Split a dataset's samples into train/val/test by group; write the list files.

    Returns:
        The ``split.json`` document.

    Raises:
        ManifestError / SplitError: naming the problem.
    """
    m = load_manifest(root)
    r = parse_ratios(ratios)
    sizes: dict[str, int] = defaultdict(int)
    member: dict[str, str] = {}
    for s in m.samples:
        key = f"{s.get('split')}\x00{s['id']}"
        member[key] = group_of(s, by)
        sizes[member[key]] += 1
    groups = assign_splits(dict(sizes), r, seed=seed)
    out = Path(out_dir) if out_dir is not None else m.root / "splits"
    by_split: dict[str, list[dict[str, Any]]] = {n: [] for n in SPLIT_NAMES[: len(r)]}
    for s in sorted(m.samples, key=lambda s: (str(s.get("split")), str(s["id"]))):
        by_split[groups[member[f"{s.get('split')}\x00{s['id']}"]]].append(s)
    for name, samples in by_split.items():
        atomic_write_text(out / f"{name}.txt", "".join(f"{s['id']}\n" for s in samples))
        pairs = [
            (s["files"]["sharp"], s["files"]["blur"])
            for s in samples
            if {"sharp", "blur"} <= set(s.get("files", {}))
        ]
        atomic_write_text(out / f"{name}_list.txt", "".join(f"{a} {b}\n" for a, b in pairs))
        atomic_write_text(out / f"{name}_meta_info.txt", "".join(f"{b} {a}\n" for a, b in pairs))
    doc = {
        "dataset": m.name,
        "manifest_hash": m.manifest_hash,
        "by": by,
        "seed": seed,
        "ratios": dict(zip(SPLIT_NAMES, r, strict=False)),
        "counts": {n: len(v) for n, v in by_split.items()},
        "groups": dict(sorted(groups.items())),
        "samples": {f"{s.get('split')}/{s['id']}": n for n, v in by_split.items() for s in v},
    }
    atomic_write_json(out / "split.json", doc)
    return doc


def _tile(img: np.ndarray | None, width: int, height: int) -> np.ndarray:
    if img is None:
        return np.full((height, width, 3), 40, np.uint8)
    if img.dtype == np.uint16:
        img = np.rint(img / 257.0).astype(np.uint8)
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)


def _label(sheet_row: np.ndarray, text: str) -> None:
    cv2.putText(
        sheet_row, text[:60], (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3, cv2.LINE_AA
    )
    cv2.putText(
        sheet_row,
        text[:60],
        (4, 14),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.4,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )


def preview_dataset(
    root: str | Path,
    *,
    out_dir: str | Path | None = None,
    per_sheet: int = 12,
    tile_width: int = 256,
    max_samples: int | None = 48,
) -> list[Path]:
    """Contact sheets per split: one row per sample, columns blur | sharp | mask.

    Samples are picked evenly spread over each split (all of them when the split holds
    at most ``max_samples``); a missing role shows as a dark tile. Sheets are written as
    ``<out>/<split>_NNN.png`` (default ``<root>/preview``).

    Returns:
        The sheet paths written.
    """
    m: Manifest = load_manifest(root)
    out = Path(out_dir) if out_dir is not None else m.root / "preview"
    written: list[Path] = []
    splits = sorted({str(s.get("split")) for s in m.samples})
    for sp in splits:
        samples = sorted(m.split(sp), key=lambda s: str(s["id"]))
        if max_samples is not None and len(samples) > max_samples:
            idx = np.linspace(0, len(samples) - 1, max_samples).round().astype(int)
            samples = [samples[i] for i in idx]
        for k in range(0, len(samples), per_sheet):
            rows = []
            for s in samples[k : k + per_sheet]:
                imgs = {
                    role: (
                        read_image(m.path_of(s, role), dtype="native")
                        if role in s.get("files", {})
                        else None
                    )
                    for role in ("blur", "sharp", "mask")
                }
                ref = next((v for v in imgs.values() if v is not None), None)
                h = (
                    tile_width
                    if ref is None
                    else max(16, int(round(tile_width * ref.shape[0] / ref.shape[1])))
                )
                row = np.hstack([_tile(imgs[r], tile_width, h) for r in ("blur", "sharp", "mask")])
                _label(row, str(s["id"]))
                rows.append(row)
            sheet = np.vstack(rows)
            path = out / f"{sp}_{k // per_sheet:03d}.png"
            write_image(path, sheet)
            written.append(path)
    atomic_write_text(
        out / "index.json",
        json.dumps(
            {"columns": ["blur", "sharp", "mask"], "sheets": [p.name for p in written]}, indent=1
        ),
    )
    return written
