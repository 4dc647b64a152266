"""Frame sources (folder, video, memory) and resumable video extraction."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from lode_bench.capture.extract import JOURNAL, extract_video_frames
from lode_bench.capture.frames import (
    ArrayFrameSource,
    FolderFrameSource,
    FrameSourceError,
    VideoFrameSource,
    open_frame_source,
)
from lode_bench.cli.capture import capture
from lode_bench.errors import ImageReadError, ShapeMismatchError
from lode_bench.io import write_image


def _frames(n: int, h: int = 48, w: int = 64) -> list[np.ndarray]:
    out = []
    for i in range(n):
        f = np.zeros((h, w, 3), np.uint8)
        f[..., 0] = 20 * i
        f[:, (3 * i) % w, 1] = 255
        out.append(f)
    return out


@pytest.fixture
def video(tmp_path: Path) -> Path:
    """A 12-frame MJPG video whose frames have distinct mean red levels."""
    p = tmp_path / "clip.avi"
    wr = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (64, 48))
    assert wr.isOpened()
    for i in range(12):
        wr.write(np.full((48, 64, 3), (0, 0, 20 * i), np.uint8))  # BGR: red ramp
    wr.release()
    return p


def test_folder_source_orders_by_name_and_checks_size(tmp_path: Path) -> None:
    frames = _frames(5)
    for i in (3, 0, 4, 1, 2):  # written out of order
        write_image(tmp_path / f"{i:04d}.png", frames[i])
    src = FolderFrameSource(tmp_path, fps=120)
    assert len(src) == 5 and src.fps == 120
    for i in range(5):
        np.testing.assert_array_equal(src.read(i), frames[i])
    assert src.info(3).timestamp == pytest.approx(3 / 120)
    write_image(tmp_path / "0005.png", np.zeros((40, 64, 3), np.uint8))
    src = FolderFrameSource(tmp_path)
    with pytest.raises(ShapeMismatchError, match="0005.png"):
        src.read(5)


def test_corrupt_and_missing(tmp_path: Path) -> None:
    write_image(tmp_path / "0000.png", _frames(1)[0])
    data = (tmp_path / "0000.png").read_bytes()
    (tmp_path / "0001.png").write_bytes(data[: len(data) // 2])
    src = FolderFrameSource(tmp_path)
    with pytest.raises(ImageReadError, match="0001.png"):
        src.read(1)
    with pytest.raises(FrameSourceError, match="no such"):
        open_frame_source(tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FrameSourceError, match="no frames"):
        FolderFrameSource(empty)
    with pytest.raises(FrameSourceError, match="out of range"):
        src.read(7)


def test_video_source_reads_in_order_and_backwards(video: Path) -> None:
    src = open_frame_source(video)
    assert isinstance(src, VideoFrameSource)
    assert len(src) == 12 and src.fps == pytest.approx(30.0)
    means = [src.read(i)[..., 0].mean() for i in (0, 5, 6, 2, 11)]  # RGB red channel
    np.testing.assert_allclose(
        means, [0, 100, 120, 40, 220], atol=3
    )  # tolerance: MJPG quantisation
    assert src.read(3).shape == (48, 64, 3)


def test_extract_is_resumable_and_writes_index(video: Path, tmp_path: Path) -> None:
    out = tmp_path / "frames"
    doc = extract_video_frames(video, out, stop=6, progress=False)
    assert [e["name"] for e in doc["frames"]] == [f"{i:06d}.png" for i in range(6)]
    first = {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")}
    # simulate an interrupted longer run: journal of frames 0..5 exists, frames 6.. missing
    journal = out / JOURNAL
    journal.write_text(
        "".join(json.dumps({**e, "sha256": _sha(out / e["name"])}) + "\n" for e in doc["frames"])
        + '{"name": "000006.png", "ind'
    )  # torn last line
    doc2 = extract_video_frames(video, out, progress=False)
    assert len(doc2["frames"]) == 12 and not journal.exists()
    assert all((out / n).stat().st_mtime_ns == t for n, t in first.items())  # not rewritten
    src = FolderFrameSource(out)
    assert src.fps == pytest.approx(30.0) and len(src) == 12
    ref = VideoFrameSource(video)
    for i in (0, 6, 11):
        np.testing.assert_array_equal(src.read(i), ref.read(i))


def _sha(p: Path) -> str:
    import hashlib

    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_extract_cli(video: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        capture, ["extract", str(video), "--out", str(tmp_path / "f"), "--step", "3", "--quiet"]
    )
    assert res.exit_code == 0, res.output
    assert "4 frames" in res.output
    assert sorted(p.name for p in (tmp_path / "f").glob("*.png")) == [
        "000000.png",
        "000003.png",
        "000006.png",
        "000009.png",
    ]


def test_array_source() -> None:
    src = ArrayFrameSource(_frames(3), fps=240)
    assert src.info(2).timestamp == pytest.approx(2 / 240)
    with pytest.raises(FrameSourceError):
        ArrayFrameSource([])


def test_iter_range_streams_in_order_with_threads(tmp_path):
    import numpy as np

    from lode_bench.capture.frames import FolderFrameSource
    from lode_bench.io import write_image

    rng = np.random.default_rng(5)
    frames = [rng.integers(0, 256, (6, 7, 3), dtype=np.uint8) for _ in range(9)]
    for i, f in enumerate(frames):
        write_image(tmp_path / f"{i:04d}.png", f)
    src = FolderFrameSource(tmp_path, fps=240)
    for workers in (1, 2, 3):
        got = list(src.iter_range(2, 9, workers=workers))
        assert len(got) == 7
        for a, b in zip(got, frames[2:9], strict=True):
            np.testing.assert_array_equal(a, b)
    it = src.iter_range(0, 9, workers=2)
    np.testing.assert_array_equal(next(it), frames[0])  # usable lazily
