"""Ctrl-C stops ``lode-bench run`` within a couple of seconds, says so, and the store resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from lode_bench.bench.store import ResultsStore

# The real command line, with one slow test model registered first (a torch module whose
# forward sleeps in small steps, as a CPU forward pass computes layer after layer).
SCRIPT = textwrap.dedent("""
    import os, sys, time
    import torch
    from lode_bench.models import ModelCard, register_model

    class Slow(torch.nn.Module):
        def forward(self, x):
            for _ in range(int(os.environ.get("SLOW_STEPS", "0"))):
                time.sleep(0.05)
            return x.flip(-2)

    register_model(ModelCard(name="slow-torch", kind="torch", factory=Slow, description="test",
                             needs_checkpoint=False))
    from lode_bench.cli import main
    main()
""")


@pytest.mark.timeout(180)
def test_ctrl_c_stops_quickly_and_the_run_resumes(tmp_path, dataset_factory):
    ds = dataset_factory(tmp_path / "ds", n=5)  # 6 samples
    script = tmp_path / "cli_slow.py"
    script.write_text(SCRIPT)
    store = tmp_path / "r.sqlite"
    argv = [
        sys.executable,
        str(script),
        "run",
        "-m",
        "slow-torch",
        "-d",
        str(ds),
        "-p",
        "deepdeblur",
        "--store",
        str(store),
        "--device",
        "cpu",
        "--executor",
        "thread",
        "-j",
        "1",
        "--no-flops",
    ]
    env = {**os.environ, "SLOW_STEPS": "100"}  # 5 s per forward pass
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        seen = ""
        deadline = time.time() + 120
        while "warm-up" not in seen:  # stage lines arrive before any image finishes
            assert proc.poll() is None, proc.stderr.read()
            assert time.time() < deadline, seen
            seen += proc.stderr.readline()
        time.sleep(0.5)
        t0 = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        elapsed = time.perf_counter() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert elapsed < 3.0, elapsed
    assert proc.returncode == 130, err
    assert "interrupted" in err and str(store) in err and "Traceback" not in err, err
    with ResultsStore(store) as st:
        assert st.rows() == []
        assert list(st.runs_frame().status) == ["interrupted"]
    done = subprocess.run(
        argv + ["-q"],
        env={**os.environ, "SLOW_STEPS": "0"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with ResultsStore(store) as st:
        rows = st.rows()
        assert len(rows) == 6 and all(r.status == "ok" for r in rows)
        assert list(st.runs_frame().status) == ["interrupted", "finished"]
