"""Throughput of ``run`` (identity model, ``gopro`` protocol) on 720p images.

Compares, in the same process and on the same files:

* reference: a plain sequential loop that reads each pair and scores it with
  scikit-image (``peak_signal_noise_ratio`` and per-channel Gaussian
  ``structural_similarity``, the usual hand-written evaluation script);
* ``run_benchmark`` with its default executor, a thread pool over every core (including
  result-store writes and provenance);
* ``run_benchmark`` with a process pool (including its start-up) and with the serial
  executor (one core), to separate the gain of the faster metric code from the gain of
  parallelism.

Usage: ``python benchmarks/bench_run.py [--n 12] [--workers N]``. Prints images per second
and the ratios.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import ndimage
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from lode_bench.bench.runner import run_benchmark
from lode_bench.datasets.manifest import DatasetWriter
from lode_bench.datasets.registry import resolve_dataset
from lode_bench.io import read_image
from lode_bench.parallel.executor import LocalExecutor


def make_pairs(root: Path, n: int, h: int, w: int) -> Path:
    """Smooth random textures (sharp) and a horizontally motion-blurred copy (blurry)."""
    rng = np.random.default_rng(0)
    writer = DatasetWriter(root, "bench-720p")
    k = np.full((1, 15), 1 / 15)
    for i in range(n):
        base = ndimage.gaussian_filter(rng.random((h, w, 3)), sigma=(3, 3, 0))
        base = (base - base.min()) / (base.max() - base.min())
        sharp = np.clip(np.round(base * 255), 0, 255).astype(np.uint8)
        blur = np.stack([ndimage.convolve(base[..., c], k, mode="reflect") for c in range(3)], -1)
        blur = np.clip(np.round(blur * 255), 0, 255).astype(np.uint8)
        writer.write_sample(f"{i:04d}", {"blur": blur, "sharp": sharp}, png_compression=1)
    writer.finalize()
    return root


def reference_loop(root: Path) -> tuple[float, list[float]]:
    ds = resolve_dataset(str(root))
    t0 = time.perf_counter()
    psnrs = []
    for s in ds.samples:
        blur, sharp = read_image(s.blur), read_image(s.sharp)
        psnrs.append(peak_signal_noise_ratio(sharp, blur, data_range=255))
        structural_similarity(
            sharp,
            blur,
            channel_axis=-1,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=255,
        )
    return time.perf_counter() - t0, psnrs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=12, help="number of 720p pairs")
    ap.add_argument("--workers", type=int, default=None, help="pool size (default: all cores)")
    args = ap.parse_args()
    n, h, w = args.n, 720, 1280
    print(f"{n} pairs of {w}x{h}; {os.cpu_count()} CPU cores")
    with tempfile.TemporaryDirectory() as tmp:
        root = make_pairs(Path(tmp) / "ds", n, h, w)
        ref_s, ref_psnr = reference_loop(root)
        t0 = time.perf_counter()
        with LocalExecutor(args.workers, kind="process") as ex:
            pooled = run_benchmark(
                "identity",
                str(root),
                "gopro",
                Path(tmp) / "pool.sqlite",
                progress=False,
                executor=ex,
            )
        pool_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        threaded = run_benchmark(
            "identity",
            str(root),
            "gopro",
            Path(tmp) / "thread.sqlite",
            progress=False,
            workers=args.workers,
        )  # the default executor: a thread pool
        thread_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        with LocalExecutor(kind="serial") as ex:
            serial = run_benchmark(
                "identity",
                str(root),
                "gopro",
                Path(tmp) / "serial.sqlite",
                progress=False,
                executor=ex,
            )
        serial_s = time.perf_counter() - t0
    assert pooled.n_ok == threaded.n_ok == serial.n_ok == n, (pooled.errors, serial.errors)
    assert (
        abs(pooled.means["PSNR"] - float(np.mean(ref_psnr))) < 1e-9
    )  # same PSNR as the reference loop
    workers = args.workers or os.cpu_count()
    ref_ips = n / ref_s
    print(f"reference loop (read + skimage PSNR/SSIM): {ref_s:7.2f} s  {ref_ips:6.2f} img/s")
    for what, secs in (
        (f"run, process pool ({workers} workers)", pool_s),
        (f"run, default thread pool ({workers})", thread_s),
        ("run, serial executor (1 core)     ", serial_s),
    ):
        print(f"{what}: {secs:7.2f} s  {n / secs:6.2f} img/s  ratio {n / secs / ref_ips:5.2f}x")
    print(f"mean PSNR {pooled.means['PSNR']:.4f} dB, MATLAB-style SSIM {pooled.means['SSIM']:.4f}")


if __name__ == "__main__":
    main()
