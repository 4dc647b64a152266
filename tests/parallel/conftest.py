"""A real local Ray cluster for the Ray executor tests, started and stopped by process id.

Two nodes on 127.0.0.1, one CPU each: a head node (``ray start --head --block``) and a
worker node (``ray start --block --address=...``), sharing a private ``--temp-dir`` (so no
stale session can capture the connection), with token authentication and a fresh token
passed through the environment (never written to the home folder). Teardown kills exactly
the processes descended from the two ``ray start`` processes (never ``ray stop``, which
would kill every Ray process of the user).

Keeping Ray on the loopback address takes two settings: ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``
for the head (Ray then uses 127.0.0.1 as the node address), and, for the joining node, which
Ray would refuse under that setting, a ``ray start`` whose rewrite of a loopback
``--address`` to the machine's network address is switched off (Ray 2.x's
``resolve_ip_for_localhost``; the joining node then takes 127.0.0.1 as its own address).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Ray reads its authentication settings when it is imported: set them first. The token is
# fresh for this test session and reaches the cluster's processes through their environment.
CLUSTER_ENV = {
    "RAY_AUTH_MODE": "token",
    "RAY_AUTH_TOKEN": secrets.token_hex(16),
    "RAY_USAGE_STATS_ENABLED": "0",
}
os.environ.update(CLUSTER_ENV)

SKIP_REASON = (
    "the 'ray' extra is not installed (pip install 'lode-bench[ray]'): Ray cluster tests skipped"
)

LINUX = sys.platform.startswith("linux")  # the process-tree teardown reads /proc

START_TIMEOUT_S = 90.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def descendants(pid: int) -> list[int]:
    """Process ids below ``pid`` (children, grandchildren, ...), read from /proc."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", encoding="utf-8", errors="replace") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, stack = [], [pid]
    while stack:
        for c in children.get(stack.pop(), []):
            out.append(c)
            stack.append(c)
    return out


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


@dataclass
class LocalCluster:
    """A running head node: its address, the environment clients need, its process."""

    address: str
    env: dict[str, str]
    procs: list[subprocess.Popen[bytes]]
    temp_dir: Path
    killed: list[int] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    def worker_pids(self) -> set[int]:
        """Every process of this cluster (below the two ``ray start`` processes)."""
        return {p for proc in self.procs for p in descendants(proc.pid)}

    def kill_when_signalled(
        self, marker: Path, *, title: str, timeout: float = 120.0
    ) -> threading.Thread:
        """Start a thread that SIGKILLs the worker that announces itself at ``marker``.

        A worker announces itself from inside a call (see ``announce_and_wait`` in
        test_ray_cluster.py): it publishes its pid at ``marker`` and then blocks, so the
        kill always lands while that call runs, whatever the load of the machine. The
        thread only kills a process of this cluster whose title starts with ``title``
        (e.g. ``ray::_StatefulWorker``); the pid it killed, or the refusal, is recorded
        in ``killed`` / ``refused``.
        """

        def watch() -> None:
            end = time.monotonic() + timeout
            while not marker.exists():
                if time.monotonic() > end:
                    return
                time.sleep(0.01)
            pid = int(marker.read_text())
            if pid not in self.worker_pids() or not cmdline(pid).startswith(title):
                self.refused.append(f"pid {pid}: {cmdline(pid)!r}")
                return
            os.kill(pid, signal.SIGKILL)
            self.killed.append(pid)

        t = threading.Thread(target=watch, daemon=True)
        t.start()
        return t


def _stop(proc: subprocess.Popen[bytes]) -> None:
    pids = descendants(proc.pid)
    for pid in [*pids, proc.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pass


_JOIN = (
    "import sys; import ray._private.services as s; s.resolve_ip_for_localhost = lambda h: h; "
    "from ray.scripts.scripts import main; sys.argv = ['ray', *sys.argv[1:]]; main()"
)


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[LocalCluster]:
    """Head and worker node, 1 CPU each, on 127.0.0.1; the test process is set up to connect."""
    ray = pytest.importorskip("ray", reason=SKIP_REASON)
    if not LINUX:  # pragma: no cover
        pytest.skip("the Ray cluster tests need Linux (/proc)")
    from ray._private import ray_constants

    temp_dir = Path(
        tempfile.mkdtemp(prefix="lbray-")
    )  # short: Ray's socket paths must fit 107 bytes
    port = _free_port()
    address = f"127.0.0.1:{port}"
    env = {**os.environ, **CLUSTER_ENV}
    common = [
        "--block",
        "--num-cpus=1",
        "--num-gpus=0",
        f"--temp-dir={temp_dir}",
        "--disable-usage-stats",
        f"--dashboard-agent-listen-port={_free_port()}",
        "--object-store-memory=150000000",
    ]
    logs = [open(temp_dir / f"{n}.log", "wb") for n in ("head", "worker")]  # noqa: SIM115 - closed at teardown
    procs = [
        subprocess.Popen(
            [
                str(Path(sys.executable).with_name("ray")),
                "start",
                "--head",
                "--node-ip-address=127.0.0.1",
                f"--port={port}",
                "--include-dashboard=false",
                f"--ray-client-server-port={_free_port()}",
                *common,
            ],
            env={**env, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"},
            stdout=logs[0],
            stderr=subprocess.STDOUT,
        )
    ]
    saved_flag = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False  # this process too resolves 127.0.0.1 as itself
    cluster = LocalCluster(address, dict(CLUSTER_ENV), procs, temp_dir)

    def wait_for(cpus: float, what: str) -> None:
        end = time.monotonic() + START_TIMEOUT_S
        while True:
            for name, proc in zip(("head", "worker"), procs, strict=False):
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"ray start ({name}) exited: "
                        f"{(temp_dir / f'{name}.log').read_text(errors='replace')[-2000:]}"
                    )
            try:
                ray.init(address=address, logging_level="ERROR", log_to_driver=False)
                ready = ray.cluster_resources().get("CPU") == cpus
                ray.shutdown()
                if ready:
                    return
            except Exception:  # noqa: BLE001 - not up yet
                if ray.is_initialized():
                    ray.shutdown()
            if time.monotonic() > end:
                raise RuntimeError(f"the Ray {what} did not come up in time")
            time.sleep(0.5)

    try:
        wait_for(1, "head node")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", _JOIN, "start", f"--address={address}", *common],
                env=env,
                stdout=logs[1],
                stderr=subprocess.STDOUT,
            )
        )
        wait_for(2, "worker node")
        yield cluster
    finally:
        if ray.is_initialized():
            ray.shutdown()
        for proc in reversed(procs):
            _stop(proc)
        for log in logs:
            log.close()
        ray_constants.ENABLE_RAY_CLUSTER = saved_flag
        shutil.rmtree(temp_dir, ignore_errors=True)
