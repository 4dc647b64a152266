"""High-bit-depth capture at 1280×720: 16-bit vs 8-bit averaging, RAW decode + average.

Run: ``python benchmarks/bench_capture.py [--frames 12] [--repeats 3]``
(RAW rows need the extras ``raw`` (rawpy) and pidng, which writes the test DNGs.)

Measured in one run, variants in rotation, best of ``repeats``, frames per second:

* in memory, gamma 2.2: the accumulator on uint8 frames (256-entry LUT), on uint16
  frames (65536-entry LUT), and a naive float64 ``(v / 65535) ** 2.2`` on the uint16
  frames (the reference the 16-bit path must match to 0.5 of an 8-bit level);
* from disk: ``FolderFrameSource`` + accumulator on 8-bit PNGs vs 16-bit PNGs of the
  same frames;
* RAW: ``RawFolderFrameSource`` (LibRaw, 16-bit RGGB DNGs of the same scene) decode +
  linear average, with ``linear`` and ``ahd`` demosaicing, and decode only.

Ratios are printed against the 8-bit path measured in the same run.
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
from lode_bench.io import write_image
from lode_bench.synth.averaging import FrameAccumulator
from lode_bench.synth.builtin import render_global_clip


def best_times(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeats):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t)
    return best


def _write_dngs(folder: Path, frames16: list[np.ndarray]) -> bool:
    try:
        import rawpy  # noqa: F401
        from pidng.core import RAW2DNG, DNGTags, Tag
        from pidng.defs import CFAPattern, DNGVersion, PhotometricInterpretation
    except ImportError:
        return False
    folder.mkdir()
    for i, f in enumerate(frames16):
        h, w = f.shape[:2]
        mosaic = np.empty((h, w), np.uint16)  # RGGB, 12-bit values
        mosaic[0::2, 0::2] = f[0::2, 0::2, 0] >> 4
        mosaic[0::2, 1::2] = f[0::2, 1::2, 1] >> 4
        mosaic[1::2, 0::2] = f[1::2, 0::2, 1] >> 4
        mosaic[1::2, 1::2] = f[1::2, 1::2, 2] >> 4
        t = DNGTags()
        for tag, v in [
            (Tag.ImageWidth, w),
            (Tag.ImageLength, h),
            (Tag.TileWidth, w),
            (Tag.TileLength, h),
            (Tag.SamplesPerPixel, 1),
            (Tag.BitsPerSample, 16),
        ]:
            t.set(tag, v)
        t.set(Tag.PhotometricInterpretation, PhotometricInterpretation.Color_Filter_Array)
        t.set(Tag.CFARepeatPatternDim, [2, 2])
        t.set(Tag.CFAPattern, CFAPattern.RGGB)
        t.set(Tag.BlackLevel, [0])
        t.set(Tag.WhiteLevel, [4095])
        t.set(
            Tag.ColorMatrix1,
            [[1, 1], [0, 1], [0, 1], [0, 1], [1, 1], [0, 1], [0, 1], [0, 1], [1, 1]],
        )
        t.set(Tag.AsShotNeutral, [[1, 1], [1, 1], [1, 1]])
        t.set(Tag.DNGVersion, DNGVersion.V1_4)
        r = RAW2DNG()
        r.options(t, path="", compress=False)
        (folder / f"{i:06d}.dng").write_bytes(bytes(r.convert(mosaic)))
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    n, r = args.frames, args.repeats
    gamma = CameraResponse("gamma", 2.2)
    clip = render_global_clip(
        np.random.default_rng(0), n, (720, 1280), gamma, photo="astronaut", speed=(1.0, 2.0)
    )
    rng = np.random.default_rng(1)
    f8 = list(clip.frames)
    # 16-bit frames: the 8-bit content plus sub-code detail (what a 16-bit capture adds)
    f16 = [
        np.clip(f.astype(np.int32) * 257 + rng.integers(-128, 128, f.shape), 0, 65535).astype(
            np.uint16
        )
        for f in f8
    ]

    def acc_run(frames: list[np.ndarray]) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            acc = FrameAccumulator(gamma)
            for f in frames:
                acc.add(f)
            return acc.mean_encoded_uint8()

        return run

    def naive16() -> np.ndarray:
        s = np.zeros(f16[0].shape, np.float64)
        for f in f16:
            s += (f.astype(np.float64) / 65535.0) ** 2.2
        return np.rint(np.clip((s / n) ** (1 / 2.2), 0, 1) * 255).astype(np.uint8)

    ref = np.clip((np.mean([(f / 65535.0) ** 2.2 for f in f16], axis=0)) ** (1 / 2.2), 0, 1)
    delta = np.abs(acc_run(f16)().astype(np.float64) - ref * 255).max()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for i, (a, b) in enumerate(zip(f8, f16, strict=True)):
            write_image(d / "png8" / f"{i:06d}.png", a)
            write_image(d / "png16" / f"{i:06d}.png", b)

        def disk(folder: Path) -> Callable[[], np.ndarray]:
            def run() -> np.ndarray:
                src = FolderFrameSource(folder)
                acc = FrameAccumulator(gamma)
                for f in src.iter_range(0, len(src), workers=1):
                    acc.add(f)
                return acc.mean_encoded_uint8()

            return run

        fns: dict[str, Callable[[], object]] = {
            "memory: 8-bit accumulator": acc_run(f8),
            "memory: 16-bit accumulator": acc_run(f16),
            "memory: 16-bit naive float64": naive16,
            "disk: 8-bit PNG + average": disk(d / "png8"),
            "disk: 16-bit PNG + average": disk(d / "png16"),
        }
        have_raw = _write_dngs(d / "raw", f16)
        if have_raw:
            from lode_bench.capture.raw_frames import RawFolderFrameSource

            def raw(demosaic: str, average: bool) -> Callable[[], object]:
                def run() -> object:
                    src = RawFolderFrameSource(d / "raw", demosaic=demosaic)
                    acc = FrameAccumulator(gamma, linear_input=True)
                    for i in range(len(src)):
                        f = src.read(i)
                        if average:
                            acc.add(f)
                    return acc.mean_encoded_uint8() if average else None

                return run

            fns["raw: decode (linear demosaic)"] = raw("linear", False)
            fns["raw: decode + average (linear)"] = raw("linear", True)
            fns["raw: decode + average (ahd)"] = raw("ahd", True)
        times = best_times(fns, r)
    fps = {k: n / t for k, t in times.items()}
    print(
        f"1280x720 RGB, {n} frames, gamma-2.2 averaging, best of {r}; cv2 threads = 1; "
        f"CPUs = {os.cpu_count()} (shared machine: absolute numbers are noisy, ratios less so)"
    )
    for k, v in fps.items():
        print(f"  {k:36s} {v:8.1f} frames/s")
    m8, m16 = fps["memory: 8-bit accumulator"], fps["memory: 16-bit accumulator"]
    print(
        f"16-bit accumulator: {m16 / m8:.2f}x the 8-bit one, "
        f"{m16 / fps['memory: 16-bit naive float64']:.2f}x naive float64; "
        f"max |16-bit result - float reference| = {delta:.3f} 8-bit levels (limit 0.5)"
    )
    print(
        f"from disk: 16-bit PNG {fps['disk: 16-bit PNG + average'] / fps['disk: 8-bit PNG + average']:.2f}x "
        "the 8-bit PNG throughput"
    )
    if have_raw:
        print(
            f"RAW decode + average (ahd): {fps['raw: decode + average (ahd)'] / fps['disk: 8-bit PNG + average']:.2f}x "
            "the 8-bit PNG throughput"
        )
    else:
        print("RAW rows skipped: install rawpy (extra 'raw') and pidng")


if __name__ == "__main__":
    main()
