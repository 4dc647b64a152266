"""Leaderboard submission files: format, export from a results store, structural parsing.

A submission is one JSON file (``format: lode-bench-submission``, ``format_version: 1``)::

    {"format": "lode-bench-submission", "format_version": 1,
     "leaderboard": "<leaderboard name>",
     "method": {"name": ..., "description": ..., "paper": ..., "code": ...,
                "training_set": ..., "non_blind": false, "params": null, "flops": null},
     "provenance": {"lode_bench_version": ..., "exported": "<UTC time>",
                    "runs": [{"run_id", "model_card_hash", "device", "precision", "tiling",
                              "seed", "checkpoint_sha256", "git_hash", "packages", ...}]},
     "results": [{"dataset": ..., "dataset_hash": <manifest hash>, "protocol": ...,
                  "protocol_version": ..., "aggregates": {"PSNR": 31.2, ...},
                  "runtime_s": <mean s/img or null>,
                  "rows": [{"image_id": ..., "status": "ok", "metrics": {"PSNR": ...},
                            "runtime_s": ..., "mask_coverage": ...}]}]}

Non-finite metric values are written as the strings ``"inf"``/``"-inf"`` (strict JSON has
no infinity). Claimed aggregates are the mean of the per-image values computed with
``math.fsum`` (exactly rounded, independent of row order), so an honest file reproduces
them to the last bit and a hand-edited number is caught by validation.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lode_bench.bench.store import encode_number
from lode_bench.errors import LodeBenchError
from lode_bench.io.atomic import atomic_write_json
from lode_bench.io.numbers import mean_of
from lode_bench.io.yamlfile import short_repr
from lode_bench.report.summary import BASE_COLUMNS, metric_columns

FORMAT = "lode-bench-submission"
FORMAT_VERSION = 1
#: Largest submission file read (bytes).
MAX_SUBMISSION_BYTES = 64 * 1024 * 1024


#: Run-table fields copied into a submission's provenance (``extra`` is left out: it may
#: hold local folder paths).
PROVENANCE_FIELDS = (
    "run_id",
    "created",
    "finished",
    "status",
    "model_card_hash",
    "dataset",
    "dataset_hash",
    "protocol",
    "protocol_version",
    "device",
    "precision",
    "tiling",
    "seed",
    "checkpoint_sha256",
    "git_hash",
    "packages",
    "params",
    "flops",
)


class SubmissionError(LodeBenchError):
    """A submission file is unreadable or structurally malformed (the message names the key)."""


def decode_number(v: Any, where: str) -> float:
    """Parse a JSON number or ``"inf"``/``"-inf"``/``"nan"``; booleans and other text refused."""
    if isinstance(v, bool) or v is None:
        raise SubmissionError(f"{where}: expected a number, got {short_repr(v)}")
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str) and v in ("inf", "-inf", "nan"):
        return float(v)
    raise SubmissionError(f"{where}: expected a number, got {short_repr(v)}")


@dataclass
class SubmissionRow:
    """One image of one result block."""

    image_id: str
    status: str
    metrics: dict[str, float]
    runtime_s: float | None = None
    mask_coverage: float | None = None
    error: str | None = None


@dataclass
class ResultBlock:
    """A method's results on one dataset version under one protocol version."""

    dataset: str
    dataset_hash: str
    protocol: str
    protocol_version: str
    rows: list[SubmissionRow]
    aggregates: dict[str, float]
    runtime_s: float | None = None


@dataclass
class Submission:
    """A parsed submission file."""

    path: Path | None
    leaderboard: str
    method: dict[str, Any]
    provenance: dict[str, Any]
    results: list[ResultBlock] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.method["name"])


