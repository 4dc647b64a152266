"""In-memory description of a paired dataset: samples with their file paths.

Every loader (GoPro, RealBlur, a lode-bench manifest, ...) returns a :class:`DatasetIndex`.
Samples are plain data (strings, numbers, dicts) so that work units built from them can
be pickled and sent to worker processes.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lode_bench.errors import LodeBenchError
from lode_bench.io.atomic import sha256_file


class DatasetError(LodeBenchError):
    """A dataset folder is missing, mis-paired or incomplete; the message lists the problems."""


@dataclass(frozen=True)
class Sample:
    """One blurry/sharp pair.

    Attributes:
        id: identifier unique in the dataset (may contain ``/``), used as result key.
        blur: path of the blurry input image.
        sharp: path of the ground truth (``None`` for no-reference sets).
        mask: path of the blur mask (PNG or flow-magnitude ``.npy``), if any.
        arrays: role -> ``.npy`` path of per-sample arrays (e.g. ``kernel``).
        meta: free per-sample metadata (sequence, frame count, saturation flag, ...).
    """

    id: str
    blur: str
    sharp: str | None = None
    mask: str | None = None
    arrays: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def array(self, role: str) -> np.ndarray:
        """Load the per-sample array ``role`` (``allow_pickle=False``).

        Raises:
            LodeBenchError: when the sample has no such array or it cannot be read.
        """
        if role not in self.arrays:
            raise LodeBenchError(f"sample {self.id!r} has no {role!r} array")
        path = self.arrays[role]
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise LodeBenchError(f"{path}: cannot read {role!r} array ({exc})") from exc


@dataclass
class DatasetIndex:
    """A loaded dataset: its samples, version hash and what the loader found wrong.

    Attributes:
        name: display name (``"gopro-test-blur"``, ...).
        kind: loader that produced it.
        root: the folder it was read from.
        samples: sorted by id.
        version_hash: identifies the dataset version (see :func:`listing_hash`).
        warnings: non-fatal findings (e.g. counts differ from the official release).
    """

    name: str
    kind: str
    root: str
    samples: list[Sample]
    version_hash: str
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.samples)


def listing_hash(
    kind: str, root: str | Path, samples: list[Sample], *, content: bool = False
) -> str:
    """Version hash of a folder dataset: ids, relative paths and file sizes (or sha256).

    File sizes identify a release cheaply (re-encoded or edited PNGs change size);
    ``content=True`` hashes every file's bytes instead.
    """
    root = Path(root)
    rows = []
    for s in sorted(samples, key=lambda s: s.id):
        files = {"blur": s.blur, "sharp": s.sharp, "mask": s.mask, **s.arrays}
        entry: dict[str, Any] = {"id": s.id}
        for role, p in sorted(files.items()):
            if p is None:
                continue
            rel = os.path.relpath(p, root)
            entry[role] = [rel, sha256_file(p) if content else os.path.getsize(p)]
        rows.append(entry)
    text = json.dumps({"kind": kind, "samples": rows}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
