"""A real local Ray cluster for the Ray executor tests, started and stopped by process id.

The head node is started with ``ray start --head --block`` on 127.0.0.1 with 2 CPUs, a
private ``--temp-dir`` (so no stale session can capture the connection) and token
authentication with a fresh token passed through the environment (never written to the
home folder). Teardown kills exactly the processes descended from that ``ray start``
process (never ``ray stop``, which would kill every Ray process of the user).

Ray refuses a second node on the loopback address of the same machine (it rewrites
127.0.0.1 to the machine's network address for joining nodes), so the cluster is one
node whose worker processes are separate OS processes, as on any node of a real cluster.
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

SKIP_REASON = "the 'ray' extra is not installed (pip install 'lode-bench[ray]'): Ray cluster tests skipped"

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
    proc: subprocess.Popen[bytes]
    temp_dir: Path
    killed: list[int] = field(default_factory=list)

    def busy_workers(self, prefix: str) -> list[int]:
        """Worker processes of this cluster whose title starts with ``ray::<prefix>``."""
        return [p for p in descendants(self.proc.pid) if cmdline(p).startswith("ray::" + prefix)]

    def kill_worker_when_busy(self, prefix: str, *, timeout: float = 60.0) -> threading.Thread:
        """Start a thread that SIGKILLs the first worker seen running ``prefix`` (pid kept in ``killed``)."""

        def watch() -> None:
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                pids = self.busy_workers(prefix)
                if pids:
                    try:
                        os.kill(pids[0], signal.SIGKILL)
                        self.killed.append(pids[0])
                    except ProcessLookupError:
                        continue
                    return
                time.sleep(0.005)

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


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[LocalCluster]:
    """Head node with 2 CPUs on 127.0.0.1; the test process is set up to connect to it."""
    ray = pytest.importorskip("ray", reason=SKIP_REASON)
    if not LINUX:  # pragma: no cover
        pytest.skip("the Ray cluster tests need Linux (/proc)")
    from ray._private import ray_constants

    temp_dir = Path(tempfile.mkdtemp(prefix="lbray-"))  # short: Ray's socket paths must fit 107 bytes
    port = _free_port()
    env = {**CLUSTER_ENV, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}  # keep Ray on the loopback address
    ray_bin = str(Path(sys.executable).with_name("ray"))
    log = open(temp_dir / "head.log", "wb")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [ray_bin, "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
         "--num-cpus=2", "--num-gpus=0", f"--temp-dir={temp_dir}", "--include-dashboard=false",
         "--disable-usage-stats", f"--ray-client-server-port={_free_port()}",
         f"--dashboard-agent-listen-port={_free_port()}", "--object-store-memory=200000000"],
        env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    saved_flag = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False  # this process too resolves 127.0.0.1 as itself
    cluster = LocalCluster(f"127.0.0.1:{port}", env, proc, temp_dir)
    try:
        end = time.monotonic() + START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"ray start exited: {(temp_dir / 'head.log').read_text(errors='replace')[-2000:]}")
            try:
                ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
                ready = ray.cluster_resources().get("CPU") == 2
                ray.shutdown()
                if ready:
                    break
            except Exception:  # noqa: BLE001 - not up yet
                if ray.is_initialized():
                    ray.shutdown()
            if time.monotonic() > end:
                raise RuntimeError("the Ray head node did not come up in time")
            time.sleep(0.5)
        yield cluster
    finally:
        if ray.is_initialized():
            ray.shutdown()
        _stop(proc)
        log.close()
        ray_constants.ENABLE_RAY_CLUSTER = saved_flag
        shutil.rmtree(temp_dir, ignore_errors=True)