def _req(obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(obj, Mapping):
        raise SubmissionError(f"{where}: expected an object")
    if key not in obj:
        raise SubmissionError(f"{where}: missing key {key!r}")
    val = obj[key]
    if not isinstance(val, kind) or isinstance(val, bool) and kind is not bool:
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise SubmissionError(f"{where}.{key}: expected {names}, got {type(val).__name__}")
    return val


def _opt_number(obj: Mapping[str, Any], key: str, where: str) -> float | None:
    if obj.get(key) is None:
        return None
    return decode_number(obj[key], f"{where}.{key}")


def parse_submission(doc: Any, path: Path | None = None) -> Submission:
    """Check the structure of a submission document and return it parsed.

    Raises:
        SubmissionError: naming the file and the malformed key.
    """
    src = str(path) if path else "submission"
    try:
        if not isinstance(doc, Mapping):
            raise SubmissionError("top level: expected a JSON object")
        if doc.get("format") != FORMAT:
            raise SubmissionError(
                f"format: expected {FORMAT!r}, got {short_repr(doc.get('format'))}"
            )
        if doc.get("format_version") != FORMAT_VERSION:
            raise SubmissionError(
                f"format_version: expected {FORMAT_VERSION}, "
                f"got {short_repr(doc.get('format_version'))}"
            )
        leaderboard = _req(doc, "leaderboard", str, "top level")
        method = dict(_req(doc, "method", dict, "top level"))
        name = _req(method, "name", str, "method")
        if not name.strip():
            raise SubmissionError("method.name: must not be empty")
        for key in ("description", "paper", "code", "training_set", "licence"):
            if method.get(key) is not None and not isinstance(method[key], str):
                raise SubmissionError(
                    f"method.{key}: expected text, got {type(method[key]).__name__}"
                )
        for key in ("params", "flops"):
            v = method.get(key)
            if v is not None and (
                isinstance(v, bool)
                or not isinstance(v, (int, float))
                or not math.isfinite(v)
                or v < 0
            ):
                raise SubmissionError(f"method.{key}: expected a number >= 0 or null")
        if not isinstance(method.get("non_blind", False), bool):
            raise SubmissionError("method.non_blind: expected true or false")
        provenance = dict(_req(doc, "provenance", dict, "top level"))
        blocks = []
        for b, block in enumerate(_req(doc, "results", list, "top level")):
            where = f"results[{b}]"
            if not isinstance(block, Mapping):
                raise SubmissionError(f"{where}: expected an object")
            rows = []
            for i, row in enumerate(_req(block, "rows", list, where)):
                rw = f"{where}.rows[{i}]"
                image_id = _req(row, "image_id", str, rw)
                status = _req(row, "status", str, rw)
                metrics = {
                    str(k): decode_number(v, f"{rw}.metrics.{k}")
                    for k, v in _req(row, "metrics", dict, rw).items()
                }
                rows.append(
                    SubmissionRow(
                        image_id=image_id,
                        status=status,
                        metrics=metrics,
                        runtime_s=_opt_number(row, "runtime_s", rw),
                        mask_coverage=_opt_number(row, "mask_coverage", rw),
                        error=row.get("error"),
                    )
                )
            aggregates = {
                str(k): decode_number(v, f"{where}.aggregates.{k}")
                for k, v in _req(block, "aggregates", dict, where).items()
            }
            blocks.append(
                ResultBlock(
                    dataset=_req(block, "dataset", str, where),
                    dataset_hash=_req(block, "dataset_hash", str, where),
                    protocol=_req(block, "protocol", str, where),
                    protocol_version=str(_req(block, "protocol_version", (str, int), where)),
                    rows=rows,
                    aggregates=aggregates,
                    runtime_s=_opt_number(block, "runtime_s", where),
                )
            )
    except SubmissionError as exc:
        raise SubmissionError(f"{src}: {exc}") from None
    return Submission(
        path=path, leaderboard=leaderboard, method=method, provenance=provenance, results=blocks
    )


def load_submission(path: str | Path) -> Submission:
    """Read and structurally check a submission file.

    Raises:
        SubmissionError: unreadable file, invalid JSON or a malformed key (named).
    """
    p = Path(path)
    try:
        if p.stat().st_size > MAX_SUBMISSION_BYTES:
            raise SubmissionError(f"{p}: larger than {MAX_SUBMISSION_BYTES // 2**20} MiB")
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SubmissionError(f"{p}: cannot read submission ({exc})") from exc
    try:
        doc = json.loads(text, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, ValueError) as exc:
        raise SubmissionError(f"{p}: malformed JSON ({exc})") from exc
    except RecursionError:
        raise SubmissionError(f"{p}: malformed JSON (nested too deeply)") from None
    return parse_submission(doc, p)


def _refuse_constant(name: str) -> float:
    raise ValueError(f'non-standard JSON constant {name}; write "inf"/"nan" as strings')


def _block_rows(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    rows = []
    for _, r in frame.sort_values("image_id").iterrows():
        ok = r["status"] == "ok"
        rec: dict[str, Any] = {
            "image_id": str(r["image_id"]),
            "status": str(r["status"]),
            "metrics": {
                c: encode_number(r[c]) for c in columns if c in r and not (ok and pd.isna(r[c]))
            },
            "runtime_s": encode_number(None if pd.isna(r["runtime_s"]) else r["runtime_s"]),
            "mask_coverage": encode_number(
                None if pd.isna(r["mask_coverage"]) else r["mask_coverage"]
            ),
        }
        if not ok:
            rec["error"] = None if pd.isna(r["error"]) else str(r["error"])
        rows.append(rec)
    return rows


def export_submission(
    store: Any,
    *,
    model: str,
    leaderboard: str,
    method: Mapping[str, Any] | None = None,
    datasets: list[str] | None = None,
    protocol: str | None = None,
    out: str | Path | None = None,
) -> dict[str, Any]:
    """Build a submission document for ``model`` from a :class:`ResultsStore`.

    Args:
        store: an open ``ResultsStore`` (anything with ``results_frame``/``runs_frame``).
        model: model name as stored.
        leaderboard: name of the target leaderboard.
        method: method card fields (``name`` defaults to ``model``).
        datasets: restrict to these dataset names or manifest hashes.
        protocol: restrict to this protocol name.
        out: when given, the document is also written there atomically.

    Returns:
        The submission document (a JSON-ready dict).

    Raises:
        SubmissionError: when the store holds no rows for the selection.
    """
    from lode_bench.bench.store import UnknownModelError, match_model_name

    results = store.results_frame()
    runs = store.runs_frame()
    where = str(getattr(store, "path", "store"))
    stored = sorted(set(map(str, results["model"]))) if not results.empty else []
    try:
        model = match_model_name(model, stored, where=where)
    except UnknownModelError as exc:
        raise SubmissionError(str(exc)) from None
    sel = results[results["model"] == model] if not results.empty else results
    if datasets:
        sel = sel[sel["dataset"].isin(datasets) | sel["dataset_hash"].isin(datasets)]
    if protocol:
        sel = sel[sel["protocol"] == protocol]
    if sel.empty and datasets and not results.empty:
        mine = results[results["model"] == model]
        if protocol:
            mine = mine[mine["protocol"] == protocol]
        present = sorted(
            {
                f"{d} manifest {h}"
                for d, h in zip(mine["dataset"], mine["dataset_hash"], strict=True)
            }
        )
        if present:
            raise SubmissionError(
                f"{where}: model {model!r} has no results on the pinned "
                f"dataset version (pinned manifest {', '.join(map(str, datasets))}); its results "
                f"are on {'; '.join(present)}: a different dataset version (manifest hash "
                "mismatch, pinned vs present). Run the model on the pinned dataset."
            )
    if sel.empty:
        mine = results[results["model"] == model] if not results.empty else results
        present = sorted(
            {
                f"{d} manifest {h} ({p})"
                for d, h, p in zip(
                    mine["dataset"], mine["dataset_hash"], mine["protocol"], strict=True
                )
            }
        )
        raise SubmissionError(
            f"{where}: no results for model {model!r}"
            + (f" on pinned manifest {', '.join(map(str, datasets))}" if datasets else "")
            + (f" under protocol {protocol!r}" if protocol else "")
            + (f"; its results are on {'; '.join(present)}" if present else "")
            + f"; stored models: {', '.join(stored) or 'none'}"
        )
    card: dict[str, Any] = {
        "name": model,
        "description": "",
        "paper": "",
        "code": "",
        "training_set": "",
        "non_blind": False,
        "params": None,
        "flops": None,
    }
    my_runs = runs[runs["model"] == model] if not runs.empty else runs
    for _, r in my_runs.iloc[::-1].iterrows():
        if card["params"] is None and pd.notna(r.get("params")):
            card["params"] = int(r["params"])
        if card["flops"] is None and pd.notna(r.get("flops")):
            card["flops"] = float(r["flops"])
    card.update(dict(method or {}))
    blocks = []
    keys = ["dataset", "dataset_hash", "protocol", "protocol_version"]
    for (dataset, dhash, proto, pver), g in sel.groupby(keys, sort=True):
        cols = metric_columns(g, proto)
        ok = g[g["status"] == "ok"]
        aggregates = {
            c: encode_number(mean_of([float(v) for v in ok[c] if pd.notna(v)])) for c in cols
        }
        rt = [float(v) for v in ok["runtime_s"] if pd.notna(v)]
        blocks.append(
            {
                "dataset": str(dataset),
                "dataset_hash": str(dhash),
                "protocol": str(proto),
                "protocol_version": str(pver),
                "aggregates": aggregates,
                "runtime_s": encode_number(mean_of(rt)) if rt else None,
                "rows": _block_rows(g, cols),
            }
        )
    run_ids = set(sel["run_id"].dropna())
    prov_runs = []
    for _, r in my_runs.iterrows():
        if r["run_id"] in run_ids:
            prov_runs.append(
                {
                    k: (None if _isna(r[k]) else _jsonable(r[k]))
                    for k in PROVENANCE_FIELDS
                    if k in my_runs.columns
                }
            )
    from lode_bench import __version__

    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "leaderboard": leaderboard,
        "method": card,
        "provenance": {
            "lode_bench_version": __version__,
            "exported": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "runs": prov_runs,
        },
        "results": blocks,
    }
    if out is not None:
        atomic_write_json(out, doc, indent=1)
    return doc


def _isna(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _jsonable(v: Any) -> Any:
    if isinstance(v, str):
        if v[:1] in "{[":
            try:
                return json.loads(v)
            except json.JSONDecodeError:
                return v
        return v
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float):
        return encode_number(v)
    return v


def submission_frames(sub: Submission) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A submission as ``(results_frame, runs_frame)``-shaped DataFrames (model = method name)."""
    recs = []
    for b in sub.results:
        for r in b.rows:
            rec: dict[str, Any] = {
                "model": sub.name,
                "dataset": b.dataset,
                "dataset_hash": b.dataset_hash,
                "protocol": b.protocol,
                "protocol_version": b.protocol_version,
                "image_id": r.image_id,
                "status": r.status,
                "error": r.error,
                "runtime_s": r.runtime_s,
                "mask_coverage": r.mask_coverage,
                "run_id": None,
            }
            rec.update(r.metrics)
            recs.append(rec)
    results = pd.DataFrame.from_records(recs, columns=None if recs else list(BASE_COLUMNS))
    extra = json.dumps({"train_set": sub.method.get("training_set") or None})
    runs = pd.DataFrame(
        [
            {
                "model": sub.name,
                "dataset_hash": b.dataset_hash,
                "protocol": b.protocol,
                "params": sub.method.get("params"),
                "flops": sub.method.get("flops"),
                "extra": extra,
            }
            for b in sub.results
        ]
    )
    return results, runs
