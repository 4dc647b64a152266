"""Dataset tools on a lode-bench dataset (``manifest.json``): verify and stats.

* :func:`verify_dataset`: every file listed in the manifest against its sha256 (and,
  when recorded, its byte count and image size); files on disk that the manifest does
  not list are reported as extra. The tools' own output folders (:data:`TOOL_DIRS`)
  and the manifest itself are not data and are not reported.
* :func:`dataset_stats`: per split, the sample count, image sizes, frames averaged,
  mask coverage, blur magnitude, saturated fraction and noise level, with plots.

Definitions (every number can be recomputed from the files):

* ``mask_coverage``: fraction of mask pixels > 0 (mask files, else the manifest field).
* ``blur_mad``: mean absolute difference between blur and sharp, in 8-bit levels, over
  all pixels and channels (a size-free measure of how much blur moved the content).
* ``blur_size``: mean of the sample's ``blur_size`` array (local-shake kernels, px),
  when the dataset has one.
* ``saturated_fraction``: fraction of blur pixels whose largest channel is at the
  top code (255, or 65535 for 16-bit files).
* ``noise_sigma``: Immerkær's estimator on the blurry image's grey level (mean of the
  channels, 8-bit levels): ``sqrt(pi / 2) / (6 (W - 2) (H - 2)) * sum |I * N|`` with
  ``N = [[1, -2, 1], [-2, 4, -2], [1, -2, 1]]`` over the valid region (J. Immerkær,
  "Fast noise variance estimation", CVIU 1996).
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from lode_bench.datasets.manifest import JOURNAL_NAME, MANIFEST_NAME, Manifest, load_manifest
from lode_bench.io import atomic_write_bytes, atomic_write_json, read_image, sha256_file

TOOL_DIRS: tuple[str, ...] = ("splits", "stats", "preview")
IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)


@dataclass
class VerifyReport:
    """Problems found by :func:`verify_dataset`, by kind (relative paths)."""

    root: Path
    n_files: int = 0
    missing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.changed or self.extra)

    def lines(self) -> list[str]:
        """One line per problem, then a summary line."""
        out = [f"missing: {p}" for p in self.missing]
        out += [f"changed: {p}" for p in self.changed]
        out += [f"extra:   {p}" for p in self.extra]
        out.append(
            f"{self.root}: {self.n_files} files checked, {len(self.missing)} missing, "
            f"{len(self.changed)} changed, {len(self.extra)} extra" + (" - OK" if self.ok else "")
        )
        return out


def _png_size(data: bytes) -> tuple[int, int] | None:
    """(H, W) from a PNG's IHDR chunk, without decoding."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return int.from_bytes(data[20:24], "big"), int.from_bytes(data[16:20], "big")
    return None


def verify_dataset(root: str | Path, *, progress: bool = False) -> VerifyReport:
    """Check every manifest file's sha256 (and byte count / image size when recorded).

    Args:
        root: dataset folder holding ``manifest.json``.
        progress: show a progress bar.

    Returns:
        A :class:`VerifyReport`; ``report.ok`` is False on any missing, changed or
        extra file.

    Raises:
        ManifestError: the manifest is missing or malformed.
    """
    m = load_manifest(root)
    rep = VerifyReport(root=m.root)
    listed: set[str] = set()
    files = [(s, role, rel) for s in m.samples for role, rel in s.get("files", {}).items()]
    for s, role, rel in tqdm(files, desc="verify", unit="file", disable=not progress):
        listed.add(Path(rel).as_posix())
        rep.n_files += 1
        p = m.path_of(s, role)
        if not p.is_file():
            rep.missing.append(rel)
            continue
        expected_bytes = (s.get("bytes") or {}).get(role)
        if expected_bytes is not None and p.stat().st_size != int(expected_bytes):
            rep.changed.append(f"{rel} (size {p.stat().st_size} bytes, manifest {expected_bytes})")
            continue
        if sha256_file(p) != s.get("sha256", {}).get(role):
            rep.changed.append(f"{rel} (sha256 differs from the manifest)")
            continue
        if s.get("size") and p.suffix.lower() == ".png" and role != "mask":
            with open(p, "rb") as fh:
                hw = _png_size(fh.read(32))
            if hw is not None and list(hw) != list(s["size"]):
                rep.changed.append(f"{rel} (image {hw[0]}x{hw[1]}, manifest {s['size']})")
    skip = {MANIFEST_NAME, JOURNAL_NAME}
    for p in sorted(m.root.rglob("*")):
        if not p.is_file():
            continue
        rel = p.relative_to(m.root).as_posix()
        if rel in skip or rel.split("/", 1)[0] in TOOL_DIRS or rel in listed:
            continue
        rep.extra.append(rel)
    return rep


