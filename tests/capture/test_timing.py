"""True video timing: VFR, dropped and duplicated frames, windows chosen by time, --fps."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lode_bench.capture.extract import extract_video_frames
from lode_bench.capture.frames import FolderFrameSource, VideoFrameSource
from lode_bench.capture.timing import TimingError, analyse_timing, plan_windows_by_time
from lode_bench.cli.synth import synth
from lode_bench.datasets.manifest import load_manifest
from lode_bench.io import write_image
from lode_bench.synth.pipeline import run_recipe
from lode_bench.synth.planning import plan_windows
from lode_bench.synth.recipes import validate_recipe

NOMINAL_MS = 1000 / 30


def _vfr_pts_ms() -> list[int]:
    """40 frames: 30 fps, one frame dropped after frame 11, then 40 fps from frame 25 on."""
    pts, t = [], 0.0
    for i in range(40):
        pts.append(int(round(t)))
        t += 2 * NOMINAL_MS if i == 11 else (25.0 if i >= 25 else NOMINAL_MS)
    return pts


def _write_video(path: Path, pts_ms: list[int]) -> Path:
    av = pytest.importorskip("av", reason="PyAV (extra 'video') not installed")
    with av.open(str(path), "w") as c:
        s = c.add_stream("ffv1", rate=30)
        s.width, s.height, s.pix_fmt = 64, 48, "bgr0"
        s.time_base = s.codec_context.time_base = Fraction(1, 1000)
        for i, p in enumerate(pts_ms):
            img = np.zeros((48, 64, 3), np.uint8)
            img[..., 0] = 5 * i
            img[:, (2 * i) % 64, 1] = 255
            f = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="bgr0")
            f.pts, f.time_base = p, s.time_base
            for pk in s.encode(f):
                c.mux(pk)
        for pk in s.encode():
            c.mux(pk)
    return path


def test_analyse_timing_finds_drop_vfr_and_duplicates() -> None:
    t = np.array(_vfr_pts_ms()) / 1000
    rep = analyse_timing(t)
    assert rep.nominal_fps == pytest.approx(30, rel=0.02)
    assert [(d["after"], d["missing"]) for d in rep.dropped] == [(11, 1)]
    assert rep.variable_frame_rate and rep.irregular and not rep.duplicated
    assert "1 dropped frame" in rep.summary() and "variable frame rate" in rep.summary()
    dup = analyse_timing([0, 0.1, 0.2, 0.2, 0.3, 0.4])
    assert dup.duplicated == [3] and not dup.dropped and not dup.variable_frame_rate
    regular = analyse_timing(np.arange(20) / 240)
    assert not regular.irregular and regular.nominal_fps == pytest.approx(240)
    with pytest.raises(TimingError, match="decrease at frame 2"):
        analyse_timing([0, 0.1, 0.05])


def test_time_windows_equal_index_windows_on_regular_timing() -> None:
    t = np.arange(200) / 120
    for duty in (1.0, 0.5):
        a = plan_windows(200, [5, 7, 9], duty, np.random.default_rng(1))
        b = plan_windows_by_time(
            t, [5, 7, 9], duty, np.random.default_rng(1), nominal_interval=1 / 120
        ).windows
        assert a == b


def test_vfr_video_detected_reported_and_windowed_by_time(tmp_path: Path) -> None:
    pts = _vfr_pts_ms()
    video = _write_video(tmp_path / "phone.mkv", pts)
    src = VideoFrameSource(video)
    assert src.backend == "pyav" and len(src) == 40
    assert src.timestamps == pytest.approx([p / 1000 for p in pts])
    rep = src.timing()
    assert rep is not None and rep.irregular and rep.n_dropped == 1
    # the index planner would average across the gap
    idx_windows = plan_windows(40, [5], 1.0, np.random.default_rng(0))
    assert any(s <= 11 < s + n - 1 for s, n, _ in idx_windows)
    recipe = validate_recipe(
        {"kind": "global", "frames": {"n": [5]}, "response": "identity"}, name="vfr"
    )
    m = run_recipe(recipe, tmp_path / "ds", source=video, progress=False)
    timing = m.meta["timing"]["phone"]
    assert timing["n_dropped"] == 1 and timing["variable_frame_rate"]
    assert timing["windows"] == "by time" and timing["windows_moved_past_gaps"] >= 1
    nominal = 1 / rep.nominal_fps
    starts = []
    for s in m.samples:
        a, b = s["frame_range"]
        ts = np.array(pts[a:b]) / 1000
        assert not (a <= 11 < b - 1)  # no window holds the dropped frame's gap
        assert np.all(np.diff(ts) < 1.5 * nominal)
        assert ts[-1] - ts[0] < 4.5 * nominal  # exposure of 5 nominal intervals
        assert s["n_frames"] == (6 if a >= 25 else 5)  # 40 fps part: more frames per exposure
        starts.append(ts[0])
    assert np.all(np.diff(starts) >= 5 * nominal - 0.002)  # spaced by time
    assert any(s["frame_range"][0] >= 25 for s in m.samples)


def test_extract_records_container_timestamps(tmp_path: Path) -> None:
    video = _write_video(tmp_path / "phone.mkv", _vfr_pts_ms())
    doc = extract_video_frames(video, tmp_path / "frames", progress=False)
    assert doc["timing"]["n_dropped"] == 1 and doc["backend"] == "pyav"
    folder = FolderFrameSource(tmp_path / "frames")
    rep = folder.timing()
    assert rep is not None and rep.dropped[0]["after"] == 11
    saved = json.loads((tmp_path / "frames" / "frames.json").read_text())
    assert saved["frames"][12]["timestamp"] == pytest.approx(_vfr_pts_ms()[12] / 1000)


def test_synth_fps_for_frame_folders(tmp_path: Path) -> None:
    folder = tmp_path / "f120"
    for i in range(12):
        write_image(folder / f"{i:04d}.png", np.full((32, 32, 3), 10 * i, np.uint8))
    args = ["--source", str(folder), "--quiet"]
    rec = tmp_path / "r.yaml"
    rec.write_text("kind: global\nframes: {n: [5]}\nresponse: identity\n")
    res = CliRunner().invoke(synth, [str(rec), "--out", str(tmp_path / "a"), *args, "--fps", "120"])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(synth, [str(rec), "--out", str(tmp_path / "b"), *args])
    assert res.exit_code == 0, res.output
    a, b = load_manifest(tmp_path / "a").samples, load_manifest(tmp_path / "b").samples
    assert a[1]["timestamps"] == [pytest.approx(5 / 120), pytest.approx(9 / 120)]
    assert b[1]["timestamps"] == [pytest.approx(5 / 240), pytest.approx(9 / 240)]  # default


def test_repeated_frame_content_found_by_extract_and_avoided(tmp_path: Path) -> None:
    av = pytest.importorskip("av", reason="PyAV (extra 'video') not installed")
    pts = [int(round(i * NOMINAL_MS)) for i in range(30)]
    path = tmp_path / "rep.mkv"
    with av.open(str(path), "w") as c:
        s = c.add_stream("ffv1", rate=30)
        s.width, s.height, s.pix_fmt = 64, 48, "bgr0"
        s.time_base = s.codec_context.time_base = Fraction(1, 1000)
        for i, p in enumerate(pts):
            k = i - 1 if i == 14 else i  # frame 14 repeats frame 13's picture
            img = np.zeros((48, 64, 3), np.uint8)
            img[..., 0] = 5 * k
            f = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="bgr0")
            f.pts, f.time_base = p, s.time_base
            for pk in s.encode(f):
                c.mux(pk)
        for pk in s.encode():
            c.mux(pk)
    doc = extract_video_frames(path, tmp_path / "frames", progress=False)
    assert doc["repeated_frames"] == ["000014.png"]
    assert doc["timing"]["repeated_content"] == [14] and doc["timing"]["irregular"]
    src = FolderFrameSource(tmp_path / "frames")
    rep = src.timing()
    assert rep is not None and rep.repeated == [14] and not rep.dropped
    recipe = validate_recipe(
        {"kind": "global", "frames": {"n": [5]}, "response": "identity"}, name="rep"
    )
    m = run_recipe(recipe, tmp_path / "ds", source=tmp_path / "frames", progress=False)
    ranges = [s["frame_range"] for s in m.samples]
    assert ranges and all(not (a <= 13 and 14 < b) for a, b in ranges)
    assert m.meta["timing"]["frames"]["repeated_content"] == [14]


def test_repeat_found_across_a_resumed_extraction(tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("av", reason="PyAV (extra 'video') not installed")
    import lode_bench.capture.extract as ex

    (tmp_path / "a").mkdir()
    test_repeated_frame_content_found_by_extract_and_avoided(tmp_path / "a")
    video = tmp_path / "a" / "rep.mkv"
    real = ex.atomic_write_bytes

    def failing(path, data):
        if Path(path).name == "000014.png":
            raise KeyboardInterrupt  # killed while writing frame 14
        return real(path, data)

    monkeypatch.setattr(ex, "atomic_write_bytes", failing)
    with pytest.raises(KeyboardInterrupt):
        ex.extract_video_frames(video, tmp_path / "b", progress=False)
    monkeypatch.setattr(ex, "atomic_write_bytes", real)
    doc = ex.extract_video_frames(video, tmp_path / "b", progress=False)
    assert doc["repeated_frames"] == ["000014.png"]


def test_synth_cli_reports_irregular_timing(tmp_path: Path) -> None:
    video = _write_video(tmp_path / "phone.mkv", _vfr_pts_ms())
    rec = tmp_path / "r.yaml"
    rec.write_text("kind: global\nframes: {n: [5]}\nresponse: identity\n")
    res = CliRunner().invoke(
        synth, [str(rec), "--out", str(tmp_path / "ds"), "--source", str(video), "--quiet"]
    )
    assert res.exit_code == 0, res.output
    assert (
        "phone: irregular timing (1 dropped, 0 duplicated, variable frame rate); "
        "windows chosen by time" in res.output
    )


def test_pyav_source_pickles_for_worker_processes(tmp_path: Path) -> None:
    import pickle

    video = _write_video(tmp_path / "phone.mkv", _vfr_pts_ms())
    src = VideoFrameSource(video)
    want = src.read(5)
    src.read(3)  # an open decoder mid-stream
    copy = pickle.loads(pickle.dumps(src))
    np.testing.assert_array_equal(copy.read(5), want)
    assert copy.timestamps == src.timestamps
    assert want[0, 0, 0] == 25  # frame 5's red level as written (ffv1 is lossless)


def test_vfr_video_on_a_process_pool_matches_serial(tmp_path: Path) -> None:
    from lode_bench.parallel.choice import make_executor

    video = _write_video(tmp_path / "phone.mkv", _vfr_pts_ms())
    recipe = validate_recipe(
        {"kind": "global", "frames": {"n": [5]}, "response": "gamma"}, name="vfr"
    )
    serial = run_recipe(recipe, tmp_path / "a", source=video, progress=False)
    ex = make_executor("process", workers=2)
    try:
        pooled = run_recipe(
            recipe, tmp_path / "b", source=video, progress=False, executor=ex, samples_per_task=2
        )
    finally:
        ex.close()
    assert serial.manifest_hash == pooled.manifest_hash
