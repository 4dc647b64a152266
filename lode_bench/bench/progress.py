"""What a benchmark run shows while it works: a line per stage, then the image count.

A run says what it is doing from its first second (loading the model, counting FLOPs,
warming up), so a slow CPU run is never silent. Images then advance a progress bar on a
terminal, or, when stderr is not a terminal (logs, CI), a plain line at most every
:data:`LINE_EVERY_S` seconds and at the end.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

#: Seconds between two plain progress lines when stderr is not a terminal.
LINE_EVERY_S = 15.0


class RunProgress:
    """Stage lines and an image counter for one run.

    Args:
        title: ``"model | dataset | protocol"``.
        enabled: False prints nothing (``-q``).
        stream: where lines go (default: stderr).
    """

    def __init__(self, title: str, enabled: bool = True, stream: IO[str] | None = None) -> None:
        self.title = title
        self.enabled = enabled
        self.stream = stream
        self._bar: Any = None
        self._total = 0
        self._done = 0
        self._t0 = 0.0
        self._last = 0.0

    def _out(self) -> IO[str]:
        return self.stream if self.stream is not None else sys.stderr

    def _is_tty(self) -> bool:
        try:
            return bool(self._out().isatty())
        except (AttributeError, ValueError):
            return False

    def stage(self, text: str) -> None:
        """One line: what the run is doing now."""
        if not self.enabled:
            return
        line = f"{self.title}: {text}"
        if self._bar is not None:
            self._bar.write(line, file=self._out())
        else:
            print(line, file=self._out(), flush=True)

    def start_images(self, total: int) -> None:
        """Begin counting ``total`` images."""
        self._total, self._done = total, 0
        self._t0 = self._last = time.perf_counter()
        if not self.enabled:
            return
        if self._is_tty():
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=total, desc=self.title, unit="img", leave=False, file=self._out()
            )
        else:
            self.stage(f"{total} image(s) to run")

    def advance(self, n: int = 1) -> None:
        """``n`` more images finished."""
        self._done += n
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(n)
            return
        now = time.perf_counter()
        if now - self._last >= LINE_EVERY_S:
            self._last = now
            self.stage(self._count_text(now))

    def _count_text(self, now: float) -> str:
        rate = (now - self._t0) / self._done if self._done else None
        return f"{self._done}/{self._total} images" + (f" ({rate:.2f} s/img)" if rate else "")

    def close(self) -> None:
        """End the counter (a last plain line when not on a terminal)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.enabled and self._total:
            self.stage(self._count_text(time.perf_counter()))
