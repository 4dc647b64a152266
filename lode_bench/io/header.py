"""Image headers read before decoding: pixel limits and strict JPEG checking.

A tiny file can declare an enormous image (a "decompression bomb": a 254-byte PNG can
declare 60000×60000 pixels), so :func:`read_header` reads only the width, height and
sample layout from the first bytes of a PNG (``IHDR``), JPEG (``SOFn``), BMP (DIB
header) or TIFF/BigTIFF (first IFD), and :func:`check_pixels` refuses anything above
the pixel limit before the decoder allocates memory.

The limit is :data:`DEFAULT_MAX_PIXELS` (100 megapixels, above every benchmark image;
a 16384×16384 image is refused), overridden by the environment variable
``LODE_BENCH_MAX_PIXELS`` or by the ``max_pixels`` argument of
:func:`~lode_bench.io.images.read_image`.

JPEG files are also checked *strictly*: libjpeg treats a scan cut short (or other
corrupt entropy-coded data) as a warning and fills the rest of the image with flat
blocks, which would then be scored. :func:`check_jpeg_strict` decodes the file with a
strict decoder (``simplejpeg``, which raises on every libjpeg warning) at reduced scale
and refuses the file on any warning.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from lode_bench.errors import ConfigError, ImageReadError

#: Default pixel limit (width × height) of any image read.
DEFAULT_MAX_PIXELS = 100_000_000
#: Environment variable overriding :data:`DEFAULT_MAX_PIXELS` (a positive integer).
MAX_PIXELS_ENV = "LODE_BENCH_MAX_PIXELS"

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}
# SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC)
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_NO_LENGTH = {0x01, *range(0xD0, 0xD9)}


@dataclass(frozen=True)
class ImageHeader:
    """What the header of an image file declares.

    Attributes:
        format: ``"png"``, ``"jpeg"``, ``"bmp"`` or ``"tiff"``.
        width: pixels per row (> 0).
        height: rows (> 0).
        channels: samples per pixel (1–4 for usual files).
        bits: bits per sample.
    """

    format: str
    width: int
    height: int
    channels: int
    bits: int

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def decoded_bytes(self) -> int:
        """Bytes of the decoded array (8-bit samples take 1 byte, deeper ones 2 or 4)."""
        per = 1 if self.bits <= 8 else (2 if self.bits <= 16 else 4)
        return self.pixels * max(1, self.channels) * per


def max_pixels(override: int | None = None) -> int:
    """The pixel limit in force: ``override``, else ``$LODE_BENCH_MAX_PIXELS``, else the default.

    Raises:
        ConfigError: when the environment variable is not a positive integer.
    """
    if override is not None:
        if isinstance(override, bool) or not isinstance(override, int) or override < 1:
            raise ConfigError(f"max_pixels must be a positive integer, got {override!r}")
        return override
    text = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(
            f"{MAX_PIXELS_ENV}: must be a positive integer (pixels), got {text[:40]!r}"
        )
    return value


def _u16(data: bytes, off: int, order: str) -> int:
    return struct.unpack_from(order + "H", data, off)[0]


def _u32(data: bytes, off: int, order: str) -> int:
    return struct.unpack_from(order + "I", data, off)[0]


def _png(path: Path, data: bytes) -> ImageHeader:
    if len(data) < 29 or data[12:16] != b"IHDR":
        raise ImageReadError(path, "corrupt PNG (no IHDR header chunk)")
    w, h = _u32(data, 16, ">"), _u32(data, 20, ">")
    bits, ctype = data[24], data[25]
    if ctype not in _PNG_CHANNELS:
        raise ImageReadError(path, f"corrupt PNG (unknown colour type {ctype})")
    return ImageHeader("png", w, h, _PNG_CHANNELS[ctype], 8 if ctype == 3 else bits)


def _jpeg(path: Path, data: bytes) -> ImageHeader:
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            raise ImageReadError(
                path, f"corrupt JPEG (no marker at byte {i} before the frame header)"
            )
        while i < n and data[i] == 0xFF:  # fill bytes
            i += 1
        if i >= n:
            break
        marker = data[i]
        i += 1
        if marker in _JPEG_NO_LENGTH:
            continue
        if i + 2 > n:
            break
        length = _u16(data, i, ">")
        if length < 2:
            raise ImageReadError(path, f"corrupt JPEG (segment length {length} at byte {i})")
        if marker in _JPEG_SOF:
            if i + 8 > n:
                break
            bits, h, w, comps = (
                data[i + 2],
                _u16(data, i + 3, ">"),
                _u16(data, i + 5, ">"),
                data[i + 7],
            )
            return ImageHeader("jpeg", w, h, comps, bits)
        if marker in (0xDA, 0xD9):  # scan or end before any frame header
            break
        i += length
    raise ImageReadError(path, "corrupt JPEG (no frame header before the image data)")


def _bmp(path: Path, data: bytes) -> ImageHeader:
    if len(data) < 26:
        raise ImageReadError(path, "truncated BMP header")
    dib = _u32(data, 14, "<")
    if dib == 12:  # BITMAPCOREHEADER
        w, h = _u16(data, 18, "<"), _u16(data, 20, "<")
        bpp = _u16(data, 24, "<") if len(data) >= 26 else 24
    else:
        if len(data) < 30:
            raise ImageReadError(path, "truncated BMP header")
        w, h = struct.unpack_from("<ii", data, 18)
        bpp = _u16(data, 28, "<")
        h = abs(h)  # negative height: rows stored top-down
    return ImageHeader("bmp", w, h, 4 if bpp == 32 else 3, 8)


def _tiff(path: Path, data: bytes) -> ImageHeader:
    order = "<" if data[:2] == b"II" else ">"
    try:
        version = _u16(data, 2, order)
        if version == 43:  # BigTIFF: 8-byte offsets, 20-byte entries
            ifd = struct.unpack_from(order + "Q", data, 8)[0]
            count = struct.unpack_from(order + "Q", data, ifd)[0]
            start, size, val_off = ifd + 8, 20, 12
        else:
            ifd = _u32(data, 4, order)
            count = _u16(data, ifd, order)
            start, size, val_off = ifd + 2, 12, 8
        tags: dict[int, int] = {}
        for k in range(min(count, 4096)):
            e = start + k * size
            tag, typ = _u16(data, e, order), _u16(data, e + 2, order)
            if tag not in (256, 257, 258, 277):
                continue
            if typ == 3:  # SHORT (the first value, stored in place when it fits)
                tags[tag] = _u16(data, e + val_off, order)
            elif typ in (4, 16):  # LONG / LONG8
                fmt = "Q" if typ == 16 else "I"
                tags[tag] = struct.unpack_from(order + fmt, data, e + val_off)[0]
            if tag == 258 and typ == 3:
                n_vals = (
                    struct.unpack_from(order + "Q", data, e + 4)[0]
                    if size == 20
                    else _u32(data, e + 4, order)
                )
                if n_vals * 2 > (8 if size == 20 else 4):  # values stored elsewhere
                    off = (
                        struct.unpack_from(order + "Q", data, e + val_off)[0]
                        if size == 20
                        else _u32(data, e + val_off, order)
                    )
                    tags[tag] = _u16(data, off, order)
    except struct.error:
        raise ImageReadError(path, "corrupt TIFF (header or first directory cut short)") from None
    if 256 not in tags or 257 not in tags:
        raise ImageReadError(path, "corrupt TIFF (no image width/height in the first directory)")
    return ImageHeader("tiff", tags[256], tags[257], tags.get(277, 1), tags.get(258, 1))


def read_header(path: str | Path, data: bytes) -> ImageHeader:
    """The header of an image file's content.

    Args:
        path: the file (named in errors).
        data: its bytes (only the first few kilobytes are looked at, except for TIFF
            whose first directory may lie anywhere).

    Raises:
        ImageReadError: unrecognised format, or a header that is cut short or corrupt.
    """
    p = Path(path)
    if data.startswith(_PNG_SIGNATURE):
        return _png(p, data)
    if data[:2] == b"\xff\xd8":
        return _jpeg(p, data)
    if data[:2] == b"BM":
        return _bmp(p, data)
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return _tiff(p, data)
    raise ImageReadError(p, "unsupported image format (not PNG, JPEG, BMP or TIFF)")


def check_pixels(path: str | Path, header: ImageHeader, limit: int | None = None) -> None:
    """Refuse an empty image or one larger than the pixel limit, before it is decoded.

    Raises:
        ImageReadError: naming the file, its declared size and the limit.
        ConfigError: when the configured limit is invalid.
    """
    cap = max_pixels(limit)
    if header.width <= 0 or header.height <= 0:
        raise ImageReadError(
            path,
            f"{header.format.upper()} header declares an empty image "
            f"({header.width}×{header.height})",
        )
    if header.pixels > cap:
        raise ImageReadError(
            path,
            f"image too large: header declares {header.width}×{header.height} = "
            f"{header.pixels / 1e6:.1f} MP, above the limit of {cap / 1e6:g} MP "
            f"(raise it with {MAX_PIXELS_ENV}=<pixels>)",
        )


def check_jpeg_strict(path: str | Path, data: bytes, header: ImageHeader) -> None:
    """Refuse a JPEG whose decoder reports any warning (corrupt or cut-short scan data).

    The entropy-coded data is decoded in full (at 1/8 scale and in grey, so the cost is
    mostly Huffman decoding); ``simplejpeg`` raises on every libjpeg warning. Files with
    other than 8 bits per sample (which that decoder does not read) are left to OpenCV.

    Raises:
        ImageReadError: naming the file and the decoder's message.
    """
    if header.bits != 8:
        return
    try:
        import simplejpeg
    except ImportError:  # a core dependency; only a broken installation lacks it
        from lode_bench.errors import LodeBenchError

        raise LodeBenchError(
            "reading JPEG files needs the 'simplejpeg' package "
            "(pip install simplejpeg; it is a lode-bench dependency)"
        ) from None

    colorspace = "CMYK" if header.channels == 4 else "GRAY"
    try:
        simplejpeg.decode_jpeg(
            data, colorspace=colorspace, min_height=1, min_width=1, min_factor=8, strict=True
        )
    except ValueError as exc:
        msg = " ".join(str(exc).split())[:200]
        raise ImageReadError(path, f"corrupt JPEG data ({msg})") from None
