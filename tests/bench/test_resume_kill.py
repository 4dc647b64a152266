"""A run killed with SIGKILL mid-way resumes to exactly the rows of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from lode_bench.bench.store import ResultsStore

SCRIPT = textwrap.dedent("""
    import json, sys, time
    from lode_bench.parallel.executor import LocalExecutor
    from lode_bench.bench.runner import run_benchmark
    from lode_bench.models import ModelCard, register_model
    from lode_bench.models.base import FunctionDeblurrer

    def slow_flip(blurry, sample, delay=float(sys.argv[3])):
        time.sleep(delay)
        return blurry[::-1].copy()  # vertical flip: a deterministic, non-trivial output

    register_model(ModelCard(name="slow-flip", kind="numpy", description="test", needs_checkpoint=False,
                             factory=lambda card, ckpt, **o: FunctionDeblurrer(card, slow_flip)))
    if __name__ == "__main__":
        with LocalExecutor(1, "thread") as ex:
            s = run_benchmark("slow-flip", sys.argv[1], "deepdeblur", sys.argv[2], progress=False, executor=ex)
        print(json.dumps({"ok": s.n_ok, "error": s.n_error, "skipped": s.n_skipped}))
""")


def _count(store) -> int:
    if not store.exists():
        return 0
    con = sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)
    try:
        return con.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def _run(script, ds, store, delay):
    out = subprocess.run(
        [sys.executable, str(script), str(ds), str(store), str(delay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.timeout(180)
def test_killed_run_resumes_to_identical_results(tmp_path, dataset_factory):
    ds = dataset_factory(tmp_path / "ds", n=11)  # 12 samples
    script = tmp_path / "run_slow.py"
    script.write_text(SCRIPT)
    killed = tmp_path / "killed.sqlite"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(ds), str(killed), "0.3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 90
        while _count(killed) < 3:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.time() < deadline, "the run wrote no rows"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    n_before = _count(killed)
    assert proc.returncode == -signal.SIGKILL
    assert 3 <= n_before < 12, "the kill must land mid-way"
    resumed = _run(script, ds, killed, 0.0)
    assert resumed["skipped"] == n_before and resumed["ok"] + resumed["error"] == 12 - n_before
    full = tmp_path / "full.sqlite"
    _run(script, ds, full, 0.0)
    with ResultsStore(killed) as a, ResultsStore(full) as b:
        ra = {r.image_id: (r.status, r.error, r.metrics, r.dataset_hash) for r in a.rows()}
        rb = {r.image_id: (r.status, r.error, r.metrics, r.dataset_hash) for r in b.rows()}
        runs = a.runs_frame()
    assert len(ra) == 12 and ra == rb
    assert list(runs.status) == ["running", "finished"]  # the killed run stays visibly unfinished
