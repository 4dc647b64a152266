"""Decompression bombs and corrupt JPEG scans through the CLI: refused by the header
check with one line naming the file, never decoded, never a traceback."""

from __future__ import annotations

import csv
import sqlite3
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from lode_bench.errors import ImageReadError
from lode_bench.io import read_image, read_mask
from tests.hostile.io.hostile_cli import assert_one_line_error, png_header_only, run_cli

pytestmark = pytest.mark.timeout(300)


def _photo(seed: int = 0, size: tuple[int, int] = (48, 64)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 256, (*size, 3), dtype=np.uint8), (0, 0), 1.5)


def _pair_dirs(
    root: Path, name: str, gt: bytes | None = None, pred: bytes | None = None, ext: str = ".png"
) -> tuple[Path, Path]:
    g, p = root / "gt", root / "pred"
    g.mkdir(parents=True, exist_ok=True)
    p.mkdir(parents=True, exist_ok=True)
    ok = cv2.imencode(".png", _photo())[1].tobytes()
    (g / "good.png").write_bytes(ok)
    (p / "good.png").write_bytes(ok)
    (g / f"{name}{ext}").write_bytes(gt if gt is not None else ok)
    (p / f"{name}{ext}").write_bytes(pred if pred is not None else ok)
    return p, g


def _failed_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("failed:")]


def test_png_bomb_declaring_60000_squared_is_refused_by_score(tmp_path: Path) -> None:
    bomb = png_header_only(60000, 60000)
    assert len(bomb) < 300
    pred, gt = _pair_dirs(tmp_path, "bomb", gt=bomb)
    res = run_cli(
        "score",
        "--pred",
        str(pred),
        "--gt",
        str(gt),
        "-p",
        "basicsr",
        "-q",
        "--out",
        str(tmp_path / "s.csv"),
    )
    assert "Traceback" not in res.stderr, res.stderr[-2000:]
    assert res.code == 1, res.stderr[-2000:]
    failed = _failed_lines(res.stderr)
    assert len(failed) == 1 and str(gt / "bomb.png") in failed[0], res.stderr
    assert "60000×60000" in failed[0] and "too large" in failed[0]
    rows = {r["image_id"]: r for r in csv.DictReader((tmp_path / "s.csv").open())}
    assert rows["good"]["status"] == "ok" and rows["bomb"]["status"] == "error"  # nothing lost


