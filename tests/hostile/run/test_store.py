"""The results store and the tool's own I/O under hostile conditions: corrupt pages,
wrong schema values, malformed rows, a file as parent, a read-only store, a full disk;
plus leftovers of killed writes."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from lode_bench.io.atomic import sha256_file
from tests.hostile.run.hostile_helpers import assert_one_line_error, fill_disk, remount, store_rows

pytestmark = pytest.mark.timeout(300)


def _run(cli, dataset, store, *extra, model="identity"):
    return cli(
        "run",
        "-m",
        model,
        "-d",
        dataset,
        "-p",
        "gopro",
        "--store",
        store,
        "-q",
        "--executor",
        "serial",
        *extra,
    )


def _snapshot(store: Path) -> list[tuple]:
    return [(r.model, r.image_id, r.status, sorted(r.metrics.items())) for r in store_rows(store)]


def test_corrupt_late_pages(cli, dataset, tmp_path):
    from lode_bench.bench.store import ResultRow, ResultsStore, StoreError

    store = tmp_path / "r.sqlite"
    with ResultsStore(store) as st:
        st.put(
            [
                ResultRow(
                    f"m{i}", "d", "h", "gopro", "1", f"img{j:04d}", metrics={"PSNR": 30.0 + j}
                )
                for i in range(3)
                for j in range(400)
            ]
        )
    con = sqlite3.connect(store)  # fold the WAL into the main file
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    size = store.stat().st_size
    assert size > 16 * 4096
    with open(store, "r+b") as fh:
        fh.seek(size // 2)
        fh.write(os.urandom(size - size // 2))
    code, out = _run(cli, dataset, store)
    assert_one_line_error(code, out, str(store))
    with pytest.raises(StoreError, match=str(store)):
        with ResultsStore(store) as st:
            st.rows()


def test_non_integer_schema_version(cli, dataset, tmp_path):
    store = tmp_path / "r.sqlite"
    assert _run(cli, dataset, store)[0] == 0
    con = sqlite3.connect(store)
    con.execute("UPDATE meta SET value='one' WHERE key='schema_version'")
    con.commit()
    con.close()
    code, out = _run(cli, dataset, store)
    assert_one_line_error(code, out, str(store), "schema 'one' is not supported")


def test_malformed_metrics_json(cli, dataset, tmp_path):
    store = tmp_path / "r.sqlite"
    assert _run(cli, dataset, store)[0] == 0
    con = sqlite3.connect(store)
    con.execute("UPDATE results SET metrics='{\"PSNR\": ' WHERE image_id='s001'")
    con.commit()
    con.close()
    code, out = _run(cli, dataset, store)
    assert_one_line_error(code, out, str(store), "malformed metrics JSON", "s001")


def test_store_parent_is_a_file(cli, dataset, tmp_path):
    parent = tmp_path / "file.txt"
    parent.write_text("x")
    code, out = _run(cli, dataset, parent / "sub" / "r.sqlite")
    assert_one_line_error(code, out, f"{parent} is a file")
    assert parent.read_text() == "x"


def test_read_only_store_reads_and_refuses_writes(cli, dataset, small_fs):
    from lode_bench.bench.store import ResultsStore

    store = small_fs / "r.sqlite"
    assert _run(cli, dataset, store)[0] == 0
    before = _snapshot(store)
    remount(small_fs, "ro")
    try:
        with ResultsStore(store) as st:  # reading works on a read-only file system
            assert st.readonly and len(st.rows()) == 4
        code, out = _run(cli, dataset, store, model="unsharp")
        assert_one_line_error(code, out, str(store), "read-only")
        assert _snapshot(store) == before
    finally:
        remount(small_fs, "rw")


def test_disk_full_at_open_is_one_line(cli, dataset, small_fs):
    store = small_fs / "r.sqlite"
    assert _run(cli, dataset, store)[0] == 0
    before = _snapshot(store)
    filler = fill_disk(small_fs)
    try:
        code, out = _run(cli, dataset, store, model="unsharp")
        msg = assert_one_line_error(code, out, str(store), "disk")
        assert "not a lode-bench results store" not in msg
    finally:
        filler.unlink()
    assert [r for r in _snapshot(store) if r[0] == "identity"] == before
    code, out = _run(cli, dataset, store, model="unsharp")  # space again: it resumes
    assert code == 0, out
    assert len(store_rows(store)) == 8


def test_disk_full_on_commit_keeps_committed_rows(dataset, small_fs):
    from lode_bench.bench.store import ResultRow, ResultsStore, StoreError

    store = small_fs / "r.sqlite"
    committed = [
        ResultRow("m", "d", "h", "gopro", "1", f"a{j:03d}", metrics={"PSNR": 20.0 + j})
        for j in range(50)
    ]
    big = [
        ResultRow(
            "m", "d", "h", "gopro", "1", f"b{j:05d}", metrics={f"c{k}": float(k) for k in range(40)}
        )
        for j in range(20000)
    ]
    with ResultsStore(store) as st:
        st.put(committed)
        filler = fill_disk(small_fs)
        try:
            with pytest.raises(StoreError, match=f"{store}.*rows committed earlier are kept"):
                st.put(big)
        finally:
            filler.unlink()
        rows = st.rows()
    assert [(r.image_id, r.metrics) for r in rows] == [(r.image_id, r.metrics) for r in committed]


def _check_saved_output_failure(cli, dataset, tmp_path, out_dir, free) -> None:
    store = tmp_path / "r.sqlite"
    code, out = _run(cli, dataset, store, "--save-outputs", out_dir)
    msg = assert_one_line_error(code, out, "cannot save the output")
    assert str(out_dir) in msg and ".png" in msg
    assert all(r.status == "ok" for r in store_rows(store))  # no error rows for a tool failure
    free()
    code, out = _run(cli, dataset, store, "--save-outputs", out_dir)
    assert code == 0, out
    rows = store_rows(store)
    assert len(rows) == 4 and all(r.status == "ok" for r in rows)
    assert len(list(out_dir.rglob("*.png"))) == 4


def test_disk_full_while_saving_outputs(cli, dataset, tmp_path, small_fs):
    out_dir = small_fs / "outputs"
    filler = fill_disk(small_fs)
    _check_saved_output_failure(cli, dataset, tmp_path, out_dir, filler.unlink)


def test_saved_output_write_error_without_a_small_disk(cli, dataset, tmp_path, monkeypatch):
    import lode_bench.bench.units as units

    real = units.write_image
    state = {"full": True}

    def write(path, img, **kw):
        if state["full"]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, img, **kw)

    monkeypatch.setattr(units, "write_image", write)
    _check_saved_output_failure(
        cli, dataset, tmp_path, tmp_path / "outputs", lambda: state.update(full=False)
    )


def test_stale_temp_files_removed_on_resume(cli, dataset, tmp_path):
    out_dir = tmp_path / "outputs"
    store = tmp_path / "r.sqlite"
    assert _run(cli, dataset, store, "--save-outputs", out_dir, "--limit", "2")[0] == 0
    pngs = sorted(out_dir.rglob("*.png"))
    stale = pngs[0].parent / ".s002.png.k2j4_x9a.tmp"
    stale.write_bytes(b"half a png")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    fresh_other = pngs[0].parent / "notes.tmp"  # not an atomic-write leftover: kept
    fresh_other.write_text("mine")
    kept = {p: sha256_file(p) for p in pngs}
    assert _run(cli, dataset, store, "--save-outputs", out_dir)[0] == 0
    assert not stale.exists() and fresh_other.exists()
    assert {p: sha256_file(p) for p in pngs} == kept
    assert len(list(out_dir.rglob("*.png"))) == 4


def test_stale_temp_files_removed_on_synth_resume(cli, tmp_path):
    out = tmp_path / "syn"
    args = (
        "synth",
        "builtin",
        "--out",
        out,
        "--kind",
        "global",
        "--limit",
        "1",
        "--size",
        "32x48",
        "--quiet",
    )
    assert cli(*args)[0] == 0
    stale = out / "test" / "blur" / ".global_0001.png.abcd1234.tmp"
    stale.write_bytes(b"x")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    assert cli(*args)[0] == 0
    assert not stale.exists()


def test_copy_of_store_is_not_needed_for_reading(tmp_path, dataset, cli):
    """A store opened for reading does not create files when it cannot (immutable fallback)."""
    from lode_bench.bench.store import ResultsStore

    store = tmp_path / "r.sqlite"
    assert _run(cli, dataset, store)[0] == 0
    copy = tmp_path / "copy.sqlite"
    shutil.copy(store, copy)
    with ResultsStore(copy, readonly=True) as st:
        assert len(st.rows()) == 4
