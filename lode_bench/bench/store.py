"""The results store: one SQLite file (WAL mode) holding every per-image result.

Schema (version 1)::

    runs(run_id TEXT PRIMARY KEY, created TEXT, finished TEXT, status TEXT,
         model TEXT, model_card_hash TEXT, dataset TEXT, dataset_hash TEXT,
         protocol TEXT, protocol_version TEXT, device TEXT, precision TEXT,
         tiling TEXT, seed INTEGER, checkpoint_sha256 TEXT, git_hash TEXT,
         packages TEXT /* JSON */, params INTEGER, flops REAL, extra TEXT /* JSON */)

    results(model TEXT, dataset TEXT, dataset_hash TEXT, protocol TEXT,
            protocol_version TEXT, image_id TEXT, status TEXT /* 'ok' | 'error' */,
            error TEXT, metrics TEXT /* JSON {column: value} */, runtime_s REAL,
            mask_coverage REAL, run_id TEXT, created TEXT,
            PRIMARY KEY (model, dataset_hash, protocol, protocol_version, image_id))

A work unit (model, dataset manifest hash, image id, protocol version) maps to exactly one
``results`` row, so writing is idempotent (``INSERT OR REPLACE``) and a resumed run skips
the keys already present with status ``ok``. Only one process writes the store at a time
(the driver); SQLite's WAL mode lets readers (reports) read concurrently.

Infinite values (PSNR of identical images) are stored as the JSON string ``"inf"`` and
come back as ``float('inf')``.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lode_bench.errors import LodeBenchError

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS runs(
    run_id TEXT PRIMARY KEY, created TEXT, finished TEXT, status TEXT,
    model TEXT, model_card_hash TEXT, dataset TEXT, dataset_hash TEXT,
    protocol TEXT, protocol_version TEXT, device TEXT, precision TEXT,
    tiling TEXT, seed INTEGER, checkpoint_sha256 TEXT, git_hash TEXT,
    packages TEXT, params INTEGER, flops REAL, extra TEXT);
CREATE TABLE IF NOT EXISTS results(
    model TEXT NOT NULL, dataset TEXT NOT NULL, dataset_hash TEXT NOT NULL,
    protocol TEXT NOT NULL, protocol_version TEXT NOT NULL, image_id TEXT NOT NULL,
    status TEXT NOT NULL, error TEXT, metrics TEXT NOT NULL, runtime_s REAL,
    mask_coverage REAL, run_id TEXT, created TEXT,
    PRIMARY KEY (model, dataset_hash, protocol, protocol_version, image_id));
CREATE INDEX IF NOT EXISTS results_by_run ON results(run_id);
"""

RUN_COLUMNS = (
    "run_id",
    "created",
    "finished",
    "status",
    "model",
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
    "extra",
)


class StoreError(LodeBenchError):
    """The results store is unreadable or of an unknown schema."""


class UnknownModelError(StoreError):
    """A model name that the store does not hold (or that matches several stored names)."""


def _short_forms(stored: str) -> set[str]:
    """Names a user may type for ``stored``: ``folder@mymethod`` answers to ``mymethod``,
    ``nafnet@1a2b3c4d5e[width=32]`` to ``nafnet``."""
    base, _, tail = stored.partition("@")
    tail = tail.split("[", 1)[0]
    return {x.casefold() for x in (stored, base.split("[", 1)[0], tail) if x}


def match_model_name(wanted: str, stored: Iterable[str], *, where: str = "store") -> str:
    """The stored model name ``wanted`` means: itself, else the one stored name it is a
    short form of (see :func:`_short_forms`; case is ignored).

    Raises:
        UnknownModelError: no stored name matches, or several do; the message lists the
            stored names.
    """
    names = sorted(set(map(str, stored)))
    if wanted in names:
        return wanted
    hits = [n for n in names if wanted.strip().casefold() in _short_forms(n)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise UnknownModelError(
            f"{where}: model name {wanted!r} is ambiguous: it matches "
            f"{', '.join(hits)}; give the full name"
        )
    held = ", ".join(names) if names else "none"
    raise UnknownModelError(f"{where}: no results for model {wanted!r}; stored models: {held}")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def encode_number(v: float | None) -> float | str | None:
    """JSON-safe number: ``inf``/``-inf``/``nan`` as strings, ``None`` kept."""
    if v is None:
        return None
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def _decode_value(v: Any) -> float:
    if v is None:
        return math.nan
    return float(v)  # float("inf"), float("nan") parse the string forms


def encode_metrics(metrics: Mapping[str, float]) -> str:
    return json.dumps({k: encode_number(v) for k, v in metrics.items()}, sort_keys=True)


def decode_metrics(text: str | None) -> dict[str, float]:
    """Inverse of :func:`encode_metrics`.

    Raises:
        ValueError: malformed JSON or a value that is not a number.
    """
    if not text:
        return {}
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError("metrics are not a JSON object")
    return {str(k): _decode_value(v) for k, v in doc.items()}


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _writable(path: Path) -> bool:
    import os

    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection; ``immutable`` when the folder does not allow SQLite's WAL files."""
    if not path.is_file():
        raise sqlite3.OperationalError("file not found")
    uri = path.resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30.0, isolation_level=None)
    try:
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        return conn
    except sqlite3.OperationalError:
        conn.close()
    return sqlite3.connect(f"{uri}?immutable=1", uri=True, timeout=30.0, isolation_level=None)


