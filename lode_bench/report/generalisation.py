"""Cross-dataset generalisation: methods × datasets table, rank aggregation, domain drop.

Reads the same frames as every report (``ResultsStore.results_frame()``/``runs_frame()``)
and the per-dataset :class:`~lode_bench.report.summary.SummaryTable` objects.

* **Datasets** are labelled by name; a name stored under several manifest hashes (dataset
  versions) is split into ``name (hash8)`` labels, never mixed.
* **Metric columns** of a dataset are the union over its protocols (an FR and an NR protocol
  on the same set both contribute). A column name two protocols share is shown as
  ``column [protocol]``.
* **Direction** of every column comes from metric metadata: the protocol's
  :class:`~lode_bench.metrics.base.MetricSpec`, else a registered metric of that name
  (``NIQE`` → ``niqe``), else the name rule of
  :func:`lode_bench.report.stats.fallback_higher_is_better` (then a note says so). Legacy
  metrics (``MetricSpec.legacy``) are shown but not ranked.
* **Training sets** come from, in order: ``train_sets=`` (the CLI's ``--train-set``), the
  run table (``extra.train_set``/``training_set``/``model_card.training_set``), the
  registered model card's ``training_set``.
* **Domain drop**: for a model trained on T, its in-domain test set is the dataset whose
  normalised name contains T's key (:func:`train_key`: ``GoPro_Large train`` → ``gopro``,
  found in ``gopro-test``). Every column of another dataset is paired with the in-domain
  column of the same metric name and protocol (or, without one, the only in-domain column
  of that metric name), and ``drop = in − out`` for higher-is-better
  metrics and ``out − in`` otherwise, so **positive = worse out of domain**, in the
  metric's units; ``drop_pct`` is ``100·drop/|in|``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lode_bench.report.ranking import DatasetScores, MissingRule, RankResult, aggregate_ranks
from lode_bench.report.stats import fallback_higher_is_better
from lode_bench.report.summary import SummaryTable


@dataclass(frozen=True)
class Column:
    """One metric column of one dataset in the wide table.

    Attributes:
        dataset: dataset label.
        label: column label (metric column, ``[protocol]`` added when ambiguous).
        metric: column name as stored.
        protocol: protocol that produced it.
        protocol_version: its version.
        dataset_hash: manifest hash of the dataset version.
        higher_is_better: direction.
        direction_source: ``"protocol"``, ``"metric"`` or ``"name"`` (guessed).
        legacy: a legacy convention (shown, not ranked).
    """

    dataset: str
    label: str
    metric: str
    protocol: str
    protocol_version: str
    dataset_hash: str
    higher_is_better: bool
    direction_source: str
    legacy: bool = False


@dataclass
class GeneralisationResult:
    """Everything the generalisation section shows.

    Attributes:
        datasets: dataset labels, in table order.
        methods: every method in the table.
        columns: the wide table's columns.
        means: (method, dataset, label) -> mean over the method's ok images (NaN = absent).
        ranked_methods: methods entering the ranking (the baseline excluded).
        ranks: rank aggregation over ``ranked_methods``.
        train_sets: method -> training set (None when unknown).
        drop: long table ``model, train_set, in_domain, dataset, metric, protocol,
            in_protocol, higher_is_better, in_value, out_value, drop, drop_pct``.
        notes: what was guessed, skipped or missing.
    """

    datasets: list[str]
    methods: list[str]
    columns: list[Column]
    means: dict[tuple[str, str, str], float]
    ranked_methods: list[str]
    ranks: RankResult | None
    train_sets: dict[str, str | None]
    drop: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def columns_of(self, dataset: str) -> list[Column]:
        return [c for c in self.columns if c.dataset == dataset]

    def mean(self, method: str, col: Column) -> float:
        return self.means.get((method, col.dataset, col.label), math.nan)


def metric_direction(column: str, protocol: str | None) -> tuple[bool, str, bool]:
    """``(higher_is_better, source, legacy)`` of a stored metric column.

    ``source`` is ``"protocol"`` (the protocol's MetricSpec), ``"metric"`` (a registered
    metric with the column's name) or ``"name"`` (guessed from the name; unknown metrics
    never raise).
    """
    spec = None
    source = "name"
    try:
        from lode_bench.metrics.base import METRICS

        if protocol:
            from lode_bench.metrics.protocols import get_protocol

            try:
                proto = get_protocol(protocol)
                call = next((c for c in proto.calls if c.column == column), None)
                if call is not None:
                    spec, source = METRICS.get(call.metric), "protocol"
            except Exception:  # noqa: BLE001 - unknown protocol: try the metric name
                spec = None
        if spec is None:
            for name in dict.fromkeys((column, column.lower(), column.lower().replace("-", "_"))):
                if name in METRICS:
                    spec, source = METRICS.get(name), "metric"
                    break
    except Exception:  # noqa: BLE001 - metrics not importable: fall back to the name rule
        spec = None
    if spec is None:
        return fallback_higher_is_better(column), "name", False
    return bool(spec.higher_is_better), source, bool(spec.legacy)


def _label_datasets(tables: Sequence[SummaryTable]) -> dict[str, str]:
    """dataset_hash -> dataset label."""
    hashes: dict[str, list[str]] = {}
    for t in tables:
        hashes.setdefault(t.dataset, [])
        if t.dataset_hash not in hashes[t.dataset]:
            hashes[t.dataset].append(t.dataset_hash)
    out = {}
    for name, hs in hashes.items():
        for h in hs:
            out[h] = name if len(hs) == 1 else f"{name} ({h[:8]})"
    return out


def resolve_train_sets(
    methods: Sequence[str], tables: Sequence[SummaryTable], given: Mapping[str, str] | None = None
) -> dict[str, str | None]:
    """Training set per method: ``given`` first, then the run table, then the model card."""
    out: dict[str, str | None] = {m: None for m in methods}
    for t in tables:
        for r in t.rows:
            if r.model in out and out[r.model] is None and r.train_set:
                out[r.model] = r.train_set
    for m in methods:
        if out[m] is None:
            try:
                from lode_bench.models.card import MODELS, get_model_card

                if m in MODELS:
                    card_ts = get_model_card(m).training_set
                    out[m] = card_ts if card_ts and card_ts.lower() not in ("none", "n/a") else None
            except Exception:  # noqa: BLE001 - model registry unavailable: leave unknown
                pass
    for m, ts in (given or {}).items():
        out[m] = ts or None
    return out


_SPLIT_WORDS = frozenset(
    {"train", "training", "trainset", "set", "split", "data", "dataset", "large", "full"}
)


def norm_name(text: str) -> str:
    """Lower-case alphanumerics only (``"RealBlur-J"`` → ``"realblurj"``)."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def train_key(train_set: str) -> str:
    """Normalised training-set name: parentheticals and split words dropped.

    ``"GoPro_Large train (blur_gamma track)"`` → ``"gopro"``; ``"RealBlur-J train"`` →
    ``"realblurj"``.
    """
    text = re.sub(r"\(.*?\)", " ", train_set.lower())
    words = [w for w in re.split(r"[^a-z0-9]+", text) if w and w not in _SPLIT_WORDS]
    return "".join(words)


