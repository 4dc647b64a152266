"""Image and file I/O: decoding with explicit conversion rules, atomic writes, path safety."""

from lode_bench.io.atomic import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    sha256_file,
)
from lode_bench.io.images import (
    IMAGE_EXTENSIONS,
    list_images,
    read_image,
    read_mask,
    to_float,
    to_uint8,
    write_image,
)
from lode_bench.io.paths import safe_join

__all__ = [
    "IMAGE_EXTENSIONS",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "list_images",
    "read_image",
    "read_mask",
    "safe_join",
    "sha256_file",
    "to_float",
    "to_uint8",
    "write_image",
]
