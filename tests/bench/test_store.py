"""Results store: idempotent rows, infinities, resume keys, schema checks."""

from __future__ import annotations

import math
import sqlite3

import pytest

from lode_bench.bench.store import ResultRow, ResultsStore, StoreError


def _row(i, **kw):
    base = dict(
        model="identity",
        dataset="ds",
        dataset_hash="h1",
        protocol="gopro",
        protocol_version="1",
        image_id=f"img{i}",
        metrics={"PSNR": 20.0 + i, "SSIM": 0.5},
    )
    base.update(kw)
    return ResultRow(**base)


def test_put_is_idempotent_and_round_trips(tmp_path):
    with ResultsStore(tmp_path / "s.sqlite") as st:
        st.put([_row(1), _row(2)])
        st.put(_row(1, metrics={"PSNR": math.inf, "SSIM": 1.0}))
        rows = st.rows()
        assert [r.image_id for r in rows] == ["img1", "img2"]
        assert rows[0].metrics["PSNR"] == math.inf
        df = st.results_frame()
        assert list(df["PSNR"]) == [math.inf, 22.0]


def test_done_keys_exclude_errors_by_default(tmp_path):
    with ResultsStore(tmp_path / "s.sqlite") as st:
        st.put([_row(1), _row(2, status="error", error="NaN output", metrics={})])
        key = dict(model="identity", dataset_hash="h1", protocol="gopro", protocol_version="1")
        assert st.done_keys(**key) == {"img1"}
        assert st.done_keys(**key, include_errors=True) == {"img1", "img2"}
        assert st.done_keys(**{**key, "protocol_version": "2"}) == set()


def test_wal_mode_and_runs(tmp_path):
    path = tmp_path / "s.sqlite"
    with ResultsStore(path) as st:
        st.start_run("r1", model="identity", packages={"numpy": "2"}, seed=0)
        st.finish_run("r1")
        runs = st.runs_frame()
        assert runs.loc[0, "status"] == "finished" and runs.loc[0, "packages"] == '{"numpy": "2"}'
        with pytest.raises(StoreError, match="unknown run fields"):
            st.start_run("r2", bogus=1)
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_not_a_store(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(StoreError, match="not a lode-bench results store"):
        ResultsStore(bad)
