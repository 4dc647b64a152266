"""Frame averaging at 1280×720: lode-bench vs. a plain float64 numpy loop vs. PNG decode.

Run: ``python benchmarks/bench_synth.py [--frames 24] [--repeats 3]``

Measured in the same run, on the same PNG files (a camera pan over a built-in photo):

* ``decode``: PNG decode only (``lode_bench.io.read_image``, one thread) — the limit;
* ``naive``: decode + ``(x / 255) ** 2.2`` in float64 + sum, one frame at a time;
* ``lode-bench``: ``FolderFrameSource.iter_range`` + ``FrameAccumulator`` (gamma 2.2),
  with 1 decode thread and with 2;
* in memory (frames already decoded): the accumulator alone vs. the naive arithmetic.

Frames per second are best-of-``repeats``, the variants run in rotation. Targets: >= 3× the naive implementation
and >= 70 % of decode throughput.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from lode_bench.capture.frames import FolderFrameSource
from lode_bench.capture.response import CameraResponse
from lode_bench.io import read_image, write_image
from lode_bench.synth.averaging import FrameAccumulator
from lode_bench.synth.builtin import render_global_clip


def best_times(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Best wall time of each function; the functions are run in rotation so that a change
    of machine load during the run affects all of them alike."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeats):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    n = args.frames
    gamma = CameraResponse("gamma", 2.2)
    clip = render_global_clip(
        np.random.default_rng(0), n, (720, 1280), gamma, photo="astronaut", speed=(1.0, 2.0)
    )
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for i, f in enumerate(clip.frames):
            write_image(d / f"{i:06d}.png", f)
        files = sorted(d.glob("*.png"))
        mb = sum(p.stat().st_size for p in files) / len(files) / 1e6

        def decode() -> None:
            for p in files:
                read_image(p)

        def naive() -> np.ndarray:
            s = np.zeros((720, 1280, 3), np.float64)
            for p in files:
                s += (read_image(p).astype(np.float64) / 255.0) ** 2.2
            return np.rint(np.clip((s / n) ** (1 / 2.2), 0, 1) * 255).astype(np.uint8)

        def ours(workers: int) -> Callable[[], np.ndarray]:
            def run() -> np.ndarray:
                src = FolderFrameSource(d)
                acc = FrameAccumulator(gamma)
                for start in range(0, len(src), 12):  # windows of 12 frames, as the pipeline
                    # streamed as in the pipeline: accumulate while the window decodes
                    for f in src.iter_range(start, min(start + 12, len(src)), workers=workers):
                        acc.add(f)
                return acc.mean_encoded_uint8()

            return run

        assert np.array_equal(naive(), ours(1)()), "results differ"
        frames = [read_image(p) for p in files]

        def mem_naive() -> None:
            s = np.zeros((720, 1280, 3), np.float64)
            for f in frames:
                s += (f.astype(np.float64) / 255.0) ** 2.2

        def mem_ours() -> None:
            acc = FrameAccumulator(gamma)
            for f in frames:
                acc.add(f)

        r = args.repeats
        times = best_times(
            {
                "decode (1 thread)": decode,
                "naive float64 (decode + pow)": naive,
                "lode-bench (1 decode thread)": ours(1),
                "lode-bench (2 decode threads)": ours(2),
                "in memory: naive float64": mem_naive,
                "in memory: lode-bench accumulator": mem_ours,
            },
            r,
        )
        fps = {k: n / t for k, t in times.items()}
    print(
        f"1280x720 RGB, {n} PNG frames (~{mb:.2f} MB each), gamma-2.2 averaging, "
        f"best of {r}; cv2 threads = 1; CPUs = {os.cpu_count()}"
    )
    for k, v in fps.items():
        print(f"  {k:36s} {v:8.1f} frames/s")
    dec = fps["decode (1 thread)"]
    nv = fps["naive float64 (decode + pow)"]
    for k in ("lode-bench (1 decode thread)", "lode-bench (2 decode threads)"):
        print(f"{k}: {fps[k] / nv:.2f}x naive, {100 * fps[k] / dec:.0f} % of decode throughput")
    print(
        f"in memory: accumulator "
        f"{fps['in memory: lode-bench accumulator'] / fps['in memory: naive float64']:.1f}x "
        "the naive float64 arithmetic"
    )


if __name__ == "__main__":
    main()
