"""Helpers of the leaderboard tests: a board with honest submissions, and a headless
Chromium driven over the DevTools protocol."""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from lode_bench.bench.store import ResultRow, ResultsStore
from lode_bench.report.submission import export_submission

HOSTILE = '<img src=x onerror="window.__pwned=1">&"\'</td>'
DATASETS = {"set-a": ("a" * 64, 12), "set-b": ("b" * 64, 8)}
MODELS = {"identity": 24.0, "fast-net": 26.0, "slow-net": 27.5, HOSTILE: 25.0}


@dataclass
class Board:
    root: Path
    store: Path
    files: dict[str, Path]


def image_ids(ds: str) -> list[str]:
    return [f"{ds}-img{i:02d}" for i in range(DATASETS[ds][1])]


def write_spec(root: Path, **overrides: Any) -> None:
    doc = {
        "name": "test-board",
        "title": "Test board",
        "description": "Two datasets.",
        "protocol": {"name": "basicsr", "version": "1"},
        "metrics": ["PSNR", "SSIM"],
        "ranking": {"metric": "PSNR"},
        "datasets": [
            {"name": d, "manifest_hash": h, "image_ids": image_ids(d)}
            for d, (h, _) in DATASETS.items()
        ],
    }
    doc.update(overrides)
    root.mkdir(parents=True, exist_ok=True)
    (root / "leaderboard.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def make_board(tmp: Path) -> Board:
    rng = np.random.default_rng(0)
    store = tmp / "results.sqlite"
    with ResultsStore(store) as st:
        for m, mu in MODELS.items():
            run = f"run-{len(m)}-{mu}"
            st.start_run(
                run,
                model=m,
                dataset="x",
                dataset_hash="a" * 64,
                protocol="basicsr",
                protocol_version="1",
                params=2_000_000,
                device="cpu",
                seed=0,
            )
            for d, (h, _) in DATASETS.items():
                st.put(
                    [
                        ResultRow(
                            m,
                            d,
                            h,
                            "basicsr",
                            "1",
                            i,
                            metrics={
                                "PSNR": float(mu + rng.normal()),
                                "SSIM": float(0.8 + 0.01 * rng.normal()),
                            },
                            runtime_s=0.01 * mu,
                            run_id=run,
                        )
                        for i in image_ids(d)
                    ]
                )
    root = tmp / "board"
    write_spec(root)
    files = {}
    for k, m in enumerate(MODELS):
        path = root / "submissions" / f"{k:02d}.json"
        export_submission(
            ResultsStore(store),
            model=m,
            leaderboard="test-board",
            method={
                "paper": "https://example.org/paper?a=1&b=2",
                "code": "javascript:window.__pwned=2",
                "training_set": "GoPro",
            },
            out=path,
        )
        files[m] = path
    return Board(root, store, files)


def load_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


# --- headless Chromium over the DevTools protocol --------------------------------------

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        exe = shutil.which(name)
        if exe:
            return exe
    return None


class Page:
    """A page target driven with CDP commands; console problems are collected as they come."""

    def __init__(self, ws_url: str) -> None:
        import websocket

        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self._id = 0
        self.events: list[dict[str, Any]] = []
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        my = self._id
        self.ws.send(json.dumps({"id": my, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_event(self, name: str, timeout: float = 30.0) -> None:
        start = len(self.events)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(e["method"] == name for e in self.events[start:]):
                return
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == name:
                    return
        raise TimeoutError(name)

    def goto(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")

    def eval(self, expression: str) -> Any:
        res = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in res:
            raise RuntimeError(f"{expression}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def console_errors(self) -> list[str]:
        out = []
        for e in self.events:
            p = e.get("params", {})
            if e["method"] == "Runtime.exceptionThrown":
                out.append(
                    str(p.get("exceptionDetails", {}).get("exception", {}).get("description") or p)
                )
            elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(" ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
            elif e["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(f"{p['entry'].get('text')} {p['entry'].get('url', '')}")
        return out

    def close(self) -> None:
        self.ws.close()


class Browser:
    def __init__(self, exe: str, profile: Path) -> None:
        self.proc = subprocess.Popen(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--window-size=1280,900",
                f"--user-data-dir={profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(
            target=lambda: [lines.put(ln) for ln in self.proc.stderr], daemon=True
        ).start()
        deadline = time.monotonic() + 60
        self.port = None
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.close()
            raise RuntimeError("Chromium did not start its DevTools endpoint")

    def page(self) -> Page:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=10) as r:
            targets = json.load(r)
        target = next(t for t in targets if t["type"] == "page")
        return Page(target["webSocketDebuggerUrl"])

    def close(self) -> None:
        """Stop the browser's own process group (started in a new session above)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                if self.proc.poll() is None:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait()
