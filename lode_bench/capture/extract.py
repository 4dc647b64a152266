"""Video -> numbered frame files, resumable.

Frames are written atomically as ``<out>/NNNNNN.png``; each finished frame is journalled
(``.extract.journal.jsonl``: name, index, timestamp, sha256) so an interrupted run
resumes where it stopped (frames already written and still hashing right are skipped
without being converted or encoded). Timestamps are the container's presentation
times when PyAV is installed (extra ``video``), else ``index / fps``. At the end
``frames.json`` records the source, frame rate, timestamps and the timing report
(:mod:`lode_bench.capture.timing`: variable frame rate, dropped and duplicated frames),
and ``repeated_frames``: frames whose decoded pixels equal the previous frame's exactly
(a repeat emitted by the encoder; real consecutive frames differ at least by noise),
which :class:`~lode_bench.capture.frames.FolderFrameSource` reads back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from lode_bench.capture.frames import FRAMES_INDEX, FrameSourceError, VideoFrameSource
from lode_bench.io import atomic_write_json, read_image, sha256_file
from lode_bench.io.atomic import atomic_write_bytes, sha256_bytes
from lode_bench.io.images import encode_image

JOURNAL = ".extract.journal.jsonl"
LOSSLESS = (".png", ".tif", ".tiff", ".bmp")


def _load_journal(path: Path) -> dict[str, dict[str, Any]]:
    done: dict[str, dict[str, Any]] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                e = json.loads(line)
                done[e["name"]] = e
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # torn last line of a killed run
    return done


def extract_video_frames(
    video: str | Path,
    out_dir: str | Path,
    *,
    start: int = 0,
    stop: int | None = None,
    step: int = 1,
    ext: str = ".png",
    fps: float | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Decode ``video`` frames ``start, start+step, ... < stop`` into ``out_dir``.

    Args:
        video: a video file OpenCV can decode.
        out_dir: destination folder (created).
        start, stop, step: which frames (``stop=None``: to the end).
        ext: ``.png`` (lossless, default) or another image extension.
        fps: override the container's frame rate.
        progress: show a progress bar.

    Returns:
        The ``frames.json`` document written.

    Raises:
        FrameSourceError / ImageReadError: naming the video when it cannot be decoded.
    """
    src = VideoFrameSource(video, fps=fps)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stop = len(src) if stop is None else min(int(stop), len(src))
    if step < 1 or start < 0 or start >= stop:
        raise FrameSourceError(f"{video}: empty frame range start={start} stop={stop} step={step}")
    wanted = list(range(start, stop, step))
    journal = out / JOURNAL
    done = _load_journal(journal)
    entries: list[dict[str, Any]] = []
    repeated: list[str] = []
    prev_frame: np.ndarray | None = None
    prev_idx = -2
    try:
        with open(journal, "a", encoding="utf-8") as jf:
            for idx in tqdm(wanted, desc=f"extract {src.name}", unit="frame", disable=not progress):
                name = f"{idx:06d}{ext}"
                entry = {"name": name, "index": idx, "timestamp": src.info(idx).timestamp}
                prev = done.get(name)
                target = out / name
                if prev and target.is_file() and sha256_file(target) == prev.get("sha256"):
                    entries.append({k: prev[k] for k in ("name", "index", "timestamp")})
                    if prev.get("repeats_previous"):
                        repeated.append(name)
                    prev_frame, prev_idx = None, idx
                    continue
                frame = src.read(idx)
                if prev_frame is None and prev_idx == idx - step and ext.lower() in LOSSLESS:
                    prev_frame = read_image(out / entries[-1]["name"])  # resumed: from disk
                repeat = bool(
                    prev_frame is not None
                    and prev_idx == idx - step
                    and np.array_equal(frame, prev_frame)
                )
                if repeat:
                    repeated.append(name)
                prev_frame, prev_idx = frame, idx
                data = encode_image(frame, ext)
                atomic_write_bytes(target, data)
                jf.write(
                    json.dumps({**entry, "sha256": sha256_bytes(data), "repeats_previous": repeat})
                    + "\n"
                )
                jf.flush()
                os.fsync(jf.fileno())
                entries.append(entry)
    finally:
        src.close()
    timing = src.timing()
    if timing is not None and repeated:
        by_name = {e["name"]: k for k, e in enumerate(entries)}
        timing.repeated = sorted(int(entries[by_name[n]]["index"]) for n in repeated)
    doc: dict[str, Any] = {
        "source": Path(video).name,
        "fps": src.fps,
        "step": step,
        "backend": src.backend,
        "frames": entries,
    }
    if timing is not None:
        doc["timing"] = timing.as_dict()
    doc["repeated_frames"] = repeated
    atomic_write_json(out / FRAMES_INDEX, doc)
    journal.unlink(missing_ok=True)
    return doc