def immerkaer_sigma(grey: np.ndarray) -> float:
    """Immerkær's noise standard deviation of an H×W float image (same units as input)."""
    h, w = grey.shape
    if h < 3 or w < 3:
        return float("nan")
    conv = cv2.filter2D(
        grey.astype(np.float64), cv2.CV_64F, IMMERKAER, borderType=cv2.BORDER_CONSTANT
    )[1:-1, 1:-1]
    return float(np.sqrt(np.pi / 2) / (6.0 * (w - 2) * (h - 2)) * np.abs(conv).sum())


def _to8(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float64) / (257.0 if img.dtype == np.uint16 else 1.0)


def sample_stats(m: Manifest, s: dict[str, Any]) -> dict[str, Any]:
    """The per-sample numbers of :func:`dataset_stats` (see the module docstring)."""
    files = s.get("files", {})
    row: dict[str, Any] = {
        "id": s["id"],
        "split": s.get("split"),
        "n_frames": s.get("n_frames", s.get("n_averaged")),
    }
    blur = read_image(m.path_of(s, "blur"), dtype="native") if "blur" in files else None
    if blur is not None:
        row["height"], row["width"] = int(blur.shape[0]), int(blur.shape[1])
        top = 65535 if blur.dtype == np.uint16 else 255
        row["saturated_fraction"] = float(np.mean(blur.max(axis=2) >= top))
        row["noise_sigma"] = immerkaer_sigma(_to8(blur).mean(axis=2))
        if "sharp" in files:
            sharp = read_image(m.path_of(s, "sharp"), dtype="native")
            if sharp.shape == blur.shape:
                row["blur_mad"] = float(np.mean(np.abs(_to8(blur) - _to8(sharp))))
    if "mask" in files:
        mask = read_image(m.path_of(s, "mask"), dtype="native")
        row["mask_coverage"] = float(np.mean(mask.max(axis=2) > 0))
    elif "mask_coverage" in s:
        row["mask_coverage"] = float(s["mask_coverage"])
    if "blur_size" in files:
        row["blur_size"] = float(np.mean(np.load(m.path_of(s, "blur_size"), allow_pickle=False)))
    return row


NUMERIC = (
    "n_frames",
    "mask_coverage",
    "blur_mad",
    "blur_size",
    "saturated_fraction",
    "noise_sigma",
)


def _summary(values: list[float | None]) -> dict[str, float] | None:
    v = np.array([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return None
    return {
        "min": float(v.min()),
        "mean": float(v.mean()),
        "median": float(np.median(v)),
        "max": float(v.max()),
    }


def dataset_stats(
    root: str | Path,
    *,
    out_dir: str | Path | None = None,
    plots: bool = True,
    progress: bool = False,
) -> dict[str, Any]:
    """Per-split statistics of a dataset; writes ``stats.json``, ``samples.csv`` and plots.

    Args:
        root: dataset folder holding ``manifest.json``.
        out_dir: where to write (default ``<root>/stats``).
        plots: write one histogram PNG per statistic (matplotlib, Agg backend).
        progress: show a progress bar.

    Returns:
        ``{"splits": {split: {"count", "image_sizes", <stat>: {min, mean, median, max}}},
        "samples": [per-sample rows]}``.
    """
    m = load_manifest(root)
    out = Path(out_dir) if out_dir is not None else m.root / "stats"
    rows = [
        sample_stats(m, s)
        for s in tqdm(m.samples, desc="stats", unit="sample", disable=not progress)
    ]
    by_split: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_split[str(r["split"])].append(r)
    splits: dict[str, Any] = {}
    for name, rs in sorted(by_split.items()):
        sizes = Counter(f"{r['height']}x{r['width']}" for r in rs if "height" in r)
        entry: dict[str, Any] = {"count": len(rs), "image_sizes": dict(sorted(sizes.items()))}
        for key in NUMERIC:
            summ = _summary([r.get(key) for r in rs])
            if summ is not None:
                entry[key] = summ
        splits[name] = entry
    doc = {"dataset": m.name, "manifest_hash": m.manifest_hash, "splits": splits}
    atomic_write_json(out / "stats.json", doc)
    buf = io.StringIO()
    cols = ["id", "split", "height", "width", *NUMERIC]
    wr = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    wr.writeheader()
    wr.writerows(rows)
    atomic_write_bytes(out / "samples.csv", buf.getvalue().encode("utf-8"))
    if plots:
        _plots(by_split, out)
    return {**doc, "samples": rows}


def _plots(by_split: dict[str, list[dict[str, Any]]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for key in NUMERIC:
        series = {
            sp: [r[key] for r in rs if r.get(key) is not None and np.isfinite(r[key])]
            for sp, rs in sorted(by_split.items())
        }
        if not any(series.values()):
            continue
        fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
        for sp, vals in series.items():
            if vals:
                ax.hist(
                    vals, bins=min(30, max(5, len(vals))), alpha=0.6, label=f"{sp} ({len(vals)})"
                )
        ax.set_xlabel(key)
        ax.set_ylabel("samples")
        ax.legend()
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plt.close(fig)
        atomic_write_bytes(out / f"{key}.png", buf.getvalue())
