"""Image and file I/O: decoding with explicit conversion rules, atomic writes, path safety.

The names below load on first use, so importing a light sub-module (``io.numbers``,
``io.paths``, ``io.yamlfile``) does not pull in OpenCV.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "IMAGE_EXTENSIONS": "lode_bench.io.images",
    "atomic_write_bytes": "lode_bench.io.atomic",
    "atomic_write_json": "lode_bench.io.atomic",
    "atomic_write_text": "lode_bench.io.atomic",
    "list_images": "lode_bench.io.images",
    "read_image": "lode_bench.io.images",
    "read_mask": "lode_bench.io.images",
    "safe_join": "lode_bench.io.paths",
    "sha256_file": "lode_bench.io.atomic",
    "to_float": "lode_bench.io.images",
    "to_uint8": "lode_bench.io.images",
    "write_image": "lode_bench.io.images",
}

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

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lode_bench.io' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
