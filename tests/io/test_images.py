"""Image I/O: conversion rules, clear errors for bad files, atomic writes, path safety."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from lode_bench.errors import ImageReadError, UnsafePathError
from lode_bench.io import (
    atomic_write_bytes,
    list_images,
    read_image,
    read_mask,
    safe_join,
    to_uint8,
    write_image,
)


def _cv2_write(path, arr):
    assert cv2.imwrite(str(path), arr)


@pytest.mark.parametrize("ext", [".png", ".bmp", ".tif"])
def test_rgb_round_trip_is_lossless_and_rgb_ordered(tmp_path, photo, ext):
    p = tmp_path / f"x{ext}"
    write_image(p, photo)
    back = read_image(p)
    assert back.dtype == np.uint8 and back.shape == photo.shape
    np.testing.assert_array_equal(back, photo)
    # the file on disk is BGR (OpenCV convention): channel order must have been swapped
    np.testing.assert_array_equal(cv2.imread(str(p))[..., ::-1], photo)


def test_jpeg_reads_close_to_source(tmp_path, photo):
    p = tmp_path / "x.jpg"
    write_image(p, photo, jpeg_quality=98)
    back = read_image(p).astype(float)
    assert np.abs(back - photo).mean() < 2.0  # lossy codec: mean error under 2 grey levels


def test_grey_is_replicated(tmp_path, photo):
    grey = photo[..., 0]
    p = tmp_path / "g.png"
    _cv2_write(p, grey)
    out = read_image(p)
    assert out.shape == (*grey.shape, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], grey)


def test_16bit_rules(tmp_path, rng):
    v = rng.integers(0, 65536, size=(8, 9, 3), dtype=np.uint16)
    v[0, 0] = [0, 65535, 257 * 128 + 128]  # exact endpoints and a half-way point
    p = tmp_path / "d.png"
    _cv2_write(p, v[..., ::-1])
    native = read_image(p, dtype="native")
    assert native.dtype == np.uint16
    np.testing.assert_array_equal(native, v)
    u8 = read_image(p)
    np.testing.assert_array_equal(u8, np.rint(v / 257.0).astype(np.uint8))
    assert u8[0, 0, 1] == 255 and u8[0, 0, 0] == 0
    f = read_image(p, dtype="float32")
    np.testing.assert_allclose(f, v / 65535.0, atol=1e-7)


def test_alpha_rules(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., :3] = [200, 100, 50]
    rgba[..., 3] = [[255, 0], [128, 255]]
    p = tmp_path / "a.png"
    write_image(p, rgba)
    np.testing.assert_array_equal(read_image(p)[0, 1], [200, 100, 50])  # drop keeps colour
    black = read_image(p, alpha="black")
    np.testing.assert_array_equal(black[0, 1], [0, 0, 0])
    np.testing.assert_array_equal(black[1, 0], np.rint(np.array([200, 100, 50]) * 128 / 255))
    white = read_image(p, alpha="white")
    np.testing.assert_array_equal(white[0, 1], [255, 255, 255])
    with pytest.raises(ImageReadError, match="alpha"):
        read_image(p, alpha="error")


def test_missing_file_names_it(tmp_path):
    p = tmp_path / "nope.png"
    with pytest.raises(ImageReadError) as err:
        read_image(p)
    assert str(p) in str(err.value) and "not found" in str(err.value)


def test_empty_file(tmp_path):
    p = tmp_path / "e.png"
    p.write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty"):
        read_image(p)


@pytest.mark.parametrize(
    "ext,reason", [(".png", "truncated PNG"), (".jpg", "truncated JPEG"), (".bmp", "truncated BMP")]
)
def test_truncated_files_are_refused(tmp_path, photo, ext, reason):
    full = tmp_path / f"full{ext}"
    write_image(full, photo)
    data = full.read_bytes()
    cut = tmp_path / f"cut{ext}"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError) as err:
        read_image(cut)
    assert reason in str(err.value) and str(cut) in str(err.value)


def test_garbage_with_image_extension(tmp_path):
    p = tmp_path / "fake.png"
    p.write_bytes(b"this is not an image at all" * 10)
    with pytest.raises(ImageReadError, match="not a PNG"):
        read_image(p)


def test_directory_is_refused(tmp_path):
    with pytest.raises(ImageReadError, match="directory"):
        read_image(tmp_path)


def test_masks_png_and_npy(tmp_path):
    m = np.zeros((4, 5), np.uint8)
    m[1:3, 2:4] = 255
    m[0, 0] = 1  # any non-zero counts, as ReLoBlur binarises (> 0)
    write_image(tmp_path / "m.png", m)
    got = read_mask(tmp_path / "m.png")
    assert got.dtype == bool and got.sum() == 5
    flow_mag = np.zeros((4, 5))
    flow_mag[2, 2] = 0.3
    flow_mag[3, 3] = 0.25  # LODE: blurred region is magnitude > 0.25 (strict)
    np.save(tmp_path / "f.npy", flow_mag)
    assert read_mask(tmp_path / "f.npy").sum() == 1
    flow = np.zeros((4, 5, 2))
    flow[0, 0] = [0.3, 0.4]  # magnitude 0.5
    np.save(tmp_path / "v.npy", flow)
    assert read_mask(tmp_path / "v.npy")[0, 0] and read_mask(tmp_path / "v.npy").sum() == 1
    np.save(tmp_path / "bad.npy", np.full((2, 2), np.nan))
    with pytest.raises(ImageReadError, match="NaN"):
        read_mask(tmp_path / "bad.npy")


def test_to_uint8_rounds_and_clamps():
    x = np.array([-0.1, 0.0, 0.5 / 255, 1.5 / 255, 254.6 / 255, 1.2])
    np.testing.assert_array_equal(
        to_uint8(x), [0, 0, 0, 2, 255, 255]
    )  # half to even, no truncation
    with pytest.raises(ValueError, match="NaN"):
        to_uint8(np.array([np.nan]))


def test_atomic_write_leaves_no_temp_and_keeps_old_on_failure(tmp_path, monkeypatch):
    p = tmp_path / "sub" / "f.bin"
    atomic_write_bytes(p, b"old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_bytes(p, b"new")
    monkeypatch.undo()
    assert p.read_bytes() == b"old"
    assert sorted(x.name for x in p.parent.iterdir()) == ["f.bin"]


def test_list_images_sorted_by_name(tmp_path, photo):
    for n in ["b.png", "a.jpg", "c.txt", "A.PNG"]:
        (tmp_path / n).write_bytes(b"x")
    assert [p.name for p in list_images(tmp_path)] == ["A.PNG", "a.jpg", "b.png"]
    with pytest.raises(ImageReadError, match="folder not found"):
        list_images(tmp_path / "missing")


def test_safe_join_refuses_escape(tmp_path):
    (tmp_path / "root").mkdir()
    assert safe_join(tmp_path / "root", "a/b.png") == (tmp_path / "root" / "a" / "b.png").resolve()
    for bad in ["../x.png", "a/../../x.png", "/etc/passwd"]:
        with pytest.raises(UnsafePathError):
            safe_join(tmp_path / "root", bad)
    os.symlink(tmp_path, tmp_path / "root" / "link")
    with pytest.raises(UnsafePathError):
        safe_join(tmp_path / "root", "link/x.png")


def test_atomic_write_gives_normal_permissions(tmp_path):
    p = atomic_write_bytes(tmp_path / "f.bin", b"x")
    mask = os.umask(0)
    os.umask(mask)
    assert (p.stat().st_mode & 0o777) == (0o666 & ~mask)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_tiff_is_rgb_in_unit_range(tmp_path, rng, dtype):
    rgb = rng.random((5, 6, 3)).astype(dtype)
    p = tmp_path / "f.tif"
    assert cv2.imwrite(str(p), np.ascontiguousarray(rgb[..., ::-1]))
    back = read_image(p, dtype="float32")
    np.testing.assert_allclose(back, rgb.astype(np.float32), atol=1e-7)
    np.testing.assert_array_equal(read_image(p), np.rint(rgb * 255).astype(np.uint8))


# --------------------------------------------------------------------------- headers
def _encode(ext, arr, params=()):
    ok, buf = cv2.imencode(ext, arr, list(params))
    assert ok
    return buf.tobytes()


@pytest.mark.parametrize(
    ("ext", "dtype", "channels", "params"),
    [
        (".png", np.uint8, 3, ()),
        (".png", np.uint16, 4, ()),
        (".png", np.uint8, 1, ()),
        (".jpg", np.uint8, 3, ()),
        (".jpg", np.uint8, 1, ()),
        (".bmp", np.uint8, 3, ()),
        (".bmp", np.uint8, 4, ()),
        (".tif", np.uint8, 3, ()),
        (".tif", np.uint16, 1, ()),
        (".tif", np.float32, 3, ()),
        (".tif", np.uint8, 3, (cv2.IMWRITE_TIFF_COMPRESSION, 1)),
    ],
)
def test_header_matches_decoded_size(tmp_path, rng, ext, dtype, channels, params):
    from lode_bench.io.header import read_header

    h, w = 37, 53  # odd sizes: width and height must not be swapped
    shape = (h, w) if channels == 1 else (h, w, channels)
    arr = (rng.random(shape) * (1 if dtype == np.float32 else np.iinfo(dtype).max)).astype(dtype)
    data = _encode(ext, arr, params)
    hdr = read_header(tmp_path / f"x{ext}", data)
    assert (hdr.width, hdr.height) == (w, h)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.shape[:2] == (h, w)
    assert hdr.channels == (decoded.shape[2] if decoded.ndim == 3 else 1)


def _bomb_bmp(w, h):
    import struct

    dib = struct.pack("<IiiHHIIiiII", 40, w, -h, 1, 24, 0, 0, 2835, 2835, 0, 0)
    body = dib + b"\x00" * 64
    return b"BM" + struct.pack("<IHHI", 14 + len(body), 0, 0, 54) + body


def _bomb_tiff(w, h):
    import struct

    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 1, 8), (277, 3, 1, 3)]
    ifd = (
        struct.pack("<H", len(entries))
        + b"".join(struct.pack("<HHII", t, k, n, v) for t, k, n, v in entries)
        + b"\x00" * 4
    )
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\x00" * 64


def _bomb_jpeg(w, h, photo):
    data = bytearray(_encode(".jpg", photo[:16, :16, ::-1].copy()))
    i = data.find(b"\xff\xc0")
    data[i + 5 : i + 9] = h.to_bytes(2, "big") + w.to_bytes(2, "big")
    return bytes(data)


@pytest.mark.parametrize("kind", ["bmp", "tif", "jpg"])
def test_bombs_of_every_format_are_refused_from_the_header(tmp_path, photo, kind):
    w, h = 60000, 60000
    data = {
        "bmp": lambda: _bomb_bmp(w, h),
        "tif": lambda: _bomb_tiff(w, h),
        "jpg": lambda: _bomb_jpeg(w, h, photo),
    }[kind]()
    p = tmp_path / f"bomb.{kind}"
    p.write_bytes(data)
    with pytest.raises(
        ImageReadError, match=r"bomb\.\w+: image too large: header declares 60000×60000"
    ):
        read_image(p)