@dataclass(frozen=True)
class ResultKey:
    """Identity of one work unit's row."""

    model: str
    dataset_hash: str
    protocol: str
    protocol_version: str
    image_id: str


@dataclass
class ResultRow:
    """One per-image result."""

    model: str
    dataset: str
    dataset_hash: str
    protocol: str
    protocol_version: str
    image_id: str
    status: str = "ok"
    error: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    runtime_s: float | None = None
    mask_coverage: float | None = None
    run_id: str | None = None
    detail: str | None = field(
        default=None, compare=False, repr=False
    )  # full error text (log only)

    @property
    def key(self) -> ResultKey:
        return ResultKey(
            self.model, self.dataset_hash, self.protocol, self.protocol_version, self.image_id
        )


class ResultsStore:
    """SQLite results store (WAL). Safe to open from several readers; write from one process.

    Args:
        path: the ``.sqlite`` file (created with its folder if missing).
    """

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        try:
            if not readonly:
                self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            blocker = next((a for a in self.path.parents if a.exists() and not a.is_dir()), None)
            why = f"{blocker} is a file, not a folder" if blocker else (exc.strerror or str(exc))
            raise StoreError(f"{self.path}: cannot create the store's folder ({why})") from None
        if self.path.exists() and not self.path.is_file():
            raise StoreError(f"{self.path}: not a file (a results store is one SQLite file)")
        try:
            if readonly or (self.path.is_file() and not _writable(self.path)):
                self.readonly = True
                self._conn = _connect_readonly(self.path)
            else:
                self._conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
                try:
                    self._conn.execute("PRAGMA journal_mode=WAL")
                except sqlite3.OperationalError as exc:
                    if "readonly" not in str(exc) and "read-only" not in str(exc):
                        raise
                    self._conn.close()
                    self.readonly = True
                    self._conn = _connect_readonly(self.path)
            if not self.readonly:
                self._conn.execute("PRAGMA synchronous=NORMAL")
                self._conn.executescript(_SCHEMA)
            row = self._conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        except sqlite3.Error as exc:
            text = _first_line(exc)
            if "not a database" in text or "malformed" in text:
                raise StoreError(
                    f"{self.path}: not a lode-bench results store, or a damaged one ({text})"
                ) from exc
            hint = "; is the disk full?" if "disk" in text or "full" in text else ""
            raise StoreError(f"{self.path}: cannot open the results store ({text}{hint})") from exc
        if row is None:
            if self.readonly:
                raise StoreError(f"{self.path}: not a lode-bench results store (no schema version)")
            self._write("INSERT INTO meta VALUES('schema_version', ?)", (str(SCHEMA_VERSION),))
            return
        try:
            version = int(str(row[0]).strip())
        except ValueError:
            version = None
        if version != SCHEMA_VERSION:
            self._conn.close()
            raise StoreError(
                f"{self.path}: store schema {str(row[0])[:40]!r} is not supported "
                f"(expected {SCHEMA_VERSION})"
            )

    def _write(self, sql: str, params: Any = ()) -> None:
        with self.transaction() as c:
            c.execute(sql, params)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ResultsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; any SQLite failure (disk full, corruption, read-only file)
        rolls it back (committed rows stay intact) and becomes a :class:`StoreError`."""
        if self.readonly:
            raise StoreError(
                f"{self.path}: the store is read-only here; results cannot be written "
                "(give a writable --store)"
            )
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._error(exc, "cannot write") from exc
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException as exc:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc, "cannot write") from exc
            raise

    def _error(self, exc: BaseException, what: str) -> StoreError:
        return StoreError(
            f"{self.path}: {what} ({_first_line(exc)}); rows committed earlier are kept"
        )

    def _query(self, sql: str, params: Any = ()) -> list[Any]:
        """``SELECT`` rows; SQLite failures (e.g. a corrupt page) become a :class:`StoreError`."""
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot read the store ({_first_line(exc)})") from exc

    # -- runs ---------------------------------------------------------------------
    def start_run(self, run_id: str, **fields: Any) -> None:
        """Insert (or replace) a run row; JSON-encodes ``packages`` and ``extra``."""
        unknown = set(fields) - set(RUN_COLUMNS)
        if unknown:
            raise StoreError(f"unknown run fields: {sorted(unknown)}")
        row: dict[str, Any] = {c: None for c in RUN_COLUMNS}
        row.update(fields)
        row["run_id"] = run_id
        row["created"] = row["created"] or _now()
        row["status"] = row["status"] or "running"
        for k in ("packages", "extra"):
            if row[k] is not None and not isinstance(row[k], str):
                row[k] = json.dumps(row[k], sort_keys=True)
        cols = ",".join(RUN_COLUMNS)
        marks = ",".join("?" for _ in RUN_COLUMNS)
        with self.transaction() as c:
            c.execute(
                f"INSERT OR REPLACE INTO runs({cols}) VALUES({marks})",
                [row[k] for k in RUN_COLUMNS],
            )

    def finish_run(self, run_id: str, status: str = "finished", **fields: Any) -> None:
        """Mark a run finished (or failed); an ``extra`` dict is merged into the stored one."""
        if isinstance(fields.get("extra"), Mapping):
            found = self._query("SELECT extra FROM runs WHERE run_id=?", (run_id,))
            try:
                merged = json.loads(found[0][0]) if found and found[0][0] else {}
            except ValueError:
                merged = {}
            merged.update(fields["extra"])
            fields["extra"] = merged
        sets = {"finished": _now(), "status": status, **fields}
        for k in ("packages", "extra"):
            if k in sets and not isinstance(sets[k], str):
                sets[k] = json.dumps(sets[k], sort_keys=True)
        assign = ",".join(f"{k}=?" for k in sets)
        with self.transaction() as c:
            c.execute(f"UPDATE runs SET {assign} WHERE run_id=?", [*sets.values(), run_id])

    # -- results ------------------------------------------------------------------
    def put(self, rows: ResultRow | Iterable[ResultRow]) -> int:
        """Insert or replace rows in one transaction; returns how many were written."""
        if isinstance(rows, ResultRow):
            rows = [rows]
        data = [
            (
                r.model,
                r.dataset,
                r.dataset_hash,
                r.protocol,
                r.protocol_version,
                r.image_id,
                r.status,
                r.error,
                encode_metrics(r.metrics),
                r.runtime_s,
                r.mask_coverage,
                r.run_id,
                _now(),
            )
            for r in rows
        ]
        if not data:
            return 0
        with self.transaction() as c:
            c.executemany("INSERT OR REPLACE INTO results VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)", data)
        return len(data)

    def done_keys(
        self,
        *,
        model: str,
        dataset_hash: str,
        protocol: str,
        protocol_version: str,
        include_errors: bool = False,
    ) -> set[str]:
        """Image ids already stored for this (model, dataset, protocol) (status ok unless asked)."""
        q = (
            "SELECT image_id FROM results WHERE model=? AND dataset_hash=? AND protocol=? "
            "AND protocol_version=?"
        )
        if not include_errors:
            q += " AND status='ok'"
        return {r[0] for r in self._query(q, (model, dataset_hash, protocol, protocol_version))}

    def rows(self, **where: Any) -> list[ResultRow]:
        """Result rows, optionally filtered by equality on columns."""
        q = (
            "SELECT model,dataset,dataset_hash,protocol,protocol_version,image_id,status,error,"
            "metrics,runtime_s,mask_coverage,run_id FROM results"
        )
        if where:
            q += " WHERE " + " AND ".join(f"{k}=?" for k in where)
        q += " ORDER BY model, dataset, protocol, image_id"
        out = []
        for r in self._query(q, list(where.values())):
            try:
                metrics = decode_metrics(r[8])
            except (ValueError, TypeError, AttributeError, RecursionError) as exc:
                raise StoreError(
                    f"{self.path}: malformed metrics JSON in the row of model {r[0]!r}, "
                    f"image {r[5]!r} ({type(exc).__name__})"
                ) from exc
            out.append(
                ResultRow(
                    model=r[0],
                    dataset=r[1],
                    dataset_hash=r[2],
                    protocol=r[3],
                    protocol_version=r[4],
                    image_id=r[5],
                    status=r[6],
                    error=r[7],
                    metrics=metrics,
                    runtime_s=r[9],
                    mask_coverage=r[10],
                    run_id=r[11],
                )
            )
        return out

    def results_frame(self) -> pd.DataFrame:
        """All results as a DataFrame: key columns, status, error, runtime_s,
        mask_coverage, run_id, plus one float column per metric."""
        rows = self.rows()
        base = [
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
        ]
        recs = []
        for r in rows:
            rec = {k: getattr(r, k) for k in base}
            rec.update(r.metrics)
            recs.append(rec)
        return pd.DataFrame.from_records(recs, columns=None if recs else base)

    def model_names(self) -> list[str]:
        """Every model name that has result rows, sorted."""
        return sorted(r[0] for r in self._query("SELECT DISTINCT model FROM results"))

    def resolve_model(self, wanted: str) -> str:
        """The stored name ``wanted`` stands for (see :func:`match_model_name`)."""
        return match_model_name(wanted, self.model_names(), where=str(self.path))

    def runs_frame(self) -> pd.DataFrame:
        rows = self._query(f"SELECT {','.join(RUN_COLUMNS)} FROM runs ORDER BY created")
        return pd.DataFrame.from_records(rows, columns=list(RUN_COLUMNS))