@pytest.fixture(scope="module")
def rgba16_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid 16384×16384 RGBA 16-bit PNG (all zero): 2 MB on disk, 2 GiB decoded."""
    import struct

    w = h = 16384
    comp = zlib.compressobj(9)
    row = b"\x00" * (1 + w * 8)
    idat = b"".join(comp.compress(row) for _ in range(h)) + comp.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 6, 0, 0, 0))
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )
    p = tmp_path_factory.mktemp("bomb16") / "big.png"
    p.write_bytes(data)
    return p


def test_rgba16_bomb_is_refused_before_allocating(tmp_path: Path, rgba16_bomb: Path) -> None:
    pred, gt = _pair_dirs(tmp_path, "big", pred=rgba16_bomb.read_bytes())
    # 3 GiB of address space in the child: decoding (2 GiB) and converting would not fit
    res = run_cli("score", "--pred", str(pred), "--gt", str(gt), "-p", "basicsr", "-q")
    assert "Traceback" not in res.stderr and "MemoryError" not in res.stderr, res.stderr[-2000:]
    assert res.code == 1
    failed = _failed_lines(res.stderr)
    assert len(failed) == 1 and str(pred / "big.png") in failed[0] and "268.4 MP" in failed[0]


def test_pixel_limit_is_configurable(tmp_path: Path) -> None:
    pred, gt = _pair_dirs(tmp_path, "x")
    small = run_cli(
        "score",
        "--pred",
        str(pred),
        "--gt",
        str(gt),
        "-p",
        "basicsr",
        "-q",
        env={"LODE_BENCH_MAX_PIXELS": "1000"},
    )
    assert small.code == 1 and "Traceback" not in small.stderr
    assert all("above the limit of 0.001 MP" in ln for ln in _failed_lines(small.stderr))
    assert len(_failed_lines(small.stderr)) == 2
    bad = run_cli(
        "score",
        "--pred",
        str(pred),
        "--gt",
        str(gt),
        "-p",
        "basicsr",
        "-q",
        env={"LODE_BENCH_MAX_PIXELS": "lots"},
    )
    assert_one_line_error(bad, "LODE_BENCH_MAX_PIXELS", "positive integer", code=2)
    # the API parameter wins over the default
    with pytest.raises(ImageReadError, match="too large"):
        read_image(gt / "x.png", max_pixels=100)
    assert read_image(gt / "x.png", max_pixels=48 * 64).shape == (48, 64, 3)


def test_npy_mask_bomb_is_refused_without_loading(tmp_path: Path) -> None:
    p = tmp_path / "m.npy"
    with p.open("wb") as fh:  # header declares 100000×100000 float64, file holds 8 bytes
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "<f8", "fortran_order": False, "shape": (100000, 100000)}
        )
        fh.write(b"\x00" * 8)
    with pytest.raises(ImageReadError, match="m.npy"):
        read_mask(p)


def test_run_error_row_names_the_bomb_file(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    (ds / "blur").mkdir(parents=True)
    (ds / "sharp").mkdir()
    ok = cv2.imencode(".png", _photo())[1].tobytes()
    for name in ("a", "b"):
        (ds / "sharp" / f"{name}.png").write_bytes(ok)
        (ds / "blur" / f"{name}.png").write_bytes(ok)
    (ds / "blur" / "b.png").write_bytes(png_header_only(60000, 60000))
    store = tmp_path / "r.sqlite"
    res = run_cli(
        "run",
        "-m",
        "identity",
        "-d",
        f"folder:{ds}",
        "-p",
        "basicsr",
        "--store",
        str(store),
        "-q",
        timeout=180,
    )
    assert "Traceback" not in res.stderr, res.stderr[-3000:]
    with sqlite3.connect(store) as db:
        cols = [r[1] for r in db.execute("PRAGMA table_info(results)")]
        rows = [dict(zip(cols, r, strict=True)) for r in db.execute("SELECT * FROM results")]
    by_id = {r["image_id"]: r for r in rows}
    assert by_id["a"]["status"] == "ok"
    assert by_id["b"]["status"] != "ok" and str(ds / "blur" / "b.png") in by_id["b"]["error"]
    assert "too large" in by_id["b"]["error"]


def test_align_reports_the_bomb_pair_and_aligns_the_rest(tmp_path: Path) -> None:
    src = tmp_path / "cap"
    (src / "blur").mkdir(parents=True)
    (src / "sharp").mkdir()
    img = _photo(1, (96, 128))
    for name in ("p0", "p1"):
        cv2.imwrite(str(src / "blur" / f"{name}.png"), img)
        cv2.imwrite(str(src / "sharp" / f"{name}.png"), img)
    (src / "sharp" / "p1.png").write_bytes(png_header_only(60000, 60000))
    res = run_cli(
        "align",
        str(src),
        "--out",
        str(tmp_path / "out"),
        "--global",
        "--init",
        "identity",
        timeout=240,
    )
    assert "Traceback" not in res.stderr, res.stderr[-3000:]
    assert res.code == 1, res.stderr[-3000:]  # one pair failed: the others are written, exit 1
    qc = {r["id"]: r for r in csv.DictReader((tmp_path / "out" / "qc.csv").open())}
    bad = [r for k, r in qc.items() if "p1" in k]
    good = [r for k, r in qc.items() if "p0" in k]
    assert bad and "too large" in str(bad[0]) and "p1.png" in str(bad[0])
    assert good and good[0]["status"] != "failed"


def _cut_scan_jpeg(img: np.ndarray) -> tuple[bytes, bytes]:
    data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
    sos = data.find(b"\xff\xda")
    return data, data[: sos + (len(data) - sos) // 2] + b"\xff\xd9"


def test_jpeg_cut_in_its_scan_but_ending_with_eoi_is_refused(tmp_path: Path) -> None:
    img = _photo(2, (128, 160))
    intact, cut = _cut_scan_jpeg(img)
    assert cut.endswith(b"\xff\xd9")
    # OpenCV alone decodes the cut file (libjpeg only warns): that is the silent failure
    assert cv2.imdecode(np.frombuffer(cut, np.uint8), cv2.IMREAD_UNCHANGED) is not None
    pred, gt = _pair_dirs(tmp_path, "j", gt=intact, pred=cut, ext=".jpg")
    res = run_cli("score", "--pred", str(pred), "--gt", str(gt), "-p", "basicsr", "-q")
    assert "Traceback" not in res.stderr and res.code == 1, res.stderr[-2000:]
    failed = _failed_lines(res.stderr)
    assert len(failed) == 1 and str(pred / "j.jpg") in failed[0]
    assert "corrupt JPEG data" in failed[0] and "premature end" in failed[0]
    # the intact file still reads, identical to OpenCV's decoding
    ref = cv2.cvtColor(cv2.imdecode(np.frombuffer(intact, np.uint8), -1), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(read_image(gt / "j.jpg"), ref)


def test_metric_or_decoder_crash_on_one_pair_is_that_pair_s_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from lode_bench.cli import main
    from lode_bench.metrics.protocols import Protocol

    pred, gt = _pair_dirs(tmp_path, "x")
    real = Protocol.score

    def flaky(self, pred_img, gt_img, *, mask=None, image_id=""):  # type: ignore[no-untyped-def]
        if image_id == "x":
            raise cv2.error(
                "OpenCV(5.0.0) resize.cpp:1: error: (-215:Assertion failed) !ssize.empty()"
            )
        return real(self, pred_img, gt_img, mask=mask, image_id=image_id)

    monkeypatch.setattr(Protocol, "score", flaky)
    res = CliRunner().invoke(
        main, ["score", "--pred", str(pred), "--gt", str(gt), "-p", "basicsr", "-q", "-j", "1"]
    )
    assert res.exit_code == 1 and res.exception is None or isinstance(res.exception, SystemExit)
    failed = [ln for ln in res.output.splitlines() if ln.startswith("failed:")]
    assert len(failed) == 1 and str(pred / "x.png") in failed[0] and "error" in failed[0]
    assert "images: 1 scored, 1 failed" in res.output
