"""``lode-bench analyze``: blur-pattern statistics of one or more datasets.

Output folder::

    samples.csv                    every sample of every dataset (columns: analyze.sample.COLUMNS)
    summary.json                   per dataset: counts, feature medians, mean flow curve,
                                   diversity, estimator settings
    comparison.png                 one figure comparing the datasets
    <dataset>/samples.csv          the dataset's rows (also the resume point)
    <dataset>/histograms.png       histograms of its kernel features, saturation and noise

**Diversity** of a dataset: the Shannon entropy (bits, plug-in estimate) of its samples'
joint histogram over kernel features: extent bins (px) ``0, 2, 4, 6, 8, 12, 16, 24, 32, ∞``
× direction bins of 30° × anisotropy bins ``[0, ⅓), [⅓, ⅔), [⅔, 1]``. Blur-only sets use
the blind extent alone (marked ``estimated``). The plug-in entropy grows with the number
of samples up to ``log2(n)``, so compare sets of similar size (``n`` is reported).

A re-run on the same ``--out`` with the same settings and dataset version skips the
samples already in ``<dataset>/samples.csv``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from lode_bench.analyze.measures import FLOW_THRESHOLDS
from lode_bench.analyze.sample import COLUMNS, AnalyzeSettings, analyze_sample, flow_column
from lode_bench.datasets.registry import resolve_dataset
from lode_bench.datasets.types import DatasetIndex
from lode_bench.io.atomic import atomic_write_bytes, atomic_write_json, atomic_write_text
from lode_bench.io.paths import slugify

EXTENT_BINS = (0.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, math.inf)
DIRECTION_BINS = (0.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0)
ANISOTROPY_BINS = (0.0, 1 / 3, 2 / 3, 1.0 + 1e-9)


def entropy_bits(codes: Sequence[tuple[int, ...]]) -> float:
    """Plug-in Shannon entropy (bits) of the empirical distribution of ``codes``."""
    if not codes:
        return math.nan
    _, counts = np.unique(np.asarray(codes), axis=0, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum() + 0.0)


def _bin(v: float, edges: Sequence[float]) -> int:
    return int(np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(edges) - 2))


def diversity(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Diversity (entropy of binned kernel features) of a dataset's rows (see module doc)."""
    paired = [
        r
        for r in rows
        if r.get("kernel_source") == "paired-lsq"
        and all(_finite(r.get(k)) for k in ("extent_px", "direction_deg", "anisotropy"))
    ]
    if paired:
        codes = [
            (
                _bin(r["extent_px"], EXTENT_BINS),
                _bin(r["direction_deg"], DIRECTION_BINS),
                _bin(r["anisotropy"], ANISOTROPY_BINS),
            )
            for r in paired
        ]
        return {
            "diversity_bits": entropy_bits(codes),
            "n": len(codes),
            "features": "extent_px x direction_deg x anisotropy",
            "estimated": False,
            "max_bits": math.log2((len(EXTENT_BINS) - 1) * 6 * 3),
        }
    blind = [r for r in rows if _finite(r.get("extent_blind_px"))]
    blind_codes = [(_bin(r["extent_blind_px"], EXTENT_BINS),) for r in blind]
    return {
        "diversity_bits": entropy_bits(blind_codes),
        "n": len(blind_codes),
        "features": "extent_blind_px",
        "estimated": True,
        "max_bits": math.log2(len(EXTENT_BINS) - 1),
    }


def _finite(v: Any) -> bool:
    try:
        return v is not None and math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


@dataclass
class DatasetAnalysis:
    """Rows and summary of one analysed dataset."""

    label: str
    index: DatasetIndex
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return slugify(self.label, salt=self.index.version_hash)

    @property
    def ok_rows(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r.get("status") == "ok"]

    def summary(self) -> dict[str, Any]:
        ok = self.ok_rows
        out: dict[str, Any] = {
            "label": self.label,
            "kind": self.index.kind,
            "root": self.index.root,
            "version_hash": self.index.version_hash,
            "n_samples": len(self.rows),
            "n_ok": len(ok),
            "n_error": len(self.rows) - len(ok),
            "n_paired": sum(bool(r["paired"]) for r in ok),
            "folder": self.slug,
        }
        for c in (
            "extent_px",
            "direction_deg",
            "anisotropy",
            "nonlinearity",
            "extent_blind_px",
            "saturated_frac",
            "noise_sigma",
            "residual_rms",
        ):
            v = np.array([float(r[c]) for r in ok if _finite(r.get(c))])
            out[f"{c}_median"] = float(np.median(v)) if v.size else None
        curve = []
        for t in FLOW_THRESHOLDS:
            at_t = [float(r[flow_column(t)]) for r in ok if _finite(r.get(flow_column(t)))]
            curve.append(float(np.mean(at_t)) if at_t else None)
        out["blurred_frac_curve"] = {"thresholds_px": list(FLOW_THRESHOLDS), "mean": curve}
        err = [
            float(r["extent_px"]) - float(r["true_extent_px"])
            for r in ok
            if _finite(r.get("extent_px")) and _finite(r.get("true_extent_px"))
        ]
        if err:
            out["extent_error_vs_true_px"] = {
                "n": len(err),
                "mean": float(np.mean(err)),
                "max_abs": float(np.max(np.abs(err))),
            }
        out["diversity"] = diversity(ok)
        return out


