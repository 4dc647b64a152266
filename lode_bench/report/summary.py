"""Summaries of a results store: one table per (dataset version, protocol version).

Reads only :meth:`ResultsStore.results_frame` and :meth:`ResultsStore.runs_frame`. A
dataset whose manifest hash changed is a different dataset version, and a protocol
whose version changed gives different numbers, so neither is ever mixed into one table.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lode_bench.report.stats import (
    Interval,
    best_indices,
    bootstrap_ci,
    higher_is_better,
    protocol_columns,
)

#: Columns of ``results_frame()`` that are not metrics.
BASE_COLUMNS = (
    "model",
    "dataset",
    "dataset_hash",
    "protocol",
    "protocol_version",
    "image_id",
    "status",
    "error",
    "runtime_s",
    "mask_coverage",
    "run_id",
)


@dataclass
class MethodRow:
    """One method's line in a summary table.

    Attributes:
        model: model name as stored.
        n_ok: images scored without error.
        n_error: images whose scoring or inference failed (excluded from the means).
        metrics: column -> :class:`Interval` (mean and bootstrap CI over ok images).
        runtime_s: mean seconds per image over ok images (NaN when not recorded).
        params: parameter count from the run table (None when unknown).
        flops: FLOPs per image from the run table (None when unknown).
        train_set: training set named by the run (``extra.train_set``), or None.
        card: registered model behind the row (``folder``, ``identity``, ...; the row's
            name when the runs do not say).
    """

    model: str
    n_ok: int
    n_error: int
    metrics: dict[str, Interval]
    runtime_s: float
    params: float | None = None
    flops: float | None = None
    train_set: str | None = None
    card: str = ""

    @property
    def runtime_measured(self) -> bool:
        """False for precomputed outputs (``folder``): their "runtime" is the time to read a file."""
        return (self.card or self.model) not in READ_TIME_MODELS

    @property
    def runtime_ranked(self) -> bool:
        """Whether the row competes for the best runtime (not the identity baseline, not
        precomputed outputs)."""
        return self.runtime_measured and (self.card or self.model) not in UNRANKED_RUNTIME_MODELS


#: Models whose recorded runtime is a file read, not inference (shown as "–").
READ_TIME_MODELS = frozenset({"folder"})
#: Models never marked fastest (the blurry input itself costs nothing to "compute").
UNRANKED_RUNTIME_MODELS = frozenset({"identity"})


@dataclass
class SummaryTable:
    """All methods scored on one dataset version under one protocol version."""

    dataset: str
    dataset_hash: str
    protocol: str
    protocol_version: str
    columns: list[str]
    directions: dict[str, bool]
    rows: list[MethodRow] = field(default_factory=list)
    n_images: int = 0

    @property
    def key(self) -> str:
        """File-name friendly identifier: ``<dataset>__<protocol>`` plus a hash suffix."""
        from lode_bench.io.paths import slugify

        return slugify(
            f"{self.dataset}-{self.protocol}-v{self.protocol_version}", salt=self.dataset_hash
        )

    @property
    def split(self) -> str | None:
        """The split a run chose with ``--split`` (``<manifest hash>:<split>``), else ``None``."""
        _, sep, split = self.dataset_hash.partition(":")
        return split if sep and split else None

    @property
    def title(self) -> str:
        """Dataset, split (when one was chosen), protocol version and dataset version, so that
        two versions of one dataset never share a title."""
        split = f" · split {self.split}" if self.split else ""
        return (
            f"{self.dataset}{split} · {self.protocol} v{self.protocol_version} · "
            f"manifest {self.dataset_hash.partition(':')[0][:12]}"
        )

    def best(self, column: str) -> set[int]:
        """Row indices holding the best mean of ``column`` (ties included)."""
        if column == "runtime_s":
            found = best_indices(
                [r.runtime_s if r.runtime_ranked else math.nan for r in self.rows], higher=False
            )
            # "fastest" needs two measured methods that do not all tie
            ranked = sum(1 for r in self.rows if r.runtime_ranked)
            return set() if ranked < 2 or len(found) == ranked else found
        else:
            found = best_indices(
                [r.metrics[column].mean for r in self.rows], higher=self.directions[column]
            )
        # When every method ties there is no best to mark.
        return set() if len(self.rows) > 1 and len(found) == len(self.rows) else found

    def row(self, model: str) -> MethodRow:
        for r in self.rows:
            if r.model == model:
                return r
        raise KeyError(model)


def metric_columns(frame: pd.DataFrame, protocol: str | None = None) -> list[str]:
    """Metric columns present (with any non-NaN value) in ``frame``, protocol order first."""
    present = [
        c
        for c in frame.columns
        if c not in BASE_COLUMNS and pd.to_numeric(frame[c], errors="coerce").notna().any()
    ]
    ordered = [c for c in protocol_columns(protocol) if c in present]
    return ordered + [c for c in present if c not in ordered]


def json_field(value: Any) -> dict[str, Any]:
    """A JSON object stored as text (e.g. a run's ``extra``) as a dict; ``{}`` when not one."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value:
        try:
            obj = json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            return {}
        return obj if isinstance(obj, dict) else {}
    return {}


def _none_if_nan(value: Any) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def run_info(runs: pd.DataFrame, model: str, dataset_hash: str, protocol: str) -> dict[str, Any]:
    """Params, FLOPs and training set of the latest run of ``model`` on this dataset/protocol.

    Falls back to any run of the model (parameter counts do not depend on the dataset).
    """
    info: dict[str, Any] = {"params": None, "flops": None, "train_set": None, "card": ""}
    if runs is None or runs.empty:
        return info
    mine = runs[runs["model"] == model]
    exact = mine[(mine["dataset_hash"] == dataset_hash) & (mine["protocol"] == protocol)]
    for cand in (exact, mine):
        for _, r in cand.iloc[::-1].iterrows():
            if info["params"] is None:
                info["params"] = _none_if_nan(r.get("params"))
            if info["flops"] is None:
                info["flops"] = _none_if_nan(r.get("flops"))
            extra = json_field(r.get("extra"))
            card: dict[str, Any] = (
                extra["model_card"] if isinstance(extra.get("model_card"), dict) else {}
            )
            if not info["card"] and isinstance(card.get("name"), str):
                info["card"] = card["name"]
            if info["train_set"] is None:
                ts = extra.get("train_set") or extra.get("training_set") or card.get("training_set")
                ts = None if str(ts).lower() in ("none", "n/a", "") else ts
                info["train_set"] = str(ts) if ts else None
    return info


def summarize(
    results: pd.DataFrame,
    runs: pd.DataFrame | None = None,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    order: list[str] | None = None,
) -> list[SummaryTable]:
    """Summary tables, one per (dataset, dataset_hash, protocol, protocol_version).

    Args:
        results: ``ResultsStore.results_frame()``.
        runs: ``ResultsStore.runs_frame()`` (params, FLOPs, training sets); optional.
        confidence: bootstrap interval coverage.
        n_resamples: bootstrap resamples per mean.
        seed: bootstrap seed.
        order: preferred model order (others follow alphabetically); default puts
            ``identity`` first, then alphabetical.

    Returns:
        Tables sorted by dataset, protocol and version.
    """
    if results is None or results.empty:
        return []
    runs = runs if runs is not None else pd.DataFrame()
    tables: list[SummaryTable] = []
    keys = ["dataset", "dataset_hash", "protocol", "protocol_version"]
    for (dataset, dhash, proto, pver), group in results.groupby(keys, sort=True, dropna=False):
        cols = metric_columns(group, proto)
        table = SummaryTable(
            dataset=str(dataset),
            dataset_hash=str(dhash),
            protocol=str(proto),
            protocol_version=str(pver),
            columns=cols,
            directions={c: higher_is_better(c, proto) for c in cols},
            n_images=int(group["image_id"].nunique()),
        )
        models = sorted(group["model"].unique(), key=lambda m: _model_order_key(m, order))
        for model in models:
            g = group[group["model"] == model]
            ok = g[g["status"] == "ok"]
            metrics = {
                c: bootstrap_ci(
                    pd.to_numeric(ok[c], errors="coerce").to_numpy(float)
                    if c in ok
                    else np.array([]),
                    confidence=confidence,
                    n_resamples=n_resamples,
                    seed=seed,
                )
                for c in cols
            }
            rt = pd.to_numeric(ok["runtime_s"], errors="coerce").dropna()
            info = run_info(runs, str(model), str(dhash), str(proto))
            table.rows.append(
                MethodRow(
                    model=str(model),
                    n_ok=len(ok),
                    n_error=int((g["status"] != "ok").sum()),
                    metrics=metrics,
                    runtime_s=float(rt.mean()) if len(rt) else math.nan,
                    params=info["params"],
                    flops=info["flops"],
                    train_set=info["train_set"],
                    card=info["card"],
                )
            )
        tables.append(table)
    return tables


def _model_order_key(model: str, order: list[str] | None) -> tuple[int, str]:
    if order and model in order:
        return (order.index(model), "")
    if not order and model == "identity":
        return (-1, "")
    return (len(order or []), model.lower())


def per_image_gain(
    results: pd.DataFrame,
    *,
    dataset_hash: str,
    protocol: str,
    protocol_version: str,
    metric: str,
    baseline: str = "identity",
) -> pd.DataFrame:
    """Per-image gain of every model over ``baseline`` (model value minus baseline value).

    Returns:
        DataFrame with columns ``model, image_id, value, baseline, gain, mask_coverage``;
        only images where both values are finite; empty when the baseline is absent.
    """
    sel = results[
        (results["dataset_hash"] == dataset_hash)
        & (results["protocol"] == protocol)
        & (results["protocol_version"] == protocol_version)
        & (results["status"] == "ok")
    ]
    cols = ["model", "image_id", "value", "baseline", "gain", "mask_coverage"]
    if metric not in sel.columns:
        return pd.DataFrame(columns=cols)
    vals = sel.assign(value=pd.to_numeric(sel[metric], errors="coerce"))
    base = vals.loc[vals["model"] == baseline, ["image_id", "value"]].rename(
        columns={"value": "baseline"}
    )
    if base.empty:
        return pd.DataFrame(columns=cols)
    merged = vals.loc[
        vals["model"] != baseline, ["model", "image_id", "value", "mask_coverage"]
    ].merge(base, on="image_id", how="inner")
    merged = merged[np.isfinite(merged["value"]) & np.isfinite(merged["baseline"])]
    merged = merged.assign(
        gain=merged["value"] - merged["baseline"],
        mask_coverage=pd.to_numeric(merged["mask_coverage"], errors="coerce"),
    )
    return merged[cols].sort_values(["model", "image_id"]).reset_index(drop=True)


def _norm(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def generalisation_matrix(
    tables: list[SummaryTable], metric: str = "PSNR"
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Cross-dataset view (GLOWDeblur-style): models labelled by training set × test sets.

    Rows are models that name a training set (run ``extra.train_set``), labelled
    ``"model [train: set]"`` and ordered by training set; columns are the test datasets
    (one per dataset name; with several protocols the first table holding ``metric``
    wins). A cell is the model's mean ``metric`` on that test set.

    Returns:
        ``(values, in_domain)`` frames of equal shape, or ``None`` when fewer than two test
        sets or no training sets are known.
    """
    use: dict[str, SummaryTable] = {}
    for t in tables:
        if metric in t.columns and t.dataset not in use:
            use[t.dataset] = t
    if len(use) < 2:
        return None
    labels: dict[str, tuple[str, str]] = {}
    for t in use.values():
        for r in t.rows:
            if r.train_set and r.model not in labels:
                labels[r.model] = (r.train_set, f"{r.model} [train: {r.train_set}]")
    if not labels:
        return None
    models = sorted(labels, key=lambda m: (labels[m][0].lower(), m.lower()))
    cols = list(use)
    values = pd.DataFrame(np.nan, index=[labels[m][1] for m in models], columns=cols)
    in_domain = pd.DataFrame(False, index=values.index, columns=cols)
    for m in models:
        for d, t in use.items():
            try:
                values.loc[labels[m][1], d] = t.row(m).metrics[metric].mean
            except KeyError:
                continue
            in_domain.loc[labels[m][1], d] = _norm(labels[m][0]) in _norm(d) and bool(
                _norm(labels[m][0])
            )
    return values, in_domain
