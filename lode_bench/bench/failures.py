"""Failed images of a run: grouped by reason, and listed in a CSV next to the store.

A reason is an error message with what differs from image to image taken out (the
image id, file paths, numbers), so "800 images: no output image for this sample" reads
as one line instead of 800.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from lode_bench.bench.store import ResultRow

_PATH = re.compile(r"(?:[A-Za-z]:)?[^\s'\"(),:;]*[/\\][^\s'\"(),:;]*")
_NUMBER = re.compile(r"(?<![A-Za-z_])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
_MAX_REASON = 160


def error_reason(message: str, image_id: str = "") -> str:
    """``message`` with the image id, paths and numbers replaced by ``<id>``, ``<path>``, ``N``."""
    text = message
    if image_id:
        text = text.replace(image_id, "<id>")
    text = _PATH.sub("<path>", text)
    text = _NUMBER.sub("N", text)
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 3] + "..."


def count_reasons(errors: Iterable[tuple[str, str]]) -> Counter[str]:
    """``(image_id, message)`` pairs -> reason -> count."""
    return Counter(error_reason(msg, image_id) for image_id, msg in errors)


def failed_csv_path(store_path: str | Path) -> Path:
    """``<store stem>.failed.csv`` next to the store."""
    p = Path(store_path)
    return p.with_name(p.stem + ".failed.csv")


def write_failed_csv(path: Path, rows: Iterable[ResultRow]) -> int:
    """Write every failed row (model, dataset, protocol, image, error) to ``path``, atomically.

    Returns:
        The number of rows written.
    """
    from lode_bench.io.atomic import atomic_write_text
    from lode_bench.io.csvcells import safe_row

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "model",
            "dataset",
            "dataset_hash",
            "protocol",
            "protocol_version",
            "image_id",
            "run_id",
            "error",
        ]
    )
    n = 0
    for r in rows:
        w.writerow(
            safe_row(
                [
                    r.model,
                    r.dataset,
                    r.dataset_hash,
                    r.protocol,
                    r.protocol_version,
                    r.image_id,
                    r.run_id or "",
                    r.error or "",
                ]
            )
        )
        n += 1
    atomic_write_text(path, buf.getvalue())
    return n
