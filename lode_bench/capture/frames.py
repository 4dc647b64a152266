"""Ordered frame sources: a folder of frames, a video file, or frames held in memory.

Every source yields H×W×3 RGB frames in capture order, knows its frame rate and
each frame's timestamp, and refuses a frame whose size differs from the first one
(naming the file), so a window of frames can always be averaged.

Frame types: 8-bit files give uint8 (exactly as before), 16-bit PNG/TIFF give uint16
(no cut to 8 bits), float TIFFs give uint16 codes (``round(clip(v) * 65535)``), and a
folder of RAW/DNG files (:class:`~lode_bench.capture.raw_frames.RawFolderFrameSource`)
gives float32 linear RGB. A source's :attr:`FrameSource.bit_depth` (``"8"``, ``"16"``,
``"linear"``) and :attr:`FrameSource.colour_path` are recorded in manifests; every frame
of a source has the first frame's type (an 8-bit file in a 16-bit folder is scaled by
257, a 16-bit file in an 8-bit folder rounded by ``v / 257``).

A frame folder may carry ``frames.json`` (written by
:func:`lode_bench.capture.extract.extract_video_frames`) giving the frame rate and
timestamps; otherwise frames are ordered by file name and ``fps`` must be given (or the
default of 240 fps, GoPro's capture rate, is assumed).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from lode_bench.capture.timing import TimingReport, analyse_timing
from lode_bench.errors import ImageReadError, LodeBenchError, ShapeMismatchError
from lode_bench.io import list_images, read_image, safe_join
from lode_bench.io.bitdepth import bit_depth_of

VIDEO_EXTENSIONS: tuple[str, ...] = (".mp4", ".mov", ".avi", ".mkv", ".m4v", ".webm", ".mts")
FRAMES_INDEX = "frames.json"
DEFAULT_FPS = 240.0


class FrameSourceError(LodeBenchError):
    """A frame source is missing, empty, or inconsistent."""


@dataclass(frozen=True)
class FrameInfo:
    """Identity of one frame: position in the source, time in seconds, and a name."""

    index: int
    timestamp: float
    name: str


class FrameSource:
    """Base class: an ordered, sized sequence of equally sized RGB frames."""

    name: str = "frames"
    fps: float = DEFAULT_FPS
    #: True when frames are float linear light (RAW), not codes of a camera response.
    linear: bool = False

    @property
    def bit_depth(self) -> str:
        """``"8"``, ``"16"`` or ``"linear"``: the type of this source's frames."""
        depth = getattr(self, "_depth", None)
        if depth is None:
            depth = bit_depth_of(self.read(0))
        return str(depth)

    @property
    def colour_path(self) -> str:
        """How frame values relate to light (recorded in manifests)."""
        if self.bit_depth == "linear":
            return "linear RGB"
        return f"{self.bit_depth}-bit codes -> recipe response (linearised at full precision)"

    @property
    def timestamps(self) -> list[float]:
        """Timestamp (s) of every frame."""
        return [self.info(i).timestamp for i in range(len(self))]

    @property
    def has_real_timestamps(self) -> bool:
        """True when timestamps were measured (container / ``frames.json``), not index / fps."""
        return (
            getattr(self, "_times", None) is not None
            or getattr(self, "_timestamps", None) is not None
        )

    def timing(self) -> TimingReport | None:
        """Timing analysis of measured timestamps (None when they are index / fps).

        Frames known to repeat the previous frame's content (``frames.json`` written by
        ``capture extract``) are reported and kept out of windows too.
        """
        if not self.has_real_timestamps or len(self) < 2:
            return None
        return analyse_timing(self.timestamps, repeated=getattr(self, "repeated", ()))

    def __len__(self) -> int:
        raise NotImplementedError

    def info(self, index: int) -> FrameInfo:
        """Index, timestamp and name of frame ``index``."""
        self._check_index(index)
        return FrameInfo(index, index / self.fps, f"{index:06d}")

    def _read(self, index: int) -> np.ndarray:
        raise NotImplementedError

    def _check_index(self, index: int) -> None:
        if not 0 <= index < len(self):
            raise FrameSourceError(
                f"{self.name}: frame {index} out of range (source has {len(self)} frames)"
            )

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` as H×W×3 uint8 RGB.

        Raises:
            ImageReadError: a corrupt frame file.
            ShapeMismatchError: a frame whose size differs from the source's first frame.
        """
        self._check_index(index)
        frame = self._read(index)
        if getattr(self, "_depth", None) is None and index == 0:
            self._depth = bit_depth_of(frame)
        if index == 0 and getattr(self, "_size", None) is None:
            self._size = (int(frame.shape[0]), int(frame.shape[1]))  # no second decode of frame 0
        ref = self.frame_size
        if frame.shape[:2] != ref:
            raise ShapeMismatchError(
                f"{self.info(index).name}: frame size {frame.shape[1]}x{frame.shape[0]} differs "
                f"from the first frame of {self.name} ({ref[1]}x{ref[0]})"
            )
        return frame

    def read_range(self, start: int, stop: int) -> list[np.ndarray]:
        """Frames ``start .. stop-1`` in order."""
        return list(self.iter_range(start, stop))

    def iter_range(self, start: int, stop: int) -> Iterator[np.ndarray]:
        """Frames ``start .. stop-1`` in order, one at a time (lets the caller overlap work)."""
        for i in range(start, stop):
            yield self.read(i)

    @property
    def frame_size(self) -> tuple[int, int]:
        """(H, W) of the first frame."""
        size = getattr(self, "_size", None)
        if size is None:
            first = self._read(0)
            size = (int(first.shape[0]), int(first.shape[1]))
            self._size = size
        return size


class ArrayFrameSource(FrameSource):
    """Frames already in memory (e.g. a rendered built-in scene).

    Args:
        frames: sequence of H×W×3 RGB arrays (uint8, uint16, or float32 linear).
        fps: frame rate.
        name: label used in messages and manifests.
    """

    def __init__(
        self, frames: Sequence[np.ndarray], *, fps: float = DEFAULT_FPS, name: str = "memory"
    ) -> None:
        if len(frames) == 0:
            raise FrameSourceError(f"{name}: no frames")
        self.frames = list(frames)
        self.fps = float(fps)
        self.name = name

    def __len__(self) -> int:
        return len(self.frames)

    def _read(self, index: int) -> np.ndarray:
        f = np.asarray(self.frames[index])
        ok = f.dtype in (np.uint8, np.uint16, np.float32) and f.ndim == 3 and f.shape[2] == 3
        if not ok or (index > 0 and f.dtype != np.asarray(self.frames[0]).dtype):
            raise FrameSourceError(
                f"{self.name}: frame {index} must be H×W×3 uint8, uint16 or float32 "
                f"like frame 0, got {f.dtype} {f.shape}"
            )
        self.linear = f.dtype == np.float32
        return f


class FolderFrameSource(FrameSource):
    """Image files in a folder, ordered by ``frames.json`` when present, else by name.

    Args:
        folder: the frame folder.
        fps: frame rate; overrides ``frames.json``; default 240.

    Raises:
        FrameSourceError: the folder is missing or holds no image.
    """

    def __init__(self, folder: str | Path, *, fps: float | None = None) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise FrameSourceError(f"{self.folder}: frame folder not found")
        self.name = self.folder.name
        index_path = self.folder / FRAMES_INDEX
        self._timestamps: list[float] | None = None
        if index_path.is_file():
            try:
                doc = json.loads(index_path.read_text(encoding="utf-8"))
                entries = doc["frames"]
                self.files = [safe_join(self.folder, e["name"]) for e in entries]
                self._timestamps = [float(e["timestamp"]) for e in entries]
                file_fps = float(doc["fps"])
                names = {str(e["name"]): k for k, e in enumerate(entries)}
                self.repeated = sorted(
                    names[n] for n in doc.get("repeated_frames", []) if n in names
                )
            except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
                raise FrameSourceError(f"{index_path}: malformed frame index ({exc})") from exc
        else:
            self.files = list_images(self.folder)
            file_fps = DEFAULT_FPS
        if not self.files:
            raise FrameSourceError(f"{self.folder}: no frames (no image files)")
        self.fps = float(fps) if fps is not None else file_fps
        if not self.fps > 0:
            raise FrameSourceError(f"{self.folder}: frame rate must be > 0, got {self.fps}")

    def __len__(self) -> int:
        return len(self.files)

    def info(self, index: int) -> FrameInfo:
        self._check_index(index)
        ts = self._timestamps[index] if self._timestamps is not None else index / self.fps
        return FrameInfo(index, ts, str(self.files[index]))

    def _read(self, index: int) -> np.ndarray:
        frame = read_image(self.files[index], dtype="native")
        if frame.dtype not in (np.uint8, np.uint16):  # float TIFF: [0, 1] -> 16-bit codes
            frame = np.rint(np.clip(frame, 0.0, 1.0) * 65535.0).astype(np.uint16)
        first = getattr(self, "_first_dtype", None)
        if first is None:
            self._first_dtype = first = frame.dtype if index == 0 else self._read(0).dtype
        if frame.dtype != first:
            frame = (
                frame.astype(np.uint16) * np.uint16(257)
                if first == np.uint16
                else np.rint(frame / 257.0).astype(np.uint8)
            )
        return frame

    def read_range(self, start: int, stop: int, *, workers: int = 2) -> list[np.ndarray]:
        """Frames ``start .. stop-1``, decoded by ``workers`` threads (decoding releases the GIL)."""
        return list(self.iter_range(start, stop, workers=workers))

    def iter_range(self, start: int, stop: int, *, workers: int = 2) -> Iterator[np.ndarray]:
        """Frames ``start .. stop-1`` in order, decoded ahead by ``workers`` threads.

        At most ``2 × workers`` frames are decoded ahead of the consumer, so the caller's
        work on frame *i* (e.g. accumulation) overlaps with decoding frames *i+1, ...*.
        """
        if workers <= 1 or stop - start <= 1:
            yield from super().iter_range(start, stop)
            return
        indices = iter(range(start, stop))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            pending: deque[Future[np.ndarray]] = deque(
                pool.submit(self.read, i) for i in islice(indices, 2 * workers)
            )
            while pending:
                frame = pending.popleft().result()
                nxt = next(indices, None)
                if nxt is not None:
                    pending.append(pool.submit(self.read, nxt))
                yield frame


class VideoFrameSource(FrameSource):
    """Frames decoded from a video file (sequential decoding, cached cursor).

    Reading frames in increasing order (what window planners do) decodes each frame
    once; going backwards re-opens the file. With PyAV installed (extra ``video``;
    ``backend="auto"`` or ``"pyav"``) frames are decoded by PyAV and each frame's
    timestamp is its container presentation time, so variable frame rate and dropped or
    duplicated frames show in :attr:`timing`; with OpenCV (``backend="opencv"``, or
    PyAV absent) timestamps are ``index / fps``.

    Args:
        path: the video file.
        fps: the capture rate, overriding the container's (timestamps read by PyAV are
            scaled by ``container rate / fps``, e.g. for slow-motion files).
        backend: ``"auto"``, ``"pyav"`` or ``"opencv"``.

    Raises:
        FrameSourceError: the file cannot be opened or holds no frame.
    """

    def __init__(
        self, path: str | Path, *, fps: float | None = None, backend: str = "auto"
    ) -> None:
        from lode_bench.io.video import PyAVReader, have_pyav, read_video_timestamps

        self.path = Path(path)
        if not self.path.is_file():
            raise FrameSourceError(f"{self.path}: video file not found")
        if backend not in ("auto", "pyav", "opencv"):
            raise FrameSourceError(f"{self.path}: backend must be auto, pyav or opencv")
        self.name = self.path.stem
        self._times: list[float] | None = None
        self._reader: PyAVReader | None = None
        self._cap: cv2.VideoCapture | None = None
        self._next = 0
        if backend == "pyav" or (backend == "auto" and have_pyav()):
            times, rate = read_video_timestamps(self.path)
            if rate <= 0 and len(times) > 1:
                rate = float(1.0 / np.median(np.diff(times)))
            self.fps = float(fps) if fps is not None else (rate if rate > 0 else DEFAULT_FPS)
            scale = rate / self.fps if (fps is not None and rate > 0) else 1.0
            self._times = [t * scale for t in times]
            self._reader = PyAVReader(self.path)
            self.backend = "pyav"
            self._n = len(times)
            return
        self.backend = "opencv"
        cap = self._open()
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        file_fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        cap.release()
        self.fps = float(fps) if fps is not None else (file_fps if file_fps > 0 else DEFAULT_FPS)
        if n <= 0:  # some containers do not store a count: count by decoding
            n = self._count()
        if n <= 0:
            raise FrameSourceError(f"{self.path}: video holds no decodable frame")
        self._n = n

    def _open(self) -> cv2.VideoCapture:
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            raise FrameSourceError(
                f"{self.path}: cannot open video (unsupported codec or corrupt file)"
            )
        return cap

    def _count(self) -> int:
        cap, n = self._open(), 0
        while cap.grab():
            n += 1
        cap.release()
        return n

    def __len__(self) -> int:
        return self._n

    def info(self, index: int) -> FrameInfo:
        self._check_index(index)
        ts = self._times[index] if self._times is not None else index / self.fps
        return FrameInfo(index, ts, f"{self.path}#{index}")

    def _read(self, index: int) -> np.ndarray:
        if self._reader is not None:
            return self._reader.read(index)
        if self._cap is None or index < self._next:
            if self._cap is not None:
                self._cap.release()
            self._cap, self._next = self._open(), 0
        while self._next < index:
            if not self._cap.grab():
                raise ImageReadError(
                    self.path, f"video ended at frame {self._next}, before frame {index}"
                )
            self._next += 1
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            raise ImageReadError(self.path, f"cannot decode frame {index}")
        self._next += 1
        if bgr.ndim == 2:
            bgr = cv2.cvtColor(bgr, cv2.COLOR_GRAY2BGR)
        return np.ascontiguousarray(bgr[..., 2::-1])

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def has_frames(folder: str | Path) -> bool:
    """True when ``folder`` holds frames (image files, RAW files or a ``frames.json``)."""
    from lode_bench.capture.raw_frames import list_raw_files

    p = Path(folder)
    return p.is_dir() and bool((p / FRAMES_INDEX).is_file() or list_images(p) or list_raw_files(p))


def open_frame_source(
    path: str | Path, *, fps: float | None = None, raw: dict[str, Any] | None = None
) -> FrameSource:
    """A frame folder, a folder of RAW/DNG frames, or a video file, chosen by what ``path`` is.

    ``raw``: decoding options of RAW folders (``colour``, ``white_balance``, ``demosaic``;
    see :class:`~lode_bench.capture.raw_frames.RawFolderFrameSource`).

    Raises:
        FrameSourceError: naming the path when it is neither.
    """
    p = Path(path)
    if p.is_dir():
        from lode_bench.capture.raw_frames import RawFolderFrameSource, list_raw_files

        if not (p / FRAMES_INDEX).is_file() and not list_images(p) and list_raw_files(p):
            opts = dict(raw or {})
            if isinstance(opts.get("white_balance"), list):
                opts["white_balance"] = tuple(opts["white_balance"])
            return RawFolderFrameSource(p, fps=fps, **opts)
        return FolderFrameSource(p, fps=fps)
    if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS:
        return VideoFrameSource(p, fps=fps)
    if not p.exists():
        raise FrameSourceError(f"{p}: no such frame folder or video file")
    raise FrameSourceError(f"{p}: not a frame folder or a video ({', '.join(VIDEO_EXTENSIONS)})")