def in_domain_dataset(train_set: str | None, datasets: Sequence[str]) -> str | None:
    """The first dataset whose normalised label contains :func:`train_key` (or ``None``)."""
    key = train_key(train_set) if train_set else ""
    if not key or key in ("none", "na"):
        return None
    return next((d for d in datasets if key in norm_name(d)), None)


def build_generalisation(
    results: pd.DataFrame,
    tables: Sequence[SummaryTable],
    *,
    train_sets: Mapping[str, str] | None = None,
    baseline: str | None = "identity",
    missing: MissingRule = "last",
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> GeneralisationResult:
    """Assemble the generalisation section from a results frame and its summary tables.

    Args:
        results: ``ResultsStore.results_frame()``.
        tables: :func:`lode_bench.report.summary.summarize` output for ``results``.
        train_sets: method -> training set, overriding what the runs and cards say.
        baseline: method shown in the table but left out of the ranking (the blurry input).
        missing: the ranking's missing-value rule (:mod:`lode_bench.report.ranking`).
        n_resamples: bootstrap resamples over images for the rank intervals.
        confidence: interval coverage.
        seed: bootstrap seed.
    """
    notes: list[str] = []
    labels = _label_datasets(tables)
    datasets = list(dict.fromkeys(labels[t.dataset_hash] for t in tables))
    methods = list(dict.fromkeys(r.model for t in tables for r in t.rows))
    if baseline in methods:  # the baseline first, as in every table
        methods = [baseline, *[m for m in methods if m != baseline]]
    columns: list[Column] = []
    means: dict[tuple[str, str, str], float] = {}
    guessed: set[str] = set()
    for d in datasets:
        mine = [t for t in tables if labels[t.dataset_hash] == d]
        count: dict[str, int] = {}
        for t in mine:
            for c in t.columns:
                count[c] = count.get(c, 0) + 1
        for t in mine:
            for c in t.columns:
                hib, source, legacy = metric_direction(c, t.protocol)
                if source == "name":
                    guessed.add(c)
                col = Column(
                    dataset=d,
                    label=c if count[c] == 1 else f"{c} [{t.protocol}]",
                    metric=c,
                    protocol=t.protocol,
                    protocol_version=t.protocol_version,
                    dataset_hash=t.dataset_hash,
                    higher_is_better=hib,
                    direction_source=source,
                    legacy=legacy,
                )
                columns.append(col)
                for r in t.rows:
                    means[(r.model, d, col.label)] = r.metrics[c].mean
    if guessed:
        notes.append(
            "direction guessed from the column name (no metric metadata) for: "
            + ", ".join(sorted(guessed))
        )
    legacy_cols = sorted({c.label for c in columns if c.legacy})
    if legacy_cols:
        notes.append("legacy metrics shown but not ranked: " + ", ".join(legacy_cols))
    ranked = [m for m in methods if m != baseline]
    ranks = None
    if ranked and datasets:
        scores = [
            _dataset_scores(
                results, d, [c for c in columns if c.dataset == d and not c.legacy], ranked
            )
            for d in datasets
        ]
        ranks = aggregate_ranks(
            scores,
            ranked,
            missing=missing,
            n_resamples=n_resamples,
            confidence=confidence,
            seed=seed,
        )
    ts = resolve_train_sets(methods, tables, train_sets)
    drop, drop_notes = domain_drop(
        ts, datasets, columns, means, [m for m in methods if m != baseline]
    )
    return GeneralisationResult(
        datasets=datasets,
        methods=methods,
        columns=columns,
        means=means,
        ranked_methods=ranked,
        ranks=ranks,
        train_sets=ts,
        drop=drop,
        notes=notes + drop_notes,
    )


def _dataset_scores(
    results: pd.DataFrame, dataset: str, cols: Sequence[Column], methods: Sequence[str]
) -> DatasetScores:
    """Per-image (K, M, N) values of one dataset; images = union over its protocols."""
    if not cols:
        return DatasetScores(dataset, [], [], np.zeros((0, len(methods), 0)))
    hashes = {c.dataset_hash for c in cols}
    sel = results[results["dataset_hash"].isin(hashes) & (results["status"] == "ok")]
    ids = sorted(sel["image_id"].astype(str).unique())
    pos = pd.Index(ids)
    vals = np.full((len(cols), len(methods), len(ids)), np.nan)
    for k, c in enumerate(cols):
        sub = sel[
            (sel["dataset_hash"] == c.dataset_hash)
            & (sel["protocol"] == c.protocol)
            & (sel["protocol_version"] == c.protocol_version)
        ]
        if c.metric not in sub.columns:
            continue
        for j, m in enumerate(methods):
            g = sub[sub["model"] == m]
            v = pd.to_numeric(g[c.metric], errors="coerce").to_numpy(float)
            vals[k, j, pos.get_indexer(g["image_id"].astype(str))] = v
    return DatasetScores(dataset, [c.label for c in cols], [c.higher_is_better for c in cols], vals)


def domain_drop(
    train_sets: Mapping[str, str | None],
    datasets: Sequence[str],
    columns: Sequence[Column],
    means: Mapping[tuple[str, str, str], float],
    methods: Sequence[str],
) -> tuple[pd.DataFrame, list[str]]:
    """In-domain vs out-of-domain drop per method, dataset and metric (see module doc)."""
    rows = []
    notes = []
    for m in methods:
        ts = train_sets.get(m)
        if not ts:
            continue
        ind = in_domain_dataset(ts, datasets)
        if ind is None:
            notes.append(f"{m}: trained on {ts}, which is not among the test sets; no domain drop")
            continue
        in_cols = [c for c in columns if c.dataset == ind]
        for c in columns:
            if c.dataset == ind:
                continue
            same = [ic for ic in in_cols if ic.metric == c.metric]
            exact = [ic for ic in same if ic.protocol == c.protocol]
            ic = exact[0] if exact else (same[0] if len(same) == 1 else None)
            if ic is None:
                continue
            vin = means.get((m, ind, ic.label), math.nan)
            vout = means.get((m, c.dataset, c.label), math.nan)
            if not (math.isfinite(vin) and math.isfinite(vout)):
                continue
            d = (vin - vout) if c.higher_is_better else (vout - vin)
            rows.append(
                {
                    "model": m,
                    "train_set": ts,
                    "in_domain": ind,
                    "dataset": c.dataset,
                    "metric": c.metric,
                    "protocol": c.protocol,
                    "in_protocol": ic.protocol,
                    "higher_is_better": c.higher_is_better,
                    "in_value": vin,
                    "out_value": vout,
                    "drop": d,
                    "drop_pct": 100.0 * d / abs(vin) if vin != 0 else math.nan,
                }
            )
    cols = [
        "model",
        "train_set",
        "in_domain",
        "dataset",
        "metric",
        "protocol",
        "in_protocol",
        "higher_is_better",
        "in_value",
        "out_value",
        "drop",
        "drop_pct",
    ]
    return pd.DataFrame(rows, columns=cols), notes
