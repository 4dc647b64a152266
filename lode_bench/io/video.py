"""Video decoding with true container timestamps (PyAV; optional extra ``video``).

OpenCV reports a single frame rate and frame count, so a variable-frame-rate phone
video, or one with dropped or repeated frames, looks regular to it. PyAV exposes each
decoded frame's presentation time (``frame.time``, i.e. ``pts × time_base``), which is
what :mod:`lode_bench.capture.timing` analyses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lode_bench.errors import ImageReadError
from lode_bench.io.raw import MissingExtraError


def have_pyav() -> bool:
    """True when PyAV can be imported."""
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def _av() -> Any:
    try:
        import av
    except ImportError as exc:
        raise MissingExtraError(
            "reading video timestamps needs PyAV: pip install 'lode-bench[video]'"
        ) from exc
    return av


def _frame_time(frame: Any, stream: Any, index: int, fallback_fps: float) -> float:
    if frame.pts is not None and stream.time_base is not None:
        return float(frame.pts * stream.time_base)
    return index / fallback_fps


def read_video_timestamps(path: str | Path) -> tuple[list[float], float]:
    """Presentation time (s) of every frame of the first video stream, and its rate.

    Timestamps are relative to the first frame (the first one is 0.0). The rate is the
    container's average rate (``average_rate``; 0 when unknown).

    Raises:
        MissingExtraError: PyAV is not installed.
        ImageReadError: naming the file when it cannot be opened or decoded.
    """
    av = _av()
    p = Path(path)
    try:
        with av.open(str(p)) as container:
            if not container.streams.video:
                raise ImageReadError(p, "holds no video stream")
            stream = container.streams.video[0]
            rate = float(stream.average_rate or 0.0)
            times = [
                _frame_time(f, stream, i, rate or 30.0)
                for i, f in enumerate(container.decode(stream))
            ]
    except av.FFmpegError as exc:
        raise ImageReadError(p, f"cannot decode video ({exc})") from exc
    if not times:
        raise ImageReadError(p, "video holds no decodable frame")
    t0 = times[0]
    return [t - t0 for t in times], rate


class PyAVReader:
    """Sequential RGB frame decoder with a cached cursor (re-opens to go backwards).

    Frame *i* is the *i*-th decoded frame in presentation order, the same frame whose
    time :func:`read_video_timestamps` lists at position *i*.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        _av()  # fail early, naming the extra, when PyAV is absent
        self._container: Any = None
        self._iter: Any = None
        self._next = 0

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (sent to worker processes): the open decoder stays behind."""
        return {"path": self.path, "_container": None, "_iter": None, "_next": 0}

    def _open(self) -> None:
        av = _av()
        self.close()
        try:
            self._container = av.open(str(self.path))
            self._iter = self._container.decode(self._container.streams.video[0])
        except av.FFmpegError as exc:
            raise ImageReadError(self.path, f"cannot open video ({exc})") from exc
        self._next = 0

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` as H×W×3 uint8 RGB.

        Raises:
            ImageReadError: the video ends before ``index`` or a frame cannot be decoded.
        """
        av = _av()
        if self._iter is None or index < self._next:
            self._open()
        try:
            while True:
                frame = next(self._iter)
                self._next += 1
                if self._next - 1 == index:
                    return np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
        except StopIteration:
            raise ImageReadError(
                self.path, f"video ended at frame {self._next}, before frame {index}"
            ) from None
        except av.FFmpegError as exc:
            raise ImageReadError(self.path, f"cannot decode frame {index} ({exc})") from exc

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container, self._iter = None, None