def rows_csv(rows: Sequence[dict[str, Any]]) -> str:
    """CSV text of rows in :data:`COLUMNS` order (floats at full precision, NaN empty)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow(
            {
                k: (
                    ""
                    if isinstance(v, float) and math.isnan(v)
                    else repr(v)
                    if isinstance(v, float)
                    else v
                )
                for k, v in r.items()
            }
        )
    return buf.getvalue()


def _read_rows(path: Path) -> list[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = []
    for r in rows:
        rec: dict[str, Any] = {}
        for k, v in r.items():
            if k in ("dataset", "sample_id", "status", "error", "kernel_source", "estimated"):
                rec[k] = v
            elif k == "paired":
                rec[k] = v == "True"
            elif v in ("", None):
                rec[k] = math.nan
            else:
                try:
                    rec[k] = int(v)
                except ValueError:
                    rec[k] = float(v)
        out.append(rec)
    return out


def split_label(spec: str) -> tuple[str | None, str]:
    """``"LABEL=SPEC"`` → ``(LABEL, SPEC)``; a plain spec → ``(None, spec)``.

    LABEL may not contain ``/``, ``\\`` or ``:`` (so paths and ``KIND:PATH`` stay specs).
    """
    label, sep, rest = spec.partition("=")
    if sep and label and rest and not any(ch in label for ch in "/\\:"):
        return label, rest
    return None, spec


def _job(args: tuple[str, Any, AnalyzeSettings]) -> dict[str, Any]:
    return analyze_sample(*args)


def analyze_datasets(
    specs: Sequence[str],
    out_dir: str | Path,
    *,
    settings: AnalyzeSettings | None = None,
    split: str | None = None,
    limit: int | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> list[DatasetAnalysis]:
    """Analyse every dataset in ``specs`` and write the output folder (see module doc).

    Args:
        specs: dataset specs (``gopro:PATH``, ``folder:PATH``, a manifest folder...).
        out_dir: output folder.
        settings: estimator settings.
        split: dataset split (default: each kind's).
        limit: only the first ``limit`` samples of each dataset (in id order).
        workers: threads (default: CPU cores).
        progress: show progress bars.

    Returns:
        One :class:`DatasetAnalysis` per spec; failed samples are rows with status ``error``.

    Raises:
        DatasetError: a dataset cannot be loaded (before anything is written).
    """
    from lode_bench.analyze.plots import comparison_figure, histogram_figure
    from lode_bench.parallel.executor import LocalExecutor

    settings = settings or AnalyzeSettings()
    out = Path(out_dir)
    named = [split_label(s) for s in specs]
    indexes = [resolve_dataset(s, split=split) for _, s in named]
    labels: list[str] = []
    for (given, _), ix in zip(named, indexes, strict=True):
        label = given or ix.name
        if label in labels and not given:
            label = f"{ix.name} ({Path(ix.root).name})"
        n = 2
        base = label
        while label in labels:
            label, n = f"{base} ({n})", n + 1
        labels.append(label)
    analyses = [DatasetAnalysis(label, ix) for label, ix in zip(labels, indexes, strict=True)]
    with LocalExecutor(workers, kind="thread") as ex:
        for a in analyses:
            _run_one(a, out, settings, limit, ex, progress)
    atomic_write_text(out / "samples.csv", rows_csv([r for a in analyses for r in a.rows]))
    for a in analyses:
        atomic_write_bytes(out / a.slug / "histograms.png", histogram_figure(a))
    atomic_write_bytes(out / "comparison.png", comparison_figure(analyses))
    atomic_write_json(
        out / "summary.json",
        {
            "settings": settings.as_dict(),
            "flow_thresholds_px": list(FLOW_THRESHOLDS),
            "datasets": [a.summary() for a in analyses],
        },
    )
    return analyses


def _run_one(
    a: DatasetAnalysis,
    out: Path,
    settings: AnalyzeSettings,
    limit: int | None,
    ex: Any,
    progress: bool,
) -> None:
    folder = out / a.slug
    state = {"settings": settings.as_dict(), "version_hash": a.index.version_hash}
    csv_path, state_path = folder / "samples.csv", folder / "settings.json"
    done: dict[str, dict[str, Any]] = {}
    if csv_path.is_file() and state_path.is_file():
        try:
            same = json.loads(state_path.read_text(encoding="utf-8")) == state
        except (OSError, json.JSONDecodeError):
            same = False
        if same:
            done = {r["sample_id"]: r for r in _read_rows(csv_path) if r.get("status") == "ok"}
    atomic_write_json(state_path, state)
    samples = a.index.samples[:limit] if limit else list(a.index.samples)
    todo = [s for s in samples if s.id not in done]
    rows = {sid: r for sid, r in done.items() if sid in {s.id for s in samples}}
    bar = tqdm(
        total=len(samples),
        initial=len(rows),
        desc=f"analyze {a.label}",
        unit="sample",
        disable=not progress,
    )
    jobs = [(a.label, s, settings) for s in todo]
    since_flush = 0
    for job, res in ex.map_unordered(_job, jobs):
        sample = job[1]
        if isinstance(res, BaseException):
            row: dict[str, Any] = dict.fromkeys(COLUMNS, math.nan)
            row.update(
                dataset=a.label,
                sample_id=sample.id,
                status="error",
                error=f"{type(res).__name__}: {res}",
                paired=sample.sharp is not None,
                kernel_source="none",
                estimated="",
            )
            res = row
        rows[sample.id] = res
        bar.update()
        since_flush += 1
        if since_flush >= 25:  # resume point
            atomic_write_text(csv_path, rows_csv([rows[k] for k in sorted(rows)]))
            since_flush = 0
    bar.close()
    a.rows = [rows[s.id] for s in samples if s.id in rows]
    atomic_write_text(csv_path, rows_csv(a.rows))
