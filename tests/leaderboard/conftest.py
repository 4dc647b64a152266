"""Fixtures of the leaderboard tests (helpers live in lb_helpers.py)."""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

# The helpers module sits beside this file; make it importable under any import mode.
from tests.leaderboard.lb_helpers import Board, Browser, find_chromium, make_board  # noqa: E402


@pytest.fixture
def board(tmp_path: Path) -> Board:
    return make_board(tmp_path)


@pytest.fixture
def browser(tmp_path: Path):
    exe = find_chromium()
    if exe is None:
        pytest.skip(
            "headless Chromium not installed (Debian: apt-get install -y chromium); "
            "the site is still checked by the HTML parser tests"
        )
    pytest.importorskip("websocket", reason="websocket-client is needed to drive Chromium")
    b = Browser(exe, tmp_path / "chromium-profile")
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def serve():
    """Serve a folder on 127.0.0.1 (random port) for the test's duration."""
    servers = []

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    def start(folder: Path) -> str:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(folder)))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()
