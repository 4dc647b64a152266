"""Cost of the checks :func:`lode_bench.io.read_image` runs before decoding.

Reads the same 1280×720 photograph as JPEG (quality 95) and PNG with ``read_image``
(header check, pixel limit, strict JPEG scan check, then OpenCV decoding) and with a bare
``cv2.imdecode`` + BGR→RGB conversion of the same bytes (the reference, measured in the
same run), and prints median times and the ratio. The strict JPEG check decodes the
entropy-coded data once more at 1/8 scale in grey, so JPEG reading costs more; PNG
reading only adds the header parse.

Usage: python benchmarks/bench_io.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from lode_bench.io import read_image


def _photo() -> np.ndarray:
    from skimage import data

    return cv2.resize(data.astronaut(), (1280, 720), interpolation=cv2.INTER_CUBIC)


def _median_times(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    for fn in fns.values():
        fn()  # warm-up
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):  # round-robin, so that machine load hits all alike
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args()
    img = _photo()
    with tempfile.TemporaryDirectory() as tmp:
        for ext, params in ((".jpg", [cv2.IMWRITE_JPEG_QUALITY, 95]), (".png", [])):
            path = Path(tmp) / f"photo{ext}"
            path.write_bytes(cv2.imencode(ext, img[..., ::-1], params)[1].tobytes())

            def reference(p: Path = path) -> np.ndarray:
                arr = cv2.imdecode(np.frombuffer(p.read_bytes(), np.uint8), cv2.IMREAD_UNCHANGED)
                return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)

            assert np.array_equal(read_image(path), reference())
            t = _median_times(
                {"read_image": lambda p=path: read_image(p), "cv2 reference": reference},
                args.repeats,
            )
            print(
                f"{ext[1:].upper():4s} 1280x720: read_image {t['read_image'] * 1e3:7.2f} ms, "
                f"cv2.imdecode+cvtColor {t['cv2 reference'] * 1e3:7.2f} ms, "
                f"ratio {t['read_image'] / t['cv2 reference']:.2f}"
            )


if __name__ == "__main__":
    main()
